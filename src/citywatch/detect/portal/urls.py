"""URLs and hosts in parameter values: remote file inclusion and SSRF.

Hosts are read the way resolvers read them, so that ``2130706433``,
``0x7f.1``, ``0177.0.0.1``, ``127.1`` and ``[::ffff:127.0.0.1]`` are all
recognised as loopback.

>>> ssrf("http://169.254.169.254/latest/meta-data/", "url")
('ssrf.metadata', 'http://169.254.169.254/latest/meta-data/')
>>> ssrf("http://0x7f.1:8080/admin", "next")
('ssrf.obfuscated-ip', 'http://0x7f.1:8080/admin')
>>> rfi("http://203.0.113.7/shell.txt?", "page")
('rfi.trailing-query', 'http://203.0.113.7/shell.txt?')
>>> ssrf("https://portal.aldmere.city/account", "return_url") is None
True
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from citywatch.detect.portal.catalog import Found, word_set

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]{0,15}+):(?://|\\\\)(?P<authority>[^/\\?#\s\"'<>]{0,256}+)"
    r"(?P<rest>[^\s\"'<>]{0,512}+)"
)
_MAX_URLS = 64
"""URLs of one value looked at (a SOAP or SAML document names a dozen namespaces first)."""
_WEB = frozenset({"http", "https", "ftp", "ftps"})
_SSRF_SCHEMES = frozenset(
    {"gopher", "dict", "ldap", "ldaps", "tftp", "sftp", "netdoc", "jar", "rmi"}
)
_WRAPPERS = frozenset({"expect", "zip", "data", "glob", "ssh2", "rar", "ogg", "compress.zlib"})
_METADATA_HOSTS = frozenset(
    {
        "169.254.169.254",
        "metadata.google.internal",
        "metadata",
        "instance-data",
        "100.100.100.200",
        "192.0.0.192",
        "fd00:ec2::254",
        "169.254.170.2",
    }
)
_LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "ip6-localhost",
        "ip6-loopback",
        "kubernetes",
        "kubernetes.default",
        "host.docker.internal",
    }
)
_INTERNAL_SUFFIXES = (
    ".localhost",
    ".localdomain",
    ".internal",
    ".svc",
    ".cluster.local",
    ".svc.cluster.local",
    ".consul",
    ".intranet",
    ".corp",
    ".lan",
    ".home.arpa",
)
"""Names that only resolve inside a network: cluster DNS, service discovery, LAN suffixes."""
_CALLBACKS = (
    ".burpcollaborator.net",
    ".oastify.com",
    ".interact.sh",
    ".oast.fun",
    ".oast.me",
    ".oast.pro",
    ".oast.live",
    ".oast.site",
    ".oast.online",
    ".requestbin.net",
    ".requestrepo.com",
    ".dnslog.cn",
    ".ceye.io",
    ".canarytokens.com",
    ".pipedream.net",
)
"""Domains of out-of-band testing services: a pingback host a scanner plants anywhere."""
_REBINDING = (
    ".nip.io",
    ".xip.io",
    ".sslip.io",
    "localtest.me",
    ".lvh.me",
    ".1u.ms",
    ".rbndr.us",
    *_CALLBACKS,
)
URLISH_NAMES = word_set(
    "url uri link href src source dest destination redirect redirect_uri redirect_url return "
    "return_url returnurl next callback callback_url webhook feed host domain site target image "
    "image_url img avatar proxy fetch endpoint"
)
"""Parameter names that carry a URL or host (a bare internal host in them is SSRF)."""
INCLUDE_NAMES = word_set(
    "file page include inc path template tpl dir doc document folder root pg style pdf lang "
    "language module load view content layout theme conf config base_dir basedir base_path "
    "basepath include_path abspath"
)
"""Parameter names that PHP-style apps include (a script URL in them is RFI)."""
_UNC = re.compile(r"\\\\[\w.-]{1,64}(?:@ssl)?(?:@\d{1,5})?\\")
"""A UNC path's server (``\\\\host\\``), WebDAV's ``@SSL`` and port included."""
_INCLUDED_EXT = re.compile(
    r"\.(?:inc|tpl|twig|vm|ftl|jinja2?|j2|mustache|hbs|erb|jpe?g|gif|png|ico)(?:[?#\x00]|$)"
)
"""What an include parameter may be made to include besides a script: a template, or PHP
hidden in an image."""
_SCRIPT_EXT = re.compile(r"\.(?:txt|php\d?|phtml|sh|pl|jsp|aspx?|cgi|py|rb)(?:[?#\x00]|$)")


def host_ip(host: str) -> tuple[IPAddress | None, bool]:
    """The address a host names if it is an IP literal, and whether it was obfuscated.

    Accepts what ``inet_aton`` accepts (decimal, hex, octal, 1–4 parts) and
    bracketed IPv6; IPv4-mapped IPv6 is unwrapped.

    >>> host_ip("017700000001")
    (IPv4Address('127.0.0.1'), True)
    >>> host_ip("[::1]")
    (IPv6Address('::1'), False)
    """
    host = host.strip().rstrip(".")
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    if ":" in host:
        try:
            ip6 = ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None, False
        embedded = _embedded_ipv4(ip6)
        return (embedded, True) if embedded is not None else (ip6, False)
    parts = host.split(".")
    if not host or len(parts) > 4:
        return None, False
    nums: list[int] = []
    for part in parts:
        try:
            if part[:2] in ("0x", "0X"):
                nums.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part[0] == "0":
                nums.append(int(part, 8))
            elif part.isdigit():
                nums.append(int(part))
            else:
                return None, False
        except ValueError:
            return None, False
    *head, last = nums
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None, False
    value = 0
    for n in head:
        value = value << 8 | n
    value = value << 8 * (4 - len(head)) | last
    ip4 = ipaddress.IPv4Address(value)
    return ip4, str(ip4) != host


_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip6: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: mapped (``::ffff:7f00:1``), compatible
    (``::127.0.0.1``, deprecated yet still routed by some stacks), 6to4 (``2002:7f00:1::``)
    or NAT64 (``64:ff9b::7f00:1``); ``ipaddress`` calls all but the mapped form global.

    >>> _embedded_ipv4(ipaddress.IPv6Address("::127.0.0.1"))
    IPv4Address('127.0.0.1')
    >>> _embedded_ipv4(ipaddress.IPv6Address("::1")) is None
    True
    """
    if ip6.ipv4_mapped is not None:
        return ip6.ipv4_mapped
    if ip6.sixtofour is not None:
        return ip6.sixtofour
    value = int(ip6)
    if 1 < value < 1 << 32 or ip6 in _NAT64:  # ::1 is loopback and :: unspecified as they are
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def loopback_claim(value: str) -> bool:
    """Whether a client-IP header's address is the server's own, however written
    (``::ffff:127.0.0.1``, ``0:0:0:0:0:ffff:7f00:1``, ``[::1]:80``, ``2130706433``).

    >>> loopback_claim("0:0:0:0:0:ffff:7f00:1"), loopback_claim("203.0.113.7")
    (True, False)
    """
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]  # 127.0.0.1:8080
    if len(value) < 8 and "." not in value and ":" not in value:
        return False  # "0", "1": no proxy writes an address so
    ip, _ = host_ip(value[:64])
    return ip is not None and (ip.is_loopback or ip.is_unspecified)


