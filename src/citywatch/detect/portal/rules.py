"""Confirming checks for each attack class, run only on candidate values.

Each check takes a value already decoded and folded (lowercase, NFKC) and
returns ``(rule key, matched text)`` or None. The patterns are linear: every
repetition is bounded or possessive, and nothing repeats a group that can
match the empty string, so a 100 kB value costs what its length costs.

>>> xss('"><img src=x onerror=alert(1)>')
('xss.event-handler', '<img src=x onerror=')
>>> jndi("${${lower:j}${::-n}di:ldap://x.example/a}")
('jndi.obfuscated', '${${lower:j}${::-n}di:ldap://x.example/a}')
"""

from __future__ import annotations

import re

from citywatch.detect.portal.catalog import MAX_TRIES, Found
from citywatch.detect.portal.normalise import fold
from citywatch.detect.portal.objects import base64_bytes

_XSS_PATTERN = r"""
    (?P<attribute_break>["'`][\s/;]*+on[a-z]{3,30}+\s*+=\s*+["'`]?[^"'`\s]{0,60}?[(`])
    |(?P<js_uri>(?:java|vb|live)script\s*+:\s*+(?:/\*[^*]{0,100}+\*/\s*+)?[\w$.\[\]'"+()]{1,60}\s*+[(`=])
    |(?P<dangerous_tag><(?:TAGS)[\s/>])
    |(?P<js_call>(?:^|[;'"`(){}=+\-|&>])\s*+(?:alert|prompt|confirm|eval|settimeout|setinterval)
        \s*+[(`]|document\s*+(?:\.\s*+|\[\s*+['"`])(?:cookie|domain|write)\b|string\.fromcharcode\s*+\(
        |\b(?:top|window|self|parent|frames|globalthis|this)\[[^\]\n]{1,60}+\]\s*+[(`]
        |\b(?:window|document|top|self|parent)\s*+\.\s*+location(?:\s*+\.\s*+href)?\s*+=[^=])
    |(?P<css_expression>expression\s*+\(|-moz-binding\s*+:|behavior\s*+:\s*+url)
    |(?P<style_sheet><style\b[^<>]{0,100}>[^<]{0,200}?(?:@import\b|url\s*+\()
        |<link\b[^<>]{0,200}?\brel\s*+=\s*+["']?(?:stylesheet|import)\b)
    |(?P<data_uri>data:\s*+(?:text/html|image/svg\+xml|application/xhtml\+xml|text/xml)\s*+[;,])
    """
_XSS = re.compile(
    _XSS_PATTERN.replace("TAGS", "iframe|frame|object|embed|applet|meta|base|isindex|svg|math|xss"),
    re.VERBOSE,
)
_XSS_FILE = re.compile(
    _XSS_PATTERN.replace(
        "TAGS", "iframe|frame|object|embed|applet|meta|base|isindex|xss|foreignobject"
    ),
    re.VERBOSE,
)
""":data:`_XSS` for an uploaded file: an SVG or MathML document is its own root element (a
drawing attached to a complaint), what it holds is judged (scripts, handlers, HTML inside
``<foreignObject>``)."""
_SVG_SCRIPT = re.compile(r"<script\b[^<>]{0,200}+>")
"""A script element in an uploaded SVG: it runs where the file is opened, inline or by
``href``."""
_SCRIPT_OPEN = re.compile(r"<script\b")
_SCRIPT_SRC = re.compile(r"\bsrc\s*+=")
_SCRIPT_CODE = re.compile(
    r"\s*+(?:[\w$.\[\]'\"]{1,80}\s*+[(`=]|(?:var|let|const|function|new|if|for|while|try|import"
    r"|async|await|throw|with|do)\b|/[/*])"
)
_SCRIPT_CLOSE = re.compile(r"</script")
_HANDLER = re.compile(r"[\s/\"'\x00;]on[a-z]{3,30}+\s*+=")
_TAG_START = frozenset("abcdefghijklmnopqrstuvwxyz!/")
_CONTROL = str.maketrans("", "", "\t\n\r\x00")
_AS_SPACE = str.maketrans("\t\n\r", "   ")
_JS_LINE_COMMENT = re.compile(
    r"(script\s{0,8}+:\s{0,8}+)//[^\n\r\u2028\u2029]{0,200}+[\n\r\u2028\u2029]"
)
"""``javascript://%0aalert(1)``: a comment the line break ends, then the code."""
_INERT_VOID = re.compile(
    r"((?:java|vb|live)script\s{0,8}+:\s{0,8}+)void(?:\s{0,8}+\(\s{0,8}+0?\s{0,8}+\)"
    r"|\s{1,8}+0(?![\w.]))\s{0,8}+;?"
)
"""``javascript:void(0)``, the do-nothing link a web page writes (and a complaint about it
quotes): it runs nothing, so it is taken out and what follows it judged
(``javascript:void(0);alert(1)`` is still ``javascript:alert(1)``)."""
_QUOTED = re.compile(r"\"[^\"]{0,300}+\"|'[^']{0,300}+'")
"""Quoted attribute values: a ``>`` in one closes no tag (``<img alt=">" src=x onerror=``)."""


