"""No social author's handle reaches storage, logs or output, not even through a dead letter.

Posts (``posts-jsonl``), Mastodon statuses (one per line, and an API
array) and news feeds, good ones among malformed ones that carry handles
everywhere a handle can be (``author``, account objects, mentions, links,
bylines, the text, the field that is wrong), are analysed by the real ``citywatch analyse`` in a
child process at debug log level, into a real SQLite store and output
files. Every byte stored, written, printed and logged is then searched for
every handle and account id. The same run with the masking switched off
must leak: the search has something to find.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import msgspec

from citywatch.app import city_store
from citywatch.config import load_settings
from citywatch.ingest.posts import DROPPED, MASK

T0 = 1_773_478_800  # 2026-03-14 09:00 UTC
REPORTS = [
    "Someone just got stabbed outside the bakery in Kaptolje, ambulance is here",
    "Stabbing at Kaptolje, police have taped off the street",
    "A man was knifed near the cathedral, there is blood on the pavement",
    "Witnessed a stabbing at Kaptolje tonight, still shaking",
]
UNMASKED = (
    "import sys, citywatch.ingest.posts as p\n"
    "p.redact = lambda raw, reason: (raw, reason)\n"
    "from citywatch.cli import main\n"
    "sys.argv[0] = 'citywatch'\n"
    "main()\n"
)
"""``python -m citywatch`` with the dead letters' masking switched off."""


class Secrets:
    """Handles and account ids, made up and remembered."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.all: set[str] = set()

    def handle(self) -> str:
        name = f"{self.rng.choice(['ana', 'ivo', 'mara', 'kap'])}_{self.rng.randrange(16**6):06x}"
        self.all.add(name)
        return name

    def account(self) -> dict[str, object]:
        name, ident = self.handle(), str(7 * 10**11 + self.rng.randrange(10**11))
        self.all.add(ident)
        return {
            "id": ident,
            "username": name,
            "acct": f"{name}@aldmere.social",
            "display_name": name.title(),
            "url": f"https://aldmere.social/@{name}",
            "bot": False,
        }


def status(sid: int, text: str, account: dict[str, object], **extra: object) -> dict[str, object]:
    return {
        "id": str(sid),
        "created_at": T0 + 60 * sid,
        "visibility": "public",
        "language": "en",
        "content": f"<p>{text}</p>",
        "account": account,
        "url": f"{account['url']}/{sid}",
        "uri": f"https://aldmere.social/users/{account['username']}/statuses/{sid}",
        **extra,
    }


def mention(name: str) -> str:
    """A mention as Mastodon writes it in a status's HTML."""
    return (
        f'<span class="h-card"><a href="https://aldmere.social/@{name}" class="u-url mention">'
        f"@<span>{name}</span></a></span>"
    )


def inputs(tmp_path: Path, s: Secrets) -> list[str]:
    """The input files with their formats, as ``--in`` values."""
    posts = [
        {"id": f"p{i}", "created_at": T0 + 40 * i, "text": t, "author": s.handle()}
        for i, t in enumerate(REPORTS)
    ]
    lines = [json.dumps(p) for p in posts]
    h = [s.handle() for _ in range(12)]
    lines += [
        json.dumps({"id": "b1", "created_at": T0, "author": h[0], "text": ""}),
        json.dumps({"id": "b2", "author": h[1], "text": f"cc @{h[2]} fire at Kaptolje"}),
        json.dumps({"id": "b3", "created_at": f"@{h[3]} yesterday", "text": "x", "author": h[4]}),
        f'{{"id": "b4", "author": "{h[5]}", "text": "smoke over Dolac',  # not JSON
        json.dumps([f"@{h[6]}", {"author": h[7]}]),  # JSON, not an object
        json.dumps(
            {"id": "b6", "created_at": T0, "text": f"RT {h[8]}: stabbing", "author": {"name": h[8]}}
        ),
        json.dumps(
            {
                "id": True,
                "created_at": T0,
                "text": f"{h[9]}@aldmere.social saw it",
                "author": h[9],
                "url": f"https://social.example/{h[10]}/status/1",
            }
        ),
        json.dumps(
            {"id": "b8", "created_at": T0, "text": "x", "geo": {"lat": 99, "lon": f"@{h[11]}"}}
        ),
    ]
    (tmp_path / "posts.jsonl").write_text("\n".join(lines) + "\n")

    good = [status(i, f"smoke at Dolac {mention(s.handle())}", s.account()) for i in (1, 2)]
    private = status(
        3, f"{mention(s.handle())} meet me", s.account(), visibility="direct",
        mentions=[{"id": "1", "username": (m := s.handle()), "acct": m, "url": f"https://x/@{m}"}],
        in_reply_to_account_id=s.account()["id"],
    )  # fmt: skip
    undated = status(4, "fire", s.account())
    del undated["created_at"]
    broken = json.dumps(status(5, "x", s.account()))[:-40]
    boost = status(6, "", s.account(), reblog=status(7, "secret", s.account(), visibility="x"))
    one_per_line = [json.dumps(st) for st in (*good, private, undated)] + [broken]
    (tmp_path / "statuses.jsonl").write_text("\n".join(one_per_line) + "\n")
    array = [status(8, "ok", s.account()), private, boost, f"@{s.handle()}"]
    (tmp_path / "timeline.json").write_text(json.dumps(array, indent=1))

    writer, editor = s.handle(), s.handle()
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel><title>Aldmere Daily</title>\n"
        f"<item><guid>n1</guid><title>{writer}: council meets on Tuesday</title>"
        f"<dc:creator>{writer}</dc:creator></item>\n"  # undated: a dead letter
        f"<item><guid>n2</guid><title>Tram line opens, cc @{s.handle()}</title>"
        f"<author>{editor}@news.example ({editor.title()})</author>"
        "<pubDate>Sat, 14 Mar 2026 10:10:00 +0100</pubDate></item>\n</channel></rss>\n"
    )
    (tmp_path / "news.xml").write_text(feed)
    (tmp_path / "page.html").write_text(f"<html><p>by {s.handle()}</p></html>\n")  # no feed
    return [
        f"posts-jsonl:{tmp_path / 'posts.jsonl'}",
        f"mastodon:{tmp_path / 'statuses.jsonl'}",
        f"mastodon:{tmp_path / 'timeline.json'}",
        f"news-feed:{tmp_path / 'news.xml'}",
        f"news-feed:{tmp_path / 'page.html'}",
    ]


