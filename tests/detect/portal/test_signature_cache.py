"""The access-log fast path of web-attacks remembers findings per request, exactly."""

from __future__ import annotations

from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.model import Event, HttpRequest


def _event(uri: str, agent: str | None = "Mozilla/5.0", **kw: object) -> Event:
    return Event(
        id=uri,
        timestamp=0.0,
        dataset="portal.access",
        payload=HttpRequest(method="GET", uri=uri, version="HTTP/1.1", user_agent=agent, **kw),  # type: ignore[arg-type]
    )


def test_repeated_requests_give_the_same_findings_and_different_ones_do_not_mix() -> None:
    det = WebAttackSignatures()
    attack = _event("/traffic/incidents?district=1%27%20UNION%20SELECT%20password%20FROM%20users--")
    first, again = det.inspect(attack), det.inspect(attack)
    assert first and first == again
    assert first is not again, "callers get their own list"
    assert det.inspect(_event("/traffic/incidents?district=1")) == []
    scanner = det.inspect(_event("/traffic/incidents?district=1", agent="sqlmap/1.8#stable"))
    assert [h.attack_class for h in scanner] == ["scanner"]
    assert det.inspect(_event("/traffic/incidents?district=1", status=500, bytes_out=9)) == []