def xss(text: str, patterns: re.Pattern[str] = _XSS) -> Found | None:
    """Script injection into HTML: tags, handlers, ``javascript:`` URIs, script calls."""
    if "\t" in text or "\n" in text or "\r" in text or "\x00" in text:
        if "<" in text:  # between attributes a tab or a line break is a space: x\tonerror=
            found = _event_handler(text.translate(_AS_SPACE))
            if found is not None:
                return found
        if "script" in text:
            text = _JS_LINE_COMMENT.sub(r"\1", text)
        text = text.translate(_CONTROL)  # java\tscript:, <scr\x00ipt>
    if "<" in text:
        found = _script_tag(text) or _event_handler(text)
        if found is not None:
            return found
    if "void" in text:
        text = _INERT_VOID.sub(r"\1", text)
    match = patterns.search(text)
    if match is None:
        return None
    return f"xss.{match.lastgroup or ''}".replace("_", "-"), match.group()


def xss_in_file(text: str) -> Found | None:
    """:func:`xss` in an uploaded file's text: a ``<svg>`` root is no attack, a script in it
    (even by ``href``), an event handler, ``<foreignObject>`` or a ``javascript:`` link is.

    >>> xss_in_file('<svg xmlns="http://www.w3.org/2000/svg"><rect width="10"/></svg>') is None
    True
    >>> xss_in_file('<svg><script href="https://x.example/a.js"></script></svg>')
    ('xss.script-tag', '<script href="https://x.example/a.js">')
    """
    if "<script" in text:
        match = _SVG_SCRIPT.search(text)
        if match is not None:
            return "xss.script-tag", match.group()
    return xss(text, _XSS_FILE)


def _script_tag(text: str) -> Found | None:
    """``<script>`` with code right after it, a ``src`` or a closing tag: not the word in prose."""
    for count, match in enumerate(_SCRIPT_OPEN.finditer(text)):
        start = match.start()
        close = text.find(">", start, start + 200)
        if close >= 0:
            if _SCRIPT_SRC.search(text, start, close):
                return "xss.script-tag", text[start : close + 1]
            if _SCRIPT_CODE.match(text, close + 1) or _SCRIPT_CLOSE.search(
                text, close + 1, close + 401
            ):
                return "xss.script-tag", text[start : close + 60]
        if count >= MAX_TRIES:
            break
    return None


def _event_handler(text: str) -> Found | None:
    """An ``on...=`` attribute inside an open tag (``<img src=x onerror=``)."""
    for count, match in enumerate(_HANDLER.finditer(text)):
        at = match.start()
        open_ = text.rfind("<", max(0, at - 300), at)
        if (
            open_ >= 0
            and text[open_ + 1 : open_ + 2] in _TAG_START
            and (text.find(">", open_, at) < 0 or ">" not in _QUOTED.sub("", text[open_:at]))
        ):
            return "xss.event-handler", text[open_ : match.end()]
        if count >= MAX_TRIES:
            break
    return None


_TRAVERSAL_TARGET = re.compile(
    r"(?:etc/(?:passwd|shadow|group|hosts|issue|crontab|sudoers)|windows/|winnt/|boot\.ini|win\.ini"
    r"|proc/(?:self|\d{1,7})/|\.env\b|web-inf/|meta-inf/|\.git/|\.ssh/|\.aws/|wp-config|"
    r"config\.php|web\.config|\.htpasswd|/var/log/)"
)
_SENSITIVE_FILE = re.compile(
    r"(?:^|[\s=:'\"(\x00,;]|file:/{0,3})(?:/etc/(?:passwd|shadow|group|hosts|issue|crontab|sudoers"
    r"|master\.passwd)\b|/proc/(?:self|thread-self|\d{1,7})/(?:environ|cmdline|maps|fd|status|mem"
    r"|cwd|root|exe)\b"
    r"|/var/log/[\w.-]{1,64}|/root/\.|/home/[\w.-]{1,64}/\.(?:ssh|bash_history|aws)"
    r"|[a-z]:/(?:(?:windows|winnt)/(?:win\.ini|system\.ini|repair/|panther/|debug/|system32/"
    r"(?:drivers/etc/|config/|inetsrv/|license\.rtf))|boot\.ini|inetpub/))"
)
"""Files that local file inclusion reads, not every path that mentions them: a complaint
quoting ``C:\\Windows\\System32\\cmd.exe`` reads nothing. ``/proc/self/cwd/`` and
``/proc/self/root/`` reach the application's own files (``config/database.yml``) by any
path."""


