"""Text normalisation shared by the classifier, the lexicons and the geoparser.

One fold for everything: lower case, diacritics dropped, a few letters that
do not decompose spelled out (``đ`` → ``dj``, ``ß`` → ``ss``), so ``Sveti
Đuro``, ``sveti djuro`` and ``SVETI DJURO`` are the same words.

>>> tokens("Fire near Sveti Đuro! Straße #Brückenfeld")
['fire', 'near', 'sveti', 'djuro', 'strasse', 'brueckenfeld']
"""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = str.maketrans(
    {
        "đ": "dj",
        "ð": "dj",
        "ø": "o",
        "ł": "l",
        "ı": "i",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "’": "'",
    }
)
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """``text`` lower-cased, in plain ASCII letters (German umlauts as ``ae``/``oe``/``ue``)."""
    low = text.lower().translate(_SPECIAL)
    if low.isascii():
        return low
    decomposed = unicodedata.normalize("NFKD", low)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """The folded words of ``text``: letters and digits (punctuation and ``#`` dropped)."""
    return _WORD.findall(fold(text))
