"""Reconnaissance: attack tools by their user agent, and the paths scanners probe.

Paths are checked on the normalised path, lowercased; only paths that a
citizen portal never serves are listed (secrets, VCS folders, admin
consoles of other products, backups), so a single probe is telling and a
burst of them makes one scanner detection.

>>> scanner_agent("Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000042)")
('scanner.user-agent', 'nikto')
>>> scanner_agent("Mozilla/5.0 (Hydra)")
('scanner.password-tool', 'hydra')
>>> probe_path("/.git/config", wordpress=False)
('scanner.secret-file', '/.git/config')
>>> probe_path("/traffic/incidents.php", wordpress=False) is None
True
"""

from __future__ import annotations

import re

import ahocorasick_rs

from citywatch.detect.portal.catalog import Found, word_set

_TOOLS = word_set(
    "sqlmap nikto nuclei nmap masscan zgrab gobuster dirbuster wfuzz feroxbuster wpscan "
    "acunetix netsparker invicti appscan nessus openvas arachni skipfish whatweb commix zmeu "
    "jorgee havij sqlninja fimap webinspect burpsuite burpcollaborator zaproxy jaeles dalfox "
    "xsstrike censysinspect l9explore l9tcpid morfeus projectdiscovery interactsh httprint "
    "grabber bsqlbf struts-pwn log4j-scan joomscan droopescan cmsmap netlab360 "
    "internet-measurement modatscanner"
)
_PASSWORD_TOOLS = word_set("hydra brutus medusa patator ncrack")
"""Tools that guess passwords: brute force (T1110), not scanning."""
_WORD_TOOLS = word_set("dirb ffuf w3af nasl paros vega pangolin") | _PASSWORD_TOOLS
"""Short names: only as a whole word (``ffuf`` but not ``staffufo``)."""
_PHRASES = (
    "owasp zap",
    "owasp_zap",
    "burp collaborator",
    "nmap scripting engine",
    "expanse, a palo alto",
    "fuzz faster u fool",
    "mozilla/5.0 sf/",  # skipfish's own agent
    "mozlila/",  # the misspelt agents of Mirai's variants (Mozlila, Bulid, Moblie)
    " bulid/",
    "moblie safari",
    "hello, world",  # Mozi's
)
_AGENT_PATTERNS = sorted(_TOOLS | _WORD_TOOLS) + list(_PHRASES)
_AGENT_AUTOMATON = ahocorasick_rs.AhoCorasick(_AGENT_PATTERNS)
_WORD_CHAR = re.compile(r"\w")


_TOOL_HEADERS = ("acunetix-", "x-wvs-", "x-scan-memo", "x-request-memo", "x-wipp", "x-scanner")
"""Headers that scanners add (Acunetix, WebInspect, Netsparker...): their names alone tell."""


def scanner_header(name: str) -> Found | None:
    """A scanner's own header, by its (lowercase) name.

    >>> scanner_header("acunetix-aspect")
    ('scanner.tool-header', 'acunetix-aspect')
    """
    return ("scanner.tool-header", name) if name.startswith(_TOOL_HEADERS) else None


def scanner_agent(agent: str) -> Found | None:
    """An attack or scanning tool named in a User-Agent."""
    low = agent.lower()
    for index, start, end in _AGENT_AUTOMATON.find_matches_as_indexes(low, overlapping=True):
        name = _AGENT_PATTERNS[index]
        if name in _WORD_TOOLS and (
            (start and _WORD_CHAR.match(low, start - 1)) or _WORD_CHAR.match(low, end)
        ):
            continue
        return ("scanner.password-tool" if name in _PASSWORD_TOOLS else "scanner.user-agent"), name
    return None


