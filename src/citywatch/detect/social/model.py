"""The fast classifier: two linear models over a post's features, weights from a JSON file.

``binary`` scores high-risk against not (logistic, then Platt-calibrated on
held-back training posts, so the score reads as a probability); ``category``
(one linear score per category, highest wins) says which kind of high-risk
event a post is about, and runs only on posts that may be high-risk. The
weights ship in the package (``weights.json``), written deterministically by
``python -m citywatch.simulate.social.train`` from the project's corpus.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from pathlib import Path

import msgspec

from citywatch.detect.social.features import features
from citywatch.errors import ConfigError

WEIGHTS = "weights.json"


class BinaryWeights(msgspec.Struct, frozen=True, kw_only=True):
    bias: float
    weights: dict[str, float]
    platt_a: float = 1.0
    platt_b: float = 0.0


class CategoryWeights(msgspec.Struct, frozen=True, kw_only=True):
    classes: list[str]
    bias: list[float]
    weights: dict[str, list[float]]


class ModelFile(msgspec.Struct, frozen=True, kw_only=True):
    """The weights file: how it was made, and both models."""

    made_by: str
    corpus: dict[str, int]
    binary: BinaryWeights
    category: CategoryWeights


class LinearModel:
    """Scores posts with the shipped (or a given) weights file."""

    def __init__(self, data: ModelFile) -> None:
        self.data = data
        self._w = data.binary.weights
        self._bias = data.binary.bias
        self._a = data.binary.platt_a
        self._b = data.binary.platt_b
        self._classes = data.category.classes
        self._cbias = data.category.bias
        self._cw = data.category.weights

    @classmethod
    def load(cls, path: Path | None = None) -> LinearModel:
        """The model in ``path``, or the one shipped with the package."""
        try:
            raw = (
                path.read_bytes()
                if path is not None
                else resources.files(__package__).joinpath(WEIGHTS).read_bytes()
            )
            return cls(msgspec.json.decode(raw, type=ModelFile))
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConfigError(f"not a classifier weights file: {exc}", where=str(path)) from exc

    @functools.cached_property
    def event_words(self) -> frozenset[str]:
        """Single words the model reads as signs of a high-risk event (a positive weight):
        the only words a summary may quote of posts, which can name people and their homes."""
        return frozenset(f for f, w in self._w.items() if w > 0 and " " not in f)

    def score(self, feats: list[str]) -> float:
        """The calibrated probability that a post with these features is high-risk."""
        w = self._w
        z = self._bias
        for f in feats:
            z += w.get(f, 0.0)
        z = self._a * z + self._b
        if z < -30.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def category(self, feats: list[str]) -> str:
        """The most likely high-risk category of a post with these features."""
        scores = list(self._cbias)
        cw = self._cw
        n = len(scores)
        for f in feats:
            row = cw.get(f)
            if row is not None:
                for i in range(n):
                    scores[i] += row[i]
        return self._classes[max(range(n), key=scores.__getitem__)]

    def classify(self, words: list[str]) -> tuple[float, list[str]]:
        """The score of a post's folded words, and its features (for :meth:`category`)."""
        feats = features(words)
        return self.score(feats), feats
