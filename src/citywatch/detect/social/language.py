"""Language of every post (py3langid, a naive Bayes model over byte n-grams, offline).

A post too short to tell (fewer than three letters) is ``und``. The model
is the one py3langid ships; its own identifier instance, so setting
languages elsewhere cannot change ours.

>>> detect("Großbrand in der Altstadt, dichter Rauch über dem Viertel")
'de'
"""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE)


def detect(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, ``und`` when there is too little text."""
    if sum(c.isalpha() for c in text[:64]) < 3:
        return "und"
    lang, _ = _identifier().classify(text)
    return str(lang)