def _host(authority: str) -> str:
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


_EMBEDDED_IP = re.compile(r"(?:^|[.-])((?:\d{1,3}[.-]){3}\d{1,3})[.-][a-z]")
"""An IPv4 address spelt in a host name's labels (``10.0.0.1.nip.io``, ``10-0-0-1.sslip.io``):
the wildcard DNS services that resolve it to that address, a rebinding trick."""


_DOCUMENTATION: Final = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
"""Documentation ranges (RFC 5737, RFC 3849): not global, yet nothing internal either."""


def _classify(host: str) -> str | None:
    """The SSRF rule a host triggers, if any (``localhost.`` is ``localhost``: a resolver
    reads a trailing dot as the root, and the name stays the same)."""
    host = host.lower().rstrip(".")
    if host in _METADATA_HOSTS or host.strip("[]") in _METADATA_HOSTS:
        return "ssrf.metadata"
    if host in _LOCAL_NAMES or host.endswith(_INTERNAL_SUFFIXES):
        return "ssrf.internal"
    if host.endswith(_REBINDING) or host.lstrip(".") in ("localtest.me",):
        return "ssrf.rebinding"
    ip, obfuscated = host_ip(host)
    if ip is None:
        embedded = _EMBEDDED_IP.search(host)  # 169.254.169.254.nip.io.evil.example
        if embedded is not None:
            inner, _ = host_ip(embedded.group(1).replace("-", "."))
            if inner is not None and (str(inner) in _METADATA_HOSTS or not inner.is_global):
                return "ssrf.rebinding"
        return None
    if str(ip) in _METADATA_HOSTS:
        return "ssrf.metadata"
    if ip.is_global or any(ip in net for net in _DOCUMENTATION):
        return "ssrf.obfuscated-ip" if obfuscated and host.strip("[]").isdigit() else None
    return "ssrf.obfuscated-ip" if obfuscated else "ssrf.internal"


_IDNA_DOTS = str.maketrans("\u3002\uff0e\uff61", "...")
"""Dots IDNA maps to ``.`` (ideographic, fullwidth, halfwidth ideographic full stops): a URL
library that applies it fetches ``169。254。169。254`` as ``169.254.169.254``."""
_LAX_WEB = re.compile(r"(?<![\w+.-])(https?|ftps?):[/\\](?![/\\])")
"""A web URL written with one slash (``http:/169.254.169.254/``): WHATWG URL parsers, as
browsers and Node's ``fetch`` use, read it as ``http://``."""