_SECRET = re.compile(
    r"/\.(?:env(?:\.[\w-]{1,20})?|git|svn|hg|bzr|cvs|ds_store|htaccess|htpasswd|aws|ssh|vscode"
    r"|idea|docker|npmrc|pypirc|bash_history|zsh_history|netrc|kube|config|gitlab-ci\.yml"
    r"|travis\.yml|circleci)(?:/|$)"
    r"|/(?:docker-compose\.ya?ml|dockerfile|composer\.(?:json|lock)|package-lock\.json|yarn\.lock"
    r"|gemfile(?:\.lock)?|web\.config|config\.(?:php|ya?ml|json|inc|ini)|settings\.py"
    r"|local\.settings\.json|appsettings(?:\.\w{1,20})?\.json|database\.yml|credentials(?:\.json)?"
    r"|id_[rd]sa|secrets?\.(?:ya?ml|json)|wp-config\.php[\w.~-]{0,10}|\.?env\.(?:bak|old|save))$"
    r"|/(?:web|meta)-inf/|/storage/logs/|/(?:error|debug|access|laravel|php_errors?|npm-debug)"
    r"\.log$"
)
_WORDPRESS = re.compile(
    r"/(?:wp-admin|wp-login\.php|wp-content|wp-includes|xmlrpc\.php|wp-json)(?:/|$)"
)
_ADMIN = re.compile(
    r"/(?:phpmyadmin|pma|myadmin|mysqladmin|adminer(?:\.php)?|dbadmin|sqladmin|"
    r"server-status|server-info|nginx_status|actuator|jmx-console|web-console|invoker|"
    r"host-manager|telescope|_profiler|elmah\.axd|trace\.axd|solr|jenkins|h2-console|"
    r"druid|nacos|kibana|grafana|portainer|webmin)(?:/|$)"
    r"|/manager/html|/console/?$|/debug/default/|/_ignition/|/horizon/api|/debug/pprof(?:/|$)"
    r"|/jolokia(?:/|$)|/manager/(?:text|status|jmxproxy)(?:/|$)|/reportserver(?:/|$)"
    r"|/webtools/control/"
)
_EXPLOIT = re.compile(
    r"/cgi-bin/|/(?:phpinfo|info|shell|cmd|c99|r57|webshell|backdoor|wso|alfa|up|uploader)"
    r"\.php$|/vendor/phpunit/|/hnap1|/boaform/|/owa/auth|/remote/(?:login|fgt_lang)"
    r"|/global-protect/|/dana-na/|/mgmt/tm/|/cgi/|/ecp/|/autodiscover/autodiscover\.(?:xml|json)"
    r"|/gponform/|/ctrlt/deviceupgrade|/picsdesc\.xml$|/tmunblock\.cgi$|/setup\.cgi$"
    r"|/telerik\.web\.ui\.webresource\.axd$|/geoserver/"
    r"|/\.well-known/(?!security\.txt$|acme-challenge/|change-password$|openid|apple-|assetlinks)"
    r"|/struts|\.action$|/wls-wsat/|/_async/|/console/css/|/user/register\?element_parents"
    r"|/index\.php\?s=/?index/\\think|/solr/admin/|/api/jsonws|/(?:setup|install)\.php$"
    r"|/sdk/weblanguage$|/dana-ws/|/_users/org\.couchdb\.user:"
)
_BACKUP = re.compile(
    r"\.(?:bak|old|orig|save|swp|swo|sql|dump|sqlite3?|mdb|backup|tmp|bkp)$|~$"
    r"|^/[^/]{1,64}\.(?:zip|tar|tar\.gz|tgz|tar\.bz2|rar|7z|gz)$"
    r"|/(?:backup|backups|dump|db|database|site|www|web|htdocs|public_html|wwwroot|html)"
    r"\.(?:zip|tar|tar\.gz|tgz|rar|7z|gz)$"
)
_API_DOCS = re.compile(
    r"/(?:swagger(?:-ui)?(?:\.html|\.json|/)|v[23]/api-docs|openapi\.(?:json|ya?ml)|graphiql"
    r"|api-docs)|/crossdomain\.xml$|/clientaccesspolicy\.xml$"
)


_MAX_PROBE = 512


def probe_path(path: str, *, wordpress: bool) -> Found | None:
    """The scanner rule a (normalised) path matches, if any.

    ``wordpress`` says the portal runs WordPress (its paths are then normal).
    """
    if len(path) > _MAX_PROBE:
        return None  # no probe is that long; spares the patterns a pathological path
    low = path.lower()
    for pattern, rule in (
        (_SECRET, "scanner.secret-file"),
        (_ADMIN, "scanner.admin-probe"),
        (_EXPLOIT, "scanner.exploit-path"),
        (_BACKUP, "scanner.backup"),
        (_API_DOCS, "scanner.api-docs"),
    ):
        match = pattern.search(low)
        if match is not None:
            return rule, path
    if not wordpress and _WORDPRESS.search(low):
        return "scanner.wordpress", path
    return None
