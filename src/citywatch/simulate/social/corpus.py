"""The project's labelled corpus of posts: generated from templates, plus hand-written posts.

Every post has its label (a high-risk category, or ``none``) and its kind
(``report``, ``chatter``, ``news`` for an outlet's headline, high-risk or
ordinary, or the hard-negative kind: ``sports``, ``film``, ``idiom``,
``joke``, ``old-news``, ``advice``). The split is by template:
every fourth template of each group (and every hand-written post) is held
out, so a held-out post never shares its phrasing with a training post.
``handwritten_de.jsonl`` holds German posts for the German lexicon, which
nothing is trained on.
The same seed gives the same corpus.

>>> train, test = corpus(1)
>>> len(train) > len(test) > 100
True
>>> sorted({p.split for p in train} | {p.split for p in test})
['test', 'train']
"""

from __future__ import annotations

from importlib import resources
from random import Random
from typing import Final

import msgspec

from citywatch.simulate.rand import substream
from citywatch.simulate.social.gazetteer import gazetteer
from citywatch.simulate.social.templates import (
    CHATTER,
    FILMS,
    HARD_NEGATIVE,
    HEADLINES,
    HIGH_RISK,
    ORDINARY_HEADLINES,
    TEAMS,
    TIMES,
    YEARS,
)

HELD_OUT_EVERY: Final = 4
PER_TEMPLATE: Final = 40
HANDWRITTEN: Final = "handwritten.jsonl"
HANDWRITTEN_DE: Final = "handwritten_de.jsonl"


class LabelledPost(msgspec.Struct, frozen=True, kw_only=True):
    """One corpus post: its text, label (category or ``none``), kind and split."""

    text: str
    label: str
    kind: str
    split: str
    template: str = ""


def place_names() -> list[str]:
    """Every name and alias of Aldmere's gazetteer, as posts would write them."""
    gaz = gazetteer()
    names: list[str] = []
    for entry in [*gaz["districts"], *gaz["places"]]:  # type: ignore[misc]
        names.append(entry["name"])
        names.extend(entry["aliases"])
    return names


def fill(template: str, rng: Random, places: list[str]) -> str:
    """``template`` with its slots filled at random (a headline as an outlet writes it)."""
    text = template.format(
        p=rng.choice(places),
        t=rng.choice(TIMES),
        n=rng.randint(2, 40),
        team=rng.choice(TEAMS),
        y=rng.choice(YEARS),
        film=rng.choice(FILMS),
    )
    return " ".join(text.split())


def render(template: str, rng: Random, places: list[str]) -> str:
    """``template`` with its slots filled at random, as people post: some shouting, some tagged."""
    text = fill(template, rng, places)
    roll = rng.random()
    if roll < 0.15:
        text = text.lower()
    elif roll < 0.2:
        text = text.upper()
    elif roll < 0.3:
        text += rng.choice((" #Aldmere", " !!", " 😱", " smh", " #news"))
    return text


def _groups() -> list[tuple[str, str, tuple[str, ...]]]:
    """(label, kind, templates) for every template group."""
    groups = [(label, "report", templates) for label, templates in HIGH_RISK.items()]
    groups.append(("none", "chatter", CHATTER))
    groups += [(label, "news", templates) for label, templates in HEADLINES.items()]
    groups.append(("none", "news", ORDINARY_HEADLINES))
    groups += [("none", kind, templates) for kind, templates in HARD_NEGATIVE.items()]
    return groups


def handwritten(name: str = HANDWRITTEN) -> list[LabelledPost]:
    """The hand-written posts shipped with the package (all held out): English, or German."""
    raw = resources.files(__package__).joinpath(name).read_bytes()
    return [
        LabelledPost(split="test", template="hand", **msgspec.json.decode(line))
        for line in raw.splitlines()
        if line.strip()
    ]


def corpus(seed: int = 1) -> tuple[list[LabelledPost], list[LabelledPost]]:
    """The training posts and the held-out posts."""
    rng = substream(seed, "social-corpus")
    places = place_names()
    train: list[LabelledPost] = []
    test: list[LabelledPost] = []
    for label, kind, templates in _groups():
        # hard negatives are rarer phrasings: more samples each, so they weigh in training
        per = PER_TEMPLATE if kind in ("report", "chatter", "news") else PER_TEMPLATE * 2
        write = fill if kind == "news" else render
        for i, template in enumerate(templates):
            held = i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
            split = "test" if held else "train"
            seen: set[str] = set()
            for _ in range(per):
                text = write(template, rng, places)
                if text in seen:
                    continue
                seen.add(text)
                post = LabelledPost(
                    text=text, label=label, kind=kind, split=split, template=f"{kind}:{label}:{i}"
                )
                (test if held else train).append(post)
    return train, test + handwritten()