def analyse(tmp_path: Path, *, masked: bool) -> tuple[bytes, Path]:
    """Everything the run printed, logged, wrote and stored; and its data directory."""
    s = Secrets(7)
    ins = inputs(tmp_path, s)
    config = tmp_path / "citywatch.toml"
    config.write_text("[detectors.social-events]\nstrong = false\n")
    data, out, incidents = tmp_path / "data", tmp_path / "d.jsonl", tmp_path / "i.jsonl"
    head = ["-m", "citywatch"] if masked else ["-c", UNMASKED]
    args = ["-vv", "analyse", *(a for i in ins for a in ("--in", i))]
    args += ["-o", str(out), "--incidents", str(incidents)]
    args += ["--config", str(config), "--data-dir", str(data)]
    child = subprocess.run(
        [sys.executable, *head, *args], capture_output=True, check=False, timeout=300
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert b"bad-json" in child.stdout and b"bad-field" in child.stdout, "dead letters reported"
    assert b"social-events: 1" in child.stdout, child.stdout[-3000:]
    written = [child.stdout, child.stderr, out.read_bytes(), incidents.read_bytes()]
    stored = [p.read_bytes() for p in data.rglob("*") if p.is_file()]
    assert any(b"missing-field" in b for b in stored), "the dead letters are stored"
    with city_store(load_settings(None, data_dir=data)) as store:  # raw records as opened
        stored += [d.raw for d in store.dead_letters(limit=1000)]
    assert len(s.all) > 30
    everything = b"\n".join(written + stored).lower()
    leaked = sorted(h for h in s.all if h.lower().encode() in everything)
    return b",".join(h.encode() for h in leaked), data


def test_no_handle_reaches_store_logs_or_output(tmp_path: Path) -> None:
    leaked, data = analyse(tmp_path, masked=True)
    assert leaked == b"", f"handles leaked: {leaked[:200]!r}"
    store = city_store(load_settings(None, data_dir=data))
    try:
        letters = store.dead_letters(limit=1000)
    finally:
        store.close()
    by_place = {(Path(d.source).name, d.position): d for d in letters}
    assert len(by_place) == 15, sorted(by_place)
    kept = msgspec.json.decode(by_place["posts.jsonl", 5].raw)
    assert kept == {"id": "b1", "created_at": T0, "author": MASK, "text": ""}, "masked, kept"
    assert "empty" in by_place["posts.jsonl", 5].reason
    assert by_place["posts.jsonl", 8].raw == DROPPED
    assert "not kept" in by_place["posts.jsonl", 8].reason
    private = msgspec.json.decode(by_place["statuses.jsonl", 3].raw)
    assert private["account"]["acct"] == MASK and private["visibility"] == "direct"
    assert "not public" in by_place["statuses.jsonl", 3].reason
    entry = msgspec.json.decode(by_place["news.xml", 1].raw)
    assert entry["id"] == "n1" and entry["author"] and set(entry["author"]) == {MASK}
    assert by_place["page.html", 1].raw == DROPPED


def test_the_search_finds_handles_when_masking_is_off(tmp_path: Path) -> None:
    leaked, _ = analyse(tmp_path, masked=False)
    assert leaked.count(b",") >= 10, "the dead letters' handles are found in the store"
