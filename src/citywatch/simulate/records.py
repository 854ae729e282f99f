"""The simulator's internal record of one HTTP exchange, and its ground truth.

A :class:`Hit` is what the portal saw (request and response); its
:class:`Label` travels beside it in memory and is written to ``truth.jsonl``,
never into the record files. Headers and bodies are only built when a record
is written (:func:`citywatch.simulate.agents.headers`, :func:`body_text`),
which keeps the hot path of :func:`~citywatch.simulate.write_access_log` cheap.
"""

from __future__ import annotations

from typing import Final, TypeAlias
from urllib.parse import urlencode

import msgspec

HOST: Final = "portal.aldmere.city"
ORIGIN: Final = f"https://{HOST}"


Form: TypeAlias = tuple[tuple[str, str], ...]
Body: TypeAlias = str | Form | dict[str, object]
_json = msgspec.json.Encoder()


class Label(msgspec.Struct, frozen=True, gc=False):
    """Ground truth for one record: what it really was and who sent it."""

    label: str  # "benign" | "malicious"
    scenario: str | None = None
    technique: str | None = None
    actor: str | None = None


BENIGN: Final = Label("benign")


class Agent(msgspec.Struct, frozen=True, gc=False):
    """A client program: its User-Agent, which headers it sends, its language."""

    ua: str
    profile: str  # browser | app | bot | feed | monitor | nikto | curl | sqlmap | script
    lang: str = ""
    h2: bool = False  # speaks HTTP/2 (lower-case header names)


class Hit(msgspec.Struct, gc=False):
    """One request to the portal and the response it got.

    ``kind`` is what the client asked for (``html``, ``css``, ``js``, ``img``,
    ``font``, ``json``, ``atom``, ``pdf``, ``any``), which decides ``Accept``.
    Empty strings mean "absent".
    """

    ms: int  # event time, epoch milliseconds
    ip: str
    agent: Agent
    method: str
    uri: str
    status: int
    size: int
    kind: str = "html"
    referer: str = ""
    cookie: str = ""
    auth: str = ""
    body: Body = ""  # text, form fields or a JSON object: encoded only when written
    ctype: str = ""
    label: Label = BENIGN


def body_text(body: Body) -> str:
    """The request body as sent: form fields URL-encoded, JSON objects serialised."""
    if isinstance(body, str):
        return body
    if isinstance(body, tuple):
        return urlencode(body)
    return _json.encode(body).decode()
