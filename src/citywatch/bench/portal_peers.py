"""The peers of the portal benchmark: OWASP CRS on ModSecurity v3, and libinjection.

Both come from optional packages (``pip install citywatch[bench]``; the CRS
rules from Debian's ``modsecurity-crs``). They are imported only when a peer
is built, so this module imports without them; a peer that cannot be built
raises :class:`PeerUnavailableError` saying why, and the benchmark reports it.

- :class:`CrsPeer`: every ``REQUEST-*`` rule file of the CRS at paranoia
  level 1, engine in detection-only mode; a request is flagged when its
  inbound anomaly score reaches the threshold (5), which CRS signals with
  rule 949110 (949111 in CRS 4's early blocking).
- :class:`LibinjectionPeer`: ``is_sql_injection`` and ``is_xss`` on every
  parameter name and value (query string, form or JSON body, cookies).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl

from citywatch.errors import CitywatchError
from citywatch.model import HttpRequest

CRS_DIRS: Final = (Path("/usr/share/modsecurity-crs/rules"), Path("/usr/share/coreruleset/rules"))
"""Where Debian (and CRS 4 packages) put the rules; ``CITYWATCH_CRS_RULES`` overrides."""
EXCLUDED: Final = {
    "REQUEST-910-IP-REPUTATION.conf": "needs GeoIP, which the libmodsecurity wheel lacks",
}
SCORE_RULES: Final = frozenset({949110, 949111})
_VERSION: Final = re.compile(rb"ver:'OWASP_CRS/([0-9.]+)'")
# ModSecurity's recommended engine settings (modsecurity.conf-recommended), detection only.
_ENGINE: Final = r"""
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction ProcessPartial
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" \
  "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
  "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecResponseBodyAccess Off
SecAuditEngine Off
SecArgumentSeparator &
SecCookieFormat 0
SecDefaultAction "phase:1,log,auditlog,pass"
SecDefaultAction "phase:2,log,auditlog,pass"
"""
# crs-setup.conf, reduced to what the benchmark sets: paranoia level, threshold, setup version.
_SETUP: Final = """
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level={pl},\
setvar:tx.blocking_paranoia_level={pl},setvar:tx.detection_paranoia_level={pl}"
SecAction "id:900110,phase:1,nolog,pass,t:none,\
setvar:tx.inbound_anomaly_score_threshold={threshold},setvar:tx.outbound_anomaly_score_threshold=4"
SecAction "id:900990,phase:1,nolog,pass,t:none,setvar:tx.crs_setup_version={setup}"
"""


class PeerUnavailableError(CitywatchError):
    """A peer cannot be installed, loaded or run here; the message says why."""


def _import(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PeerUnavailableError(
            f"python package {package!r} is not installed ({exc}); run `make bench`"
        ) from exc


def _package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def find_crs(rules: Path | None = None) -> Path:
    """The CRS rules directory: ``rules``, ``$CITYWATCH_CRS_RULES`` or a packaged location."""
    candidates = [rules] if rules is not None else []
    if env := os.environ.get("CITYWATCH_CRS_RULES"):
        candidates.append(Path(env))
    candidates += CRS_DIRS
    for path in candidates:
        if path is not None and any(path.glob("REQUEST-9*.conf")):
            return path
    raise PeerUnavailableError(
        "OWASP CRS rules not found (looked in "
        + ", ".join(str(p) for p in candidates if p is not None)
        + "); `apt-get install modsecurity-crs` or set CITYWATCH_CRS_RULES"
    )


class CrsPeer:
    """OWASP CRS on libmodsecurity (ModSecurity v3), in process, detection only."""

    name: ClassVar[str] = "crs-pl1"

    def __init__(self, rules: Path | None = None, *, paranoia: int = 1, threshold: int = 5) -> None:
        lib = _import("libmodsecurity", "libmodsecurity")
        self.rules_dir = find_crs(rules)
        init = (self.rules_dir / "REQUEST-901-INITIALIZATION.conf").read_bytes()
        found = _VERSION.search(init)
        self.crs_version = found.group(1).decode() if found else "?"
        setup = self.crs_version.replace(".", "")[:3] if found else "334"
        self._engine = lib.ModSecurity()
        self._engine.set_connector_information("citywatch-bench")
        self.engine_version = str(self._engine.who_am_i())
        self._messages: list[int] = []
        self._engine.set_rule_message_callback(self._on_message)
        self._rules = lib.RulesSet()
        self._transaction = lib.Transaction
        self.loaded: list[str] = []
        self.excluded = {k: v for k, v in EXCLUDED.items() if (self.rules_dir / k).exists()}
        preamble = _ENGINE + _SETUP.format(pl=paranoia, threshold=threshold, setup=setup)
        self._load(lambda: self._rules.load(preamble), "engine settings")
        for path in sorted(self.rules_dir.glob("REQUEST-*.conf")):
            if path.name not in self.excluded:
                self._load(lambda p=path: self._rules.load_from_uri(str(p)), path.name)
                self.loaded.append(path.name)
        self.paranoia, self.threshold = paranoia, threshold
        self.version = f"CRS {self.crs_version} on {self.engine_version.strip()}"

    def _load(self, call: Any, what: str) -> None:
        if call() < 0:
            raise PeerUnavailableError(f"CRS: cannot load {what}: {self._rules.get_parser_error()}")

    def _on_message(self, message: Any) -> None:
        self._messages.append(message.rule_id)

    def close(self) -> None:
        """Unregister the callback (libmodsecurity keeps it until then)."""
        self._engine.set_rule_message_callback(None)

    def flags(self, ip: str, request: HttpRequest) -> bool:
        """True when the request's inbound anomaly score reaches the threshold."""
        messages = self._messages
        messages.clear()
        tx = self._transaction(self._engine, self._rules)
        tx.process_connection(ip, 50000, "10.0.0.1", 443)
        version = request.version.removeprefix("HTTP/") or "1.1"
        tx.process_uri(request.uri, request.method, version)
        for name, value in request.headers:
            tx.add_request_header(name, value)
        tx.process_request_headers()
        if request.body:
            tx.append_request_body(request.body.encode("utf-8", "replace"))
        tx.process_request_body()
        return any(rule in SCORE_RULES for rule in messages)


