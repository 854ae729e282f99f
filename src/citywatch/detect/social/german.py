"""German posts: a lexicon of high-risk terms per category, and the words that defuse them.

The fast classifier is trained on English; a German post is scored here
instead: the strongest term found gives the category, a cue of sport, film,
jokes or the past (``Tor``, ``Film``, ``Jahrestag``…) defuses it. Terms are
folded (``ü`` → ``ue``, ``ß`` → ``ss``) and match as word prefixes, so
``Messerstecherei`` and ``Messerangriff`` both match ``messer``.

>>> from citywatch.detect.social.text import tokens
>>> score(tokens("Großbrand in der Altstadt, dichter Rauch"))
(0.9, 'fire')
>>> score(tokens("Der Stürmer ist durch die Abwehr explodiert, was für ein Tor"))[0] < 0.5
True
"""

from __future__ import annotations

from typing import Final

TERMS: Final[dict[str, tuple[str, ...]]] = {
    "violence": ("messer", "erstochen", "schuesse", "schuss", "angriff", "ueberfall", "verletzt"),
    "explosion-terror": ("explosion", "bombe", "sprengsatz", "anschlag", "detonation"),
    "fire": ("brand", "grossbrand", "brennt", "feuer", "flammen", "rauch"),
    "civil-unrest": ("krawall", "randale", "ausschreitung", "pluender", "traenengas"),
    "organised-crime": ("schutzgeld", "erpress", "bande", "clan"),
    "natural-hazard": (
        "erdbeben",
        "beben",
        "eingestuerzt",
        "einsturz",
        "hochwasser",
        "ueberschwemm",
    ),
    "crowd-danger": ("panik", "gedraenge", "massenpanik", "gestuerzt", "erdrueckt"),
    "infrastructure-cyber": ("stromausfall", "gasleck", "hacker", "cyberangriff"),
    "public-health": ("vergiftung", "giftig", "chemikalien"),
}
DEFUSERS: Final = (
    "tor", "stuermer", "abwehr", "spiel", "film", "serie", "folge", "jahrestag", "damals",
    "vor jahren", "witz", "haha", "lol", "uebung", "probe", "bombe!", "krimi",
)  # fmt: skip
_DEFUSE_WORDS: Final = frozenset(d for d in DEFUSERS if " " not in d)


def score(words: list[str]) -> tuple[float, str]:
    """A German post's high-risk score and category (``none`` when no term matched)."""
    hits: dict[str, int] = {}
    for word in words:
        for category, terms in TERMS.items():
            if any(word.startswith(t) for t in terms):
                hits[category] = hits.get(category, 0) + 1
    if not hits:
        return 0.05, "none"
    category = max(hits, key=hits.__getitem__)
    if any(w in _DEFUSE_WORDS for w in words):
        return 0.3, category
    return 0.9, category