_SLASH_RUN = re.compile(r"/{2,}")
_DOTDOT_MENTION = re.compile(r"(?:^|(?<=\s))(?:\.\./){1,16}+(?=$|[\s,;:!?)])")
"""``../`` standing alone as a word: prose about relative links ("see ../ and ../../ links"),
no path (``../../etc/passwd`` goes on to its target)."""


def traversal(text: str) -> Found | None:
    """``../`` sequences, ``php://filter`` streams, ``file://`` and absolute system files."""
    if "\\" in text:
        text = text.replace("\\", "/")
    if "//" in text and "://" not in text:  # ////etc//passwd is /etc/passwd
        text = _SLASH_RUN.sub("/", text)
    if " " in text and "../" in text:  # prose mentioning ../ and ../../ reads nothing
        text = _DOTDOT_MENTION.sub(" ", text)
    at = text.find("../")
    semi = text.find("..;/")
    if semi >= 0:
        return "traversal.dotdot", text[semi : semi + 60]
    if at >= 0:
        if text.find("../", at + 3) >= 0:
            return "traversal.dotdot", text[at : at + 80]
        target = _TRAVERSAL_TARGET.search(text, at, at + 200)
        if target is not None:
            return "traversal.target", text[at : target.end()]
    if "php://" in text:
        i = text.find("php://")
        if text.startswith(("filter", "fd", "memory", "temp"), i + 6):
            return "traversal.php-filter", text[i : i + 60]
    match = _SENSITIVE_FILE.search(text)
    if match is not None:
        return "traversal.sensitive-file", match.group().lstrip("\"'=:(, ;\x00\t\n")
    if "file://" in text:
        i = text.find("file://")
        return "traversal.file-uri", text[i : i + 60]
    if at >= 0:
        return "traversal.single", text[max(0, at - 20) : at + 40]
    return None


_JNDI = re.compile(r"\$\{\s*+j\s*+n\s*+d\s*+i\s*+:")
_INNER_LOOKUP = re.compile(r"\$\{([^${}]{0,100}+)\}")
_LOG4J_LOOKUP = re.compile(
    r"\$\{(?:env|sys|java|ctx|main|jvmrunargs|bundle|k8s|docker|spring|log4j|marker|sd|web|"
    r"base64|event|hostname|lower|upper|date|::-)[:}]"
)


def _resolve(match: re.Match[str]) -> str:
    inner = match.group(1)
    if ":-" in inner:
        return inner.split(":-", 1)[1]
    if inner.startswith(("lower:", "upper:")):
        return inner[6:]
    if inner.startswith("date:"):
        return inner[5:].strip("'\"")
    return ""


def jndi(text: str) -> Found | None:
    """Log4Shell: ``${jndi:...}``, its nested obfuscations, and other Log4j lookups."""
    start = text.find("${")
    if start < 0:
        return None
    snippet = text[start : start + 120]
    if _JNDI.search(text):
        return "jndi.lookup", snippet
    resolved = text
    for _ in range(8):
        step = _INNER_LOOKUP.sub(_resolve, resolved)
        if step == resolved:
            break
        if _JNDI.search(step) or "jndi:" in step:
            return "jndi.obfuscated", snippet
        resolved = step
    if _LOG4J_LOOKUP.search(text):
        return "jndi.exfil", snippet
    return None


