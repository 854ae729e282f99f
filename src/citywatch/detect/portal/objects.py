"""Objects smuggled in values: serialised objects (deserialisation) and NoSQL query objects.

Serialised objects are recognised by format markers (PHP ``O:8:"..."``, Java
``rO0AB``/``aced0005``, .NET ``AAEAAAD/////``, pickles, Ruby Marshal, YAML
tags, jsonpickle and funcster keys) and by the gadget classes exploits name
(``JdbcRowSetImpl``, ``ObjectDataProvider``...); a value that starts like
base64 of a gzip stream or of a pickle is decoded (bounded) and judged by what
it holds. NoSQL injection is a MongoDB operator where a
scalar belongs (``password[$ne]=``, ``{"$gt": ""}``) or JavaScript in a
``$where``.

>>> deserialisation('O:8:"stdClass":0:{}', 'o:8:"stdclass":0:{}')
('deserialisation.php', 'o:8:"stdclass":0:{')
>>> nosqli_name("password[$ne]")
('nosqli.operator-name', 'password[$ne]')
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

from citywatch.detect.portal.catalog import Found

_PHP_OBJECT = re.compile(r"(?:^|[;{(\s\"'=|])[oc]:\+?\d{1,4}:\"[\w\\]{1,200}+\":\+?\d{1,4}:\{")
_PHP_ARRAY = re.compile(r"^a:\+?\d{1,6}:\{(?:[isdb]:|[sa]:\+?\d|o:\+?\d|\})")
"""PHP's serialised objects and arrays; ``unserialize`` reads a signed length (``O:+8:``),
the classic way past a filter of ``O:`` and digits."""
_TYPE_GADGET = re.compile(
    r"\"\$type\"\s*+:\s*+\"[^\"]{0,200}?(?:system\.|objectdataprovider|windowsidentity|"
    r"typeconfusedelegate|textformattingrunproperties|expandedwrapper|psobject)"
    r"|\"@type\"\s*+:\s*+\"(?:com\.sun\.|org\.apache\.|java\.|com\.alibaba\.|ch\.qos\.|"
    r"org\.springframework\.|com\.mchange\.|javax\.)"
)
_YAML_TAG = re.compile(
    r"!!(?:python/|javax?\.|com\.sun\.|ruby/)|!ruby/(?:object|hash|struct|marshal)"
    r"|!<tag:yaml\.org,2002:(?:python/|javax?\.|com\.sun\.|ruby/)"
)
_GADGETS = re.compile(
    r"com\.sun\.rowset\.jdbcrowsetimpl|org\.apache\.xbean\.propertyeditor\.jndiconverter"
    r"|org\.apache\.commons\.collections\d?\.functors|java\.beans\.eventhandler|<dynamic-proxy>"
    r"|ch\.qos\.logback\.core\.db\.(?:jndi|drivermanager)connectionsource|com\.mchange\.v2\.c3p0"
    r"|org\.springframework\.context\.support\.(?:classpath|filesystem)xmlapplicationcontext"
    r"|sun\.reflect\.annotation\.annotationinvocationhandler|org\.codehaus\.groovy\.runtime"
    r"|com\.sun\.org\.apache\.xalan\.internal\.xsltc\.trax\.templatesimpl|bsh\.interpreter"
    r"|org\.springframework\.beans\.factory\.config\.propertypathfactorybean"
    r"|org\.apache\.tomcat\.dbcp\.dbcp2?\.basicdatasource|javax\.management\.badattributevalue"
    r"|[<:]objectdataprovider\b|textformattingrunproperties|system\.windows\.data\.objectdata"
    r"|\"__construct\(\)\"\s*+:|guzzlehttp\\{1,2}psr7\\{1,2}fnstream"
)
_GADGET_PACKAGES = (
    r"java|javax|jdk|sun|com\.sun|org\.apache|ch\.qos|com\.mchange|org\.springframework"
    r"|org\.codehaus|bsh|groovy|org\.hibernate|com\.zaxxer|org\.jboss|net\.sf|oracle|com\.mysql"
    r"|org\.h2|org\.mozilla|org\.python|com\.alibaba|org\.aspectj|com\.caucho|org\.slf4j"
    r"|org\.quartz|com\.ibatis|org\.jdom2?|org\.eclipse|com\.fasterxml|org\.yaml|org\.dom4j"
    r"|com\.thoughtworks|org\.glassfish|weblogic|com\.ibm|clojure|com\.vaadin|org\.postgresql"
)
"""Packages that Java deserialisation gadgets come from: the JDK's, and the libraries
(logging, pools, Spring, drivers...) whose classes exploit chains instantiate."""
_TYPE_TAG = re.compile(
    rf"(?:{_GADGET_PACKAGES})\.(?:[a-z_$][\w$]{{0,60}}+\.){{0,12}}+[A-Z][\w$]{{0,120}}+"
)
"""A Java class named in full, as written (packages lowercase, the class capitalised)."""
_ARRAY_TYPE = re.compile(
    rf"\[\s*+\"(?:{_GADGET_PACKAGES})\.[\w.$]{{1,200}}+\"\s*+,\s*+[\[{{\"]", re.IGNORECASE
)
"""A JSON array ``["<class>", <value>]``: Jackson's polymorphic typing as a wrapper array
(``["java.util.HashSet", [...]]``), the class one of a gadget package."""


def array_type_tag(value: str) -> Found | None:
    """A JSON array element (``name[]``) that is a whole class name of a gadget package:
    the type tag of Jackson's wrapper array (its value follows as the next element).
    ``com.example.app`` in a citizen's list is no class, nor ``java.util`` a package alone.

    >>> array_type_tag("org.springframework.context.support.FileSystemXmlApplicationContext")[0]
    'deserialisation.json-type'
    >>> array_type_tag("com.example.App"), array_type_tag("java.util")
    (None, None)
    """
    if len(value) > 300 or "." not in value:
        return None
    value = value.strip()
    return ("deserialisation.json-type", value) if _TYPE_TAG.fullmatch(value) else None


_SCRIPTED = re.compile(
    r"_\$\$nd_func\$\$_|\"__js_function\"\s*+:|\"py/(?:reduce|object|function|newobj)\""
    r"|\$\d{1,4}:(?:__proto__|constructor):"
)
"""node-serialize and funcster functions, jsonpickle objects, React Server Components
references that walk to ``__proto__`` or ``constructor`` (CVE-2025-55182): code in a JSON
document."""
_WRAPPED = re.compile(
    r"(?:H4sI|gA[JNSU]|Y(?:29z|3Bvc2l4|250|3N1YnByb2Nlc3|19fYnVpbHRpbl9f|2J1aWx0aW5z)C"
    r"|[TQ]zo[\dxyzr])[\w+/=-]{8,}"
)
"""Base64 that starts like a gzip stream, a pickle (protocol 2, 3, 5), a protocol 0 pickle
of ``os``, ``posix``, ``nt``, ``subprocess`` or the builtins, or a PHP object (``O:8:``,
``O:+8:``)."""
_WRAPPED_MAX = 16384
_UNZIPPED_MAX = 65536
_RUBY_GADGETS = re.compile(
    rb"Gem::|DeprecatedInstanceVariableProxy|Net::(?:WriteAdapter|BufferedIO)|:\x08ERB\b"
    rb"|ActiveRecord::Associations::Association|Rack::Response|ActiveModel::AttributeMethods"
)
"""Classes Ruby Marshal gadget chains instantiate (the universal ``Gem::`` chain, Rails'
``DeprecatedInstanceVariableProxy`` around an ``ERB`` template...)."""
_PICKLE = re.compile(
    r"c(?:os|posix|nt|subprocess|builtins|__builtin__)\n(?:system|popen|eval|exec|check_output"
    r"|getattr|call|run)\b"
)


def deserialisation(value: str, text: str) -> Found | None:
    """Serialised objects: PHP, Java, .NET gadgets, JSON type gadgets, YAML tags, pickles.

    ``value`` keeps its case (base64 markers are case-sensitive), ``text`` is folded.
    """
    for marker, rule in _CASED_MARKERS:
        i = value.find(marker)
        if i >= 0:
            return rule, value[i : i + 60]
    if value.startswith("BAh"):  # base64 of Ruby Marshal data (\x04\x08)
        raw = base64_bytes(value)
        if raw is not None and _RUBY_GADGETS.search(raw) is not None:
            return "deserialisation.ruby", value[:60]
    if _WRAPPED.match(value) is not None:
        found = _unwrapped(value)
        if found is not None:
            return found
    match = _SCRIPTED.search(text)
    if match is not None:
        rule = "deserialisation.pickle" if "py/" in match.group() else "deserialisation.nodejs"
        return rule, text[match.start() : match.start() + 60]
    match = _GADGETS.search(text)
    if match is not None:
        return "deserialisation.gadget", match.group()
    if ":" in text:
        match = _PHP_OBJECT.search(text)
        if match is not None:
            return "deserialisation.php", match.group().lstrip(";{( \"'=|")
        match = _PHP_ARRAY.search(text)
        if match is not None:
            return "deserialisation.php-array", text[:60]
        match = _TYPE_GADGET.search(text)
        if match is not None:
            return "deserialisation.json-type" if "@type" in match.group() else (
                "deserialisation.dotnet"
            ), match.group()
    if '"' in text and "[" in text:
        match = _ARRAY_TYPE.search(text)
        if match is not None:
            return "deserialisation.json-type", match.group()
    if "!" in text:
        match = _YAML_TAG.search(text)
        if match is not None:
            ruby = "ruby" in match.group()
            rule = "deserialisation.ruby" if ruby else "deserialisation.yaml"
            return rule, text[match.start() : match.start() + 60]
    if "\n" in text:
        match = _PICKLE.search(text)
        if match is not None:
            return "deserialisation.pickle", match.group()
    return None


def _unwrapped(value: str) -> Found | None:
    """A serialised object inside base64 (and gzip): Java, pickle or PHP, by its bytes."""
    raw = base64_bytes(value)
    if raw is None:
        return None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = zlib.decompressobj(wbits=31).decompress(raw, _UNZIPPED_MAX)
        except zlib.error:
            return None
    text = raw.decode("latin-1")
    if text.startswith("\xac\xed\x00\x05"):
        return "deserialisation.java", f"base64: {value[:40]}"
    if _PICKLE.search(text) is not None or text.startswith(("\x80\x04\x95", "\x80\x05\x95")):
        return "deserialisation.pickle", f"base64: {value[:40]}"
    if _PHP_OBJECT.search(text.lower()) is not None:
        return "deserialisation.php", f"base64: {value[:40]}"
    return None


def base64_bytes(value: str, limit: int = _WRAPPED_MAX) -> bytes | None:
    """The bytes of a base64 (or base64url) value's first ``limit`` characters (whole quads)."""
    token = value[:limit].translate(_URLSAFE)
    token = token[: len(token) - len(token) % 4]
    try:
        return base64.b64decode(token)
    except (binascii.Error, ValueError):
        return None