class LibinjectionPeer:
    """libinjection's SQLi and XSS tokenisers on every parameter."""

    name: ClassVar[str] = "libinjection"

    def __init__(self) -> None:
        lib = _import("libinjection", "libinjection-python")
        self._sqli = lib.is_sql_injection
        self._xss = lib.is_xss
        self.version = f"libinjection-python {_package_version('libinjection-python')}"

    def flags(self, ip: str, request: HttpRequest) -> bool:
        """True when any parameter name or value tokenises as SQLi or XSS."""
        sqli, xss = self._sqli, self._xss
        for text in parameters(request):
            if text and (sqli(text)["is_sqli"] or xss(text)["is_xss"]):
                return True
        return False

    def close(self) -> None:
        """Nothing to release."""


@contextmanager
def captured_stderr(into: list[str]) -> Iterator[None]:
    """Send what C libraries write to file descriptor 2 (libxml2's parser errors) into ``into``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            into.extend(sink.read().decode(errors="replace").splitlines())


def parameters(request: HttpRequest) -> Iterator[str]:
    """Every parameter name and value: query string, form or JSON body, cookies (decoded once).

    >>> r = HttpRequest(method="POST", uri="/a?x=1%27", body='{"k": ["v", {"n": 2}]}',
    ...                 headers=(("Content-Type", "application/json"),))
    >>> list(parameters(r))
    ['x', "1'", 'k', 'v', 'n', '2']
    """
    _, _, query = request.uri.partition("?")
    for name, value in parse_qsl(query, keep_blank_values=True):
        yield name
        yield value
    ctype = (request.header("content-type") or "").lower()
    if request.body:
        if "json" in ctype:
            try:
                yield from _leaves(json.loads(request.body))
            except ValueError:
                yield request.body
        elif "form-urlencoded" in ctype:
            for name, value in parse_qsl(request.body, keep_blank_values=True):
                yield name
                yield value
        else:
            yield request.body
    for part in (request.header("cookie") or "").split(";"):
        if part.strip():
            name, _, value = part.strip().partition("=")
            yield name
            yield value


def _leaves(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value if isinstance(value, str) else json.dumps(value)
