"""The fast classifier's features: words, word pairs and word stems of a post.

Shared by training (``citywatch.simulate.social.train``) and scoring, so both
see exactly the same features. Numbers become ``0`` (a year or a count says
little by itself); words of four letters or more also give their first four
(``s:expl``), so ``explosion``, ``exploded`` and ``explode``, or ``riot`` and
``rioters``, share evidence; words of a hand-written cue lexicon add their
group (``lex:risk``, ``lex:calm``) and their category (``cue:fire``).

>>> features(["the", "striker", "exploded", "in", "1995"])  # doctest: +NORMALIZE_WHITESPACE
['the', 'striker', 'lex:calm', 's:stri', 'exploded', 'lex:risk', 'cue:explosion-terror',
 's:expl', 'in', '0', 'the striker', 'striker exploded', 'exploded in', 'in 0']
"""

from __future__ import annotations

from itertools import pairwise
from typing import Final

_STEM = 4

_RISK: Final = (
    "knife knives stab stabbed stabbing gun guns gunman gunfire shot shots shooting armed robbery "
    "robbed attack attacked attacker assault assaulted beaten bleeding blood injured injuries hurt "
    "wounded victim victims killed dead explosion exploded explosive blast bomb burning flames "
    "blaze ablaze burnt smoke firefighters evacuate evacuated evacuation trapped collapsed "
    "collapse rubble earthquake quake tremor aftershock flood flooding flooded landslide riot "
    "rioters looting clashes crush stampede panic trampled fainted extortion racket gang hostage "
    "poisoning poisoned toxic chemical leak outbreak paramedics sirens help emergency"
)
_CALM: Final = (
    "test testing drill practise practice exercise workshop course class tips advice safety "
    "fair festival exhibition renovation museum anniversary remember documentary film movie "
    "episode series trailer game lol haha match goal goals league striker season fans scored "
    "amazing lovely delicious nice fun love great tasty beautiful recommend"
)
_CATEGORY: Final = {
    "violence": "knife knives stab stabbed stabbing gun guns gunman gunfire shot shots shooting "
    "armed robbery robbed assault assaulted beaten attacker machete fight wounds knifed",
    "explosion-terror": "explosion exploded explosive blast bomb device detonated terror "
    "terrorist suspicious package",
    "fire": "fire fires burning flames blaze ablaze burnt smoke firefighters arson",
    "civil-unrest": "riot rioters looting clashes protesters hooligans tear cannon mob",
    "organised-crime": "gang gangs extortion racket protection drugs dealers mafia torched",
    "natural-hazard": "earthquake quake tremor aftershock flood flooding flooded landslide storm "
    "collapsed rubble",
    "crowd-danger": "crush crushed stampede trampled crowd surge panic fainted exits gates "
    "barriers",
    "infrastructure-cyber": "power blackout outage hacked hack ransomware cyber portal main leak "
    "derailed",
    "public-health": "poisoning poisoned toxic fumes chemical spill outbreak sick vomiting "
    "heatstroke",
}
LEXICON: Final[dict[str, str]] = {w: "lex:risk" for w in _RISK.split()} | {
    w: "lex:calm" for w in _CALM.split()
}
"""Hand-written cue words: each also gives its group's feature, so words the corpus rarely
uses still share the evidence of their group."""
CATEGORY_CUES: Final[dict[str, str]] = {
    w: f"cue:{category}" for category, words in _CATEGORY.items() for w in words.split()
}
"""Hand-written words typical of each high-risk category (``cue:fire``…)."""


def features(words: list[str]) -> list[str]:
    """The distinct features of a post's folded words (see :func:`.text.tokens`).

    Each feature once, however often the post has it: a post is a set of
    features in training, so it must be one in scoring too (two calm words,
    ``fans`` and ``match``, give ``lex:calm`` once).

    >>> features(["fans", "at", "the", "match"]).count("lex:calm")
    1
    """
    norm = ["0" if w.isdigit() else w for w in words]
    out: list[str] = []
    for w in norm:
        out.append(w)
        cue = LEXICON.get(w)
        if cue is not None:
            out.append(cue)
        cue = CATEGORY_CUES.get(w)
        if cue is not None:
            out.append(cue)
        if len(w) >= _STEM:
            out.append("s:" + w[:_STEM])
    out.extend(a + " " + b for a, b in pairwise(norm))
    return list(dict.fromkeys(out))