_PROSE_SPACES = 3
"""Spaces that make a value prose: a plain internal URL in a sentence is not a request to
fetch it (metadata addresses, odd schemes and obfuscated IPs still are)."""
_MARKUP = re.compile(r"[<>{}=]")
"""What prose does not hold and a document (XML, JSON, a query) does."""


def ssrf(text: str, name: str) -> Found | None:
    """Server-side request forgery: URLs (or, in URL-ish parameters, bare hosts) to
    internal, loopback, link-local or metadata addresses, odd schemes, rebinding domains."""
    if not text.isascii():
        text = text.translate(_IDNA_DOTS)
    if text.startswith("//"):
        text = "http:" + text  # scheme-relative: //169.254.169.254/ is fetched over http
    elif ":/" in text or ":\\" in text:
        text = _LAX_WEB.sub(r"\1://", text, _MAX_URLS)
    urlish = name.lower() in URLISH_NAMES
    prose = not urlish and text.count(" ") >= _PROSE_SPACES and _MARKUP.search(text) is None
    for count, match in enumerate(_URL.finditer(text)):
        scheme = match.group("scheme")
        host = _host(match.group("authority"))
        if scheme in _SSRF_SCHEMES or (scheme == "file" and urlish):
            return "ssrf.scheme", match.group()
        if scheme in _WEB or (scheme == "file" and host):
            rule = _classify(host)
            if rule == "ssrf.internal" and prose and match.start() > 0:
                continue  # "the docs link points to http://localhost:8080/docs": a remark
            if rule is not None:
                return rule, match.group()
        if count + 1 >= _MAX_URLS:
            break
    if urlish and len(text) <= 300 and " " not in text:
        host = _host(text.split("/", 1)[0])
        rule = _classify(host) if _hostlike(host) else None
        if rule is not None:
            return rule, text
    return None


def _hostlike(host: str) -> bool:
    """Whether a bare value reads as a host rather than a number or a word ("0.5", "12")."""
    host = host.rstrip(".")
    if host.count(".") == 3 or ":" in host or host.startswith("["):
        return True
    if host.isascii() and host.isdigit():  # "¹" is a digit to isdigit, and no int
        return int(host) >= 1 << 24
    if host[:2] == "0x":
        return True
    return bool(host) and (
        host in _LOCAL_NAMES
        or host in _METADATA_HOSTS
        or host.endswith((".localhost", *_REBINDING))
    )


def rfi(text: str, name: str) -> Found | None:
    """Remote file inclusion: PHP wrappers, URLs ending in ``?``, script URLs, UNC paths.

    A ``phar://`` URL is reported as deserialisation (PHP unserialises its metadata).
    """
    lname = name.lower()
    if text.startswith("\\\\") and _UNC.match(text):
        return "rfi.unc", text[:80]
    if text.startswith("data:") and ";base64," in text[:80]:
        return "rfi.wrapper", text[:80]
    if text.startswith("//") and lname in INCLUDE_NAMES:
        text = "http:" + text  # protocol-relative: //evil.example/shell.php
    for count, match in enumerate(_URL.finditer(text)):
        scheme, rest, url = match.group("scheme"), match.group("rest"), match.group()
        if scheme == "phar":  # including a script from it is inclusion; any other access
            script = rest.endswith((".php", ".phtml")) and lname in INCLUDE_NAMES
            return ("rfi.wrapper" if script else "deserialisation.phar"), url
        if scheme in _WRAPPERS:
            return "rfi.wrapper", url
        if scheme == "php" and not match.group("authority").startswith("filter"):
            return "rfi.wrapper", url
        if scheme in _WEB:
            if url.endswith("?") or "?\x00" in url or url.endswith("\x00"):
                return "rfi.trailing-query", url
            ip, _ = host_ip(_host(match.group("authority")))
            if ip is not None and ip.is_global:
                return "rfi.ip-url", url
            if lname in INCLUDE_NAMES and (_SCRIPT_EXT.search(rest) or _INCLUDED_EXT.search(rest)):
                return "rfi.include-param", url  # a template, or PHP in an image, to include
            if _SCRIPT_EXT.search(rest):
                return "rfi.script-url", url
            return "rfi.offsite", url
        if count + 1 >= _MAX_URLS:
            break
    return None


_CALLBACK = re.compile("(?:" + "|".join(map(re.escape, _CALLBACKS)) + r")\b")
"""Any of :data:`_CALLBACKS` in a text."""
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")


def callback_host(text: str) -> str | None:
    """An out-of-band testing host in ``text`` (lowercase), if any.

    >>> callback_host("for=x9k2m.oastify.com"), callback_host("oastify.com is a site")
    ('x9k2m.oastify.com', None)
    """
    match = _CALLBACK.search(text)
    if match is None:
        return None
    start = match.start()
    while start > 0 and text[start - 1] in _HOST_CHARS:
        start -= 1
    return text[start : match.end()] if start < match.start() else None
