"""Published relations the quake detector rests on: DYFI's CDI, an intensity prediction
equation, and ground motion to intensity.

- DYFI (Wald et al. 1999; USGS DYFI4 ``dyfi/cdi.py``): per cell, average each
  answer over the reports that give it, then
  ``CWS = 5 felt + motion + reaction + 2 stand + 5 shelf + 2 picture + 3 furniture + 5 damage``
  and ``CDI = 3.3996 ln(CWS) - 4.3781`` (CWS <= 0 gives 1; felt but below 2 gives 2;
  rounded to 0.1).
- Atkinson & Wald (2007), the intensity prediction equation (IPE) for central
  and eastern North America, coefficients as published.
- Worden et al. (2012), MMI from PGA in cm/s² (their bilinear relation).

>>> cdi({"felt": 1}), cdi({"felt": 1, "motion": 2, "reaction": 1})
(2.0, 2.7)
>>> round(ipe(5, 10), 3), round(ipe(6, 50), 3), round(ipe(7, 100), 3)
(5.764, 5.903, 6.617)
>>> round(mmi_from_pga(100), 2), round(mmi_from_pga(300), 2)
(5.8, 7.57)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

G_CM_S2: Final = 980.665
"""One g in cm/s²."""

CWS_WEIGHTS: Final[dict[str, float]] = {
    "felt": 5.0,
    "motion": 1.0,
    "reaction": 1.0,
    "stand": 2.0,
    "shelf": 5.0,
    "picture": 2.0,
    "furniture": 3.0,
    "damage": 5.0,
}
"""DYFI's weights of each answer in the community weighted sum."""

_AW07: Final = (11.72, 2.36, 0.1155, -0.44, -0.002044, 2.31, -0.479)
_AW07_H: Final = 17.0
_AW07_RT: Final = 80.0
_W12_BREAK: Final = 1.57
_W12_LOW: Final = (1.78, 1.55)
_W12_HIGH: Final = (-1.60, 3.70)


def cws(answers: Mapping[str, float]) -> float:
    """The community weighted sum of (averaged) answers; absent answers add nothing."""
    return sum(CWS_WEIGHTS[k] * v for k, v in answers.items() if k in CWS_WEIGHTS)


def cdi(answers: Mapping[str, float]) -> float:
    """DYFI's Community Decimal Intensity of one cell's averaged answers.

    >>> cdi({"felt": 0}), cdi({"felt": 1, "motion": 5, "reaction": 5, "shelf": 3})
    (1.0, 7.2)
    """
    total = cws(answers)
    if total <= 0:
        return 1.0
    value = 3.3996 * math.log(total) - 4.3781
    if answers.get("felt", 0) > 0 and value < 2.0:
        value = 2.0
    return round(max(1.0, value), 1)


def mean_answers(reports: Iterable[Mapping[str, float | None]]) -> dict[str, float]:
    """Each answer averaged over the reports that give it (absent is not zero).

    >>> mean_answers([{"felt": 1, "motion": 2}, {"felt": 0, "motion": None}])
    {'felt': 0.5, 'motion': 2.0}
    """
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for report in reports:
        for key, value in report.items():
            if value is not None and key in CWS_WEIGHTS:
                sums[key] = sums.get(key, 0.0) + value
                counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def ipe(magnitude: float, distance_km: float) -> float:
    """Atkinson & Wald (2007) MMI at ``distance_km`` (hypocentral) from magnitude M."""
    return float(ipe_array(np.array(magnitude, dtype=float), np.array(distance_km, dtype=float)))


def ipe_array(magnitude: Array, distance_km: Array) -> Array:
    """:func:`ipe` over arrays (broadcast)."""
    c1, c2, c3, c4, c5, c6, c7 = _AW07
    r = np.hypot(distance_km, _AW07_H)
    lr = np.log10(r)
    m = magnitude - 6
    result: Array = (
        c1
        + c2 * m
        + c3 * m**2
        + c4 * lr
        + c5 * r
        + c6 * np.maximum(0.0, np.log10(r / _AW07_RT))
        + c7 * magnitude * lr
    )
    return result


def magnitude_from_mmi(mmi: float, distance_km: float) -> float:
    """The magnitude whose IPE intensity at ``distance_km`` is ``mmi``.

    >>> round(magnitude_from_mmi(ipe(5.2, 30.0), 30.0), 3)
    5.2
    """
    return float(magnitude_array(np.array(mmi, dtype=float), np.array(distance_km, dtype=float)))


def magnitude_array(mmi: Array, distance_km: Array) -> Array:
    """:func:`magnitude_from_mmi` over arrays (broadcast), in closed form, clipped to M 1–9.

    The IPE is a quadratic in M at a given distance, ``c3 M² + b M + c``; the
    larger root is the magnitude (intensity grows with M there). An intensity
    below the parabola's vertex gives the vertex.
    """
    c1, c2, c3, c4, c5, c6, c7 = _AW07
    r = np.hypot(distance_km, _AW07_H)
    lr = np.log10(r)
    b = c2 - 12 * c3 + c7 * lr
    c = c1 - 6 * c2 + 36 * c3 + c4 * lr + c5 * r + c6 * np.maximum(0.0, np.log10(r / _AW07_RT))
    disc = np.maximum(b * b - 4 * c3 * (c - mmi), 0.0)
    result: Array = np.clip((-b + np.sqrt(disc)) / (2 * c3), 1.0, 9.0)
    return result


def mmi_from_pga(pga_cm_s2: float) -> float:
    """Worden et al. (2012) MMI from peak ground acceleration in cm/s²."""
    return float(mmi_from_pga_array(np.array(pga_cm_s2, dtype=float)))


def mmi_from_pga_array(pga_cm_s2: Array) -> Array:
    """:func:`mmi_from_pga` over an array."""
    lp = np.log10(np.maximum(pga_cm_s2, 1e-6))
    result: Array = np.where(
        lp <= _W12_BREAK, _W12_LOW[0] + _W12_LOW[1] * lp, _W12_HIGH[0] + _W12_HIGH[1] * lp
    )
    return result


def pga_from_mmi(mmi: float) -> float:
    """The PGA in cm/s² that Worden et al. (2012) map to ``mmi`` (the inverse of the above).

    >>> round(pga_from_mmi(mmi_from_pga(50.0)), 6)
    50.0
    """
    return float(pga_from_mmi_array(np.array(mmi, dtype=float)))


def pga_from_mmi_array(mmi: Array) -> Array:
    """:func:`pga_from_mmi` over an array."""
    knee = _W12_LOW[0] + _W12_LOW[1] * _W12_BREAK
    low = (mmi - _W12_LOW[0]) / _W12_LOW[1]
    high = (mmi - _W12_HIGH[0]) / _W12_HIGH[1]
    result: Array = 10.0 ** np.where(mmi <= knee, low, high)
    return result