_SSTI = re.compile(
    r"""
    (?P<arithmetic>(?:\{\{[=!]?|\$\{|\#\{|\*\{|@\(|\{%=?|<%=|\[\[)\s*+['"]?\d{1,10}['"]?\s*+[*+/-]\s*+
        ['"]?\d{1,10}['"]?\s*+(?:\}\}|\}|\)|%\}|%>|\]\]))
    |(?P<dunder>(?:\.|\[["'])__(?:class|mro|subclasses|globals|builtins|import|init|base|bases
        |getattribute|reduce|code|dict)__|__(?:subclasses|globals|builtins|mro)__|__import__\s*+\()
    |(?P<java_el>\bt\s*+\(\s*+java\.|java\.lang\.(?:runtime|processbuilder|system)
        |freemarker\.template\.utility|<\#assign\b|\#set\s*+\(\s*+\$|\.getclass\s*+\(\s*+\)
        |\.forname\s*+\()
    |(?P<block>\{%\s*+(?:import|include|extends|from|macro|call|debug|print)\b)
    |(?P<code><%=?\s*+(?:system|exec|eval|`|%x|io\.popen|file\.read|import\b)|\{/?php\}
        |\{\$smarty\.
        |\{(?:system|exec|passthru|shell_exec|eval)\s*+\(|@\(\s*+system\.diagnostics
        |system\.diagnostics\.process\.start\s*+\()
    |(?P<probe>\$\{\{<%\[%|\{\{<%\[%|<%\[%'"\}\}%|\$\{\{\s*+<%)
    """,
    re.VERBOSE,
)
_JINJA_OBJECTS = re.compile(
    r"\b(?:config|self|request|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages"
    r"|constructor|_self|app|system|exec|passthru|popen|shell_exec|attr|getattr|settings)\b"
)
_EL_CODE = re.compile(
    r"runtime|exec\s*+\(|getclass|forname|processbuilder|pagecontext\.|\bself\.module\b"
    r"|\bos\.(?:system|popen)|subprocess|popen\s*+\("
)
"""Code in ``${...}``: Java EL and JSP (Runtime, pageContext), Mako (Python's os)."""
_JS_CODE = re.compile(r"process\.mainmodule|require\s*+\(|child_process|\bconstructor\b")
"""Code in Pug's ``#{...}``: Node's process and modules."""
_SPEL_CODE = re.compile(
    r"\bt\s*+\(\s*+[a-z_$][\w.$]{0,120}+\s*+\)\s*+\.|getruntime|processbuilder|\.exec\s*+\("
    r"|getclass|forname|new\s++java\.|process\.mainmodule|require\s*+\(|child_process"
    r"|\bconstructor\b"
)
"""Code in ``#{...}``: Spring SpEL's type references (``T(Runtime).getRuntime()``, no package
needed for java.lang) and Java's process classes, or Pug's Node process and modules."""
_TAG_CODE = re.compile(
    r"process\.mainmodule|require\s*+\(|child_process|\bglobal\.process\b|getruntime|\bkernel\."
    r"|\b(?:system|exec|eval|spawn|popen)\s*+\(|io\.popen|file\.(?:read|open)|`|%x\(|open3"
)
"""Code in ERB's or EJS's ``<% ... %>``: Ruby's and Node's ways to run a command or read a file."""
_DOTNET_CODE = re.compile(
    r"system\.(?:io|diagnostics|net|reflection|runtime|web)\.|process\.start|readalltext"
    r"|webclient|assembly\.load"
)
"""Code in a Razor ``@{ ... }`` block: .NET's files, processes and network."""


def ssti(text: str) -> Found | None:
    """Server-side template injection: expression probes, object walks, EL gadgets."""
    match = _SSTI.search(text)
    if match is not None:
        return f"ssti.{match.lastgroup or ''}".replace("_", "-"), match.group()
    found = _inside(text, "{{", "}}", 400, _JINJA_OBJECTS) or _inside(
        text, "{{", "}}", 400, _JS_CODE
    )  # doT, Handlebars, Nunjucks: JavaScript inside
    if found is not None:
        return "ssti.object", found
    found = (
        _inside(text, "${", "}", 100, _EL_CODE)
        or _inside(text, "#{", "}", 200, _SPEL_CODE)
        or _inside(text, "*{", "}", 200, _SPEL_CODE)  # Thymeleaf's selection expression
        or _inside(text, "<%", "%>", 400, _TAG_CODE)
        or _inside(text, "@{", "}", 400, _DOTNET_CODE)
    )
    return None if found is None else ("ssti.code", found)


def _inside(text: str, open_: str, close: str, span: int, pattern: re.Pattern[str]) -> str | None:
    """The first ``open_ ... close`` (at most ``span`` apart) whose inside ``pattern`` matches."""
    at = text.find(open_)
    for _ in range(MAX_TRIES):
        if at < 0:
            return None
        end = text.find(close, at + len(open_), at + span)
        if end >= 0 and pattern.search(text, at + len(open_), end):
            return text[at : end + len(close)]
        at = text.find(open_, at + len(open_))
    return None


