"""The fast classifier's features: words, word pairs and word stems of a post.

Shared by training (``citywatch.simulate.social.train``) and scoring, so both
see exactly the same features. Numbers become ``0`` (a year or a count says
little by itself); words of seven letters or more also give their first five
letters (``s:explo``), so ``explosion``, ``exploded`` and ``explosions`` share
evidence; words of a hand-written cue lexicon add their group (``lex:risk``,
``lex:calm``).

>>> features(["the", "striker", "exploded", "in", "1995"])  # doctest: +NORMALIZE_WHITESPACE
['the', 'striker', 'lex:calm', 's:strik', 'exploded', 's:explo', 'in', '0',
 'the striker', 'striker exploded', 'exploded in', 'in 0']
"""

from __future__ import annotations

from itertools import pairwise
from typing import Final

_STEM_FROM = 7
_STEM_LEN = 5

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
LEXICON: Final[dict[str, str]] = {w: "lex:risk" for w in _RISK.split()} | {
    w: "lex:calm" for w in _CALM.split()
}
"""Hand-written cue words: each also gives its group's feature, so words the corpus rarely
uses still share the evidence of their group."""


def features(words: list[str]) -> list[str]:
    """The features of a post's folded words (see :func:`~citywatch.detect.social.text.tokens`)."""
    norm = ["0" if w.isdigit() else w for w in words]
    out: list[str] = []
    for w in norm:
        out.append(w)
        cue = LEXICON.get(w)
        if cue is not None:
            out.append(cue)
        if len(w) >= _STEM_FROM:
            out.append("s:" + w[:_STEM_LEN])
    out.extend(a + " " + b for a, b in pairwise(norm))
    return out