_URLSAFE = str.maketrans("-_", "+/")
_CASED_MARKERS = (
    ("rO0AB", "deserialisation.java"),
    ("\xac\xed\x00\x05", "deserialisation.java"),
    ("AAEAAAD/////", "deserialisation.dotnet"),
    ("gASV", "deserialisation.pickle"),
    ("\x80\x04\x95", "deserialisation.pickle"),
    ("aced0005", "deserialisation.java"),
    ("ACED0005", "deserialisation.java"),
)

_MONGO_OPS = (
    r"ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|nor|not|expr|elemmatch|function|"
    r"accumulator|jsonschema|size|type|mod|all|options|text|search|lookup|unionwith|graphlookup|"
    r"out|merge|match|group|project|facet|set|unset|push|pull|inc|rename"
)
_NOSQL_NAME = re.compile(rf"(?:^|[.\[])\$(?:{_MONGO_OPS})\]?(?:$|[.\[])")
_NOSQL_VALUE = re.compile(
    rf"""(?P<operator_value>\{{\s*+["']?\$(?:{_MONGO_OPS})["']?\s*+:)
    |(?P<where>["']\$where["']\s*+:|[{{,]\s*+\$where\s*+:
        |\bdb\.(?:getcollection\s*+\(|\w{{1,40}}\.(?:drop|remove|insert|update|delete|find)\w{{0,12}}\s*+\()
        |["']\s*+[}})]{{0,3}}\s*+(?:;|\|\||&&)\s*+(?:return\s++(?:true|1)\b|this\.\w
        |sleep\s*+\(\s*+\d|while\s*+\(\s*+(?:true|1)\))|\|\|\s*+["']?\w{{1,20}}["']?\s*+===?\s*+["']?\w
        |\bthis\.\w{{1,30}}\s*+(?:===?|\.match\s*+\()
        |\bemit\s*+\(\s*+this\.|function\s*+\(\s*+\)\s*+\{{[^}}]{{0,200}}?\bthis\.
        |\bdoc\s*+\[\s*+['"][\w.]{{1,60}}['"]\s*+\]\s*+\.\s*+value\b|\bctx\._source\b)""",
    re.VERBOSE,
)


def nosqli_name(name: str) -> Found | None:
    """MongoDB operators in a parameter name: ``password[$ne]``, JSON ``password.$ne``."""
    if "$" not in name:
        return None
    match = _NOSQL_NAME.search(name.lower())
    return None if match is None else ("nosqli.operator-name", name)


def nosqli(text: str) -> Found | None:
    """MongoDB operator objects and ``$where`` JavaScript in a value."""
    match = _NOSQL_VALUE.search(text)
    if match is None:
        return None
    return f"nosqli.{(match.lastgroup or '').replace('_', '-')}", match.group()