_XXE = re.compile(
    r"""
    (?P<external_entity><!entity\s++%?\s*+[\w.:-]{1,100}+\s++(?:system|public)\b)
    |(?P<parameter_entity><!entity\s++%\s)
    |(?P<xinclude><xi:include\b|xmlns:xi\s*+=)
    |(?P<external_dtd><!doctype\s++[\w.:-]{1,100}+\s++(?:system\s++|public\s++["'][^"']{0,300}+
        ["']\s*+)["'](?!https?://www\.w3\.org/)[^"']{0,300}?(?:://|file:))
    |(?P<expansion><!entity\s++[\w.:-]{1,100}+\s++["'](?:[^"'&]{0,100}+&[\w.:-]{1,100}+;){3})
    """,
    re.VERBOSE,
)


def xxe(text: str) -> Found | None:
    """XML external entities, XInclude, external DTDs and entity expansion."""
    match = _XXE.search(text)
    if match is None:
        return None
    name = (match.lastgroup or "").replace("_", "-")
    return ("xxe.expansion" if name == "expansion" else f"xxe.{name}"), match.group()


_BASE64_XML = re.compile(r"P[C-H][A-Za-z0-9+/]{22,}={0,2}")
_BASE64_XML_MAX = 65536


def xxe_in_base64(value: str) -> Found | None:
    """:func:`xxe` in XML sent as base64 (a SAML response, a SOAP attachment): a value that
    starts like base64 of ``<`` is decoded (bounded) and checked.

    >>> xxe_in_base64("PCFET0NUWVBFIHIgWzwhRU5USVRZIHggU1lTVEVNICJmaWxlOi8vL2V0Yy9wYXNzd2QiPl0+")
    ('xxe.external-entity', 'base64: <!entity x system')
    """
    if _BASE64_XML.fullmatch(value[:_BASE64_XML_MAX]) is None:
        return None
    raw = base64_bytes(value, _BASE64_XML_MAX)
    if raw is None:
        return None
    found = xxe(fold(raw.decode("utf-8", "replace")))
    return None if found is None else (found[0], f"base64: {found[1]}")


_PHP_SETTINGS = re.compile(
    r"\b(?:allow_url_include|auto_prepend_file|auto_append_file|open_basedir|disable_functions"
    r"|safe_mode|cgi\.force_redirect)\s*+="
)


def php_cgi(text: str) -> Found | None:
    """PHP settings given in a request, as PHP-CGI takes them from its query string
    (``?-d allow_url_include=1 -d auto_prepend_file=php://input``)."""
    if "allow_url" not in text and "_file" not in text and "basedir" not in text:
        return None
    match = _PHP_SETTINGS.search(text)
    return None if match is None else ("rfi.php-cgi", text[match.start() : match.start() + 80])


_SPLITTING = re.compile(
    r"[\r\n][ \t]{0,16}+(?:(?:set-cookie|content-length|content-type|content-security-policy"
    r"|refresh|access-control-allow-[\w-]{1,20}|x-xss-protection)\s*+:"
    r"|location\s*+:\s*+(?:https?:)?//|http/1\.[01]\s++\d{3}\s)"
)


def response_splitting(text: str) -> Found | None:
    """CR/LF then a response header in a value: HTTP response splitting, header injection.

    >>> response_splitting("en\\r\\nset-cookie: aldsid=attacker")[0]
    'protocol.response-splitting'
    >>> response_splitting("Dear city,\\r\\nLocation: Ilica 12, by the tram stop") is None
    True
    >>> response_splitting("\u560a\u560dset-cookie: aldsid=attacker")[0]
    'protocol.response-splitting'
    """
    found = text
    if "\u560a" in text or "\u560d" in text:
        found = _TRUNCATED_CRLF.sub(lambda m: m.group().translate(_CRLF_BYTES), text)
    match = _SPLITTING.search(found)
    return None if match is None else ("protocol.response-splitting", text[: match.end() + 40])


_TRUNCATED_CRLF = re.compile("[\u560a\u560d]{2}|[\u560a\u560d](?=[a-z])")
"""嘊 (U+560A) and 嘍 (U+560D): a server that keeps a character's low byte in a header sends
LF and CR ("Unicode CRLF"). Read so as a pair, or one right before a header's name: 嘍 ends
many a Chinese sentence."""
_CRLF_BYTES = str.maketrans("\u560a\u560d", "\n\r")
