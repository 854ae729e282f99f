"""Hypocentre, origin time and magnitude from phone triggers, jointly.

Each grid node (epicentre and depth) is scored by two L1 misfits, each in
units of its own scatter, so that a few stray or forged triggers pull
little:

- time: the P-wave arrival residuals (uniform velocity ``vp``). A phone's
  picker triggers after the P wave arrives, never before, by a delay of about
  ``pick_delay_s``: the residuals are that one-sided delay on top of the
  origin time. So the origin is their low quantile (:data:`PICK_QUANTILE`)
  and the misfit the quantile (pinball) loss about it, the asymmetric
  Laplace likelihood whose right tail decays like the delays; far sharper
  than a median, and still robust to a few stray triggers;
- amplitude: every phone's PGA gives an intensity (Worden et al. 2012), and
  the magnitude that makes Atkinson & Wald's (2007) IPE give it at the
  phone's hypocentral distance; their median is the node's magnitude, and the
  misfit is that of log10 PGA against what the IPE and Worden's relation then
  predict, over ``amplitude_scale`` (in ground-motion units, where the
  scatter is about lognormal, so no magnitude is favoured by the IPE's slope).

Arrival times alone pin an event inside the phones' area, but leave distance
and origin time trading off for one outside it (the phones see the wavefront
from one side); how amplitudes fall off across the city resolves that. The
search runs coarse (4 km), then finer (1 km over ±12 km) at a few depths,
then finest (0.25 km over ±2 km);
triggers with a residual over ``outlier_s`` or a magnitude over 1.5 units
off are dropped and the search runs once more. Uncertainties are the spreads
of the grid's posterior (the Laplace likelihood of the misfit); the
magnitude's adds the median's standard error.

>>> rng = np.random.default_rng(1)
>>> lat = 45.80 + rng.uniform(-0.08, 0.08, 60); lon = 16.00 + rng.uniform(-0.1, 0.1, 60)
>>> x, y = project(lat, lon, 45.80, 16.00)
>>> hypo = np.hypot(np.hypot(x, y), 10.0)
>>> from citywatch.detect.quake.relations import ipe_array, pga_from_mmi_array
>>> pga = pga_from_mmi_array(ipe_array(np.full(60, 5.0), hypo)) / 980.665
>>> fit = locate(lat, lon, 100.0 + hypo / 6.0, pga, vp_km_s=6.0)
>>> round(fit.lat, 2), round(fit.lon, 2), round(fit.origin, 1), round(fit.magnitude, 1)
(45.8, 16.0, 100.0, 5.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from citywatch.detect.quake.relations import (
    G_CM_S2,
    Array,
    ipe_array,
    magnitude_array,
    mmi_from_pga_array,
    pga_from_mmi_array,
)

_KM_PER_DEG: Final = 111.195
_DEPTHS: Final = (5.0, 10.0, 15.0, 20.0)
_MAG_OUTLIER: Final = 1.5
PICK_QUANTILE: Final = 0.1
_BACKGROUND: Final = 0.01
"""Triggers a place sends anyway while it waits (everyday noise), in the Poisson mean."""


@dataclass(frozen=True)
class Fit:
    """A hypocentre, origin time and magnitude, with their uncertainties."""

    lat: float
    lon: float
    depth_km: float
    origin: float
    magnitude: float
    error_km: float
    magnitude_error: float
    residual_s: float
    """Mean absolute P-arrival residual of the triggers used, seconds."""
    used: list[int]
    """Indices of the triggers the fit kept (outliers dropped)."""


@dataclass(frozen=True)
class Listening:
    """Where phones listen: places, the app's active phones expected there, triggers from each.

    A place that should have heard the P wave by ``now`` (epoch seconds) but
    sent no trigger argues against the nodes that say it should have: the
    "not yet arrived" evidence early-warning systems use (Rydelek & Pujol
    2004; ElarmS). Expected triggers at a place are its phones × the chance the
    picker has fired by ``now`` (exponential delay) × the chance its PGA passes
    ``threshold_g`` (lognormal about the IPE's); the counts are Poisson.
    """

    lat: Array
    lon: Array
    phones: Array
    triggered: Array
    now: float
    threshold_g: float


@dataclass(frozen=True)
class _Nodes:
    x: Array
    y: Array
    origin: Array
    magnitude: Array
    misfit: Array
    time_misfit: Array


def project(lat: Array, lon: Array, lat0: float, lon0: float) -> tuple[Array, Array]:
    """Local east/north km around (lat0, lon0): equirectangular, fine within ~150 km."""
    x = (lon - lon0) * _KM_PER_DEG * math.cos(math.radians(lat0))
    y = (lat - lat0) * _KM_PER_DEG
    return x, y


def _grid(cx: float, cy: float, half: float, step: float) -> tuple[Array, Array]:
    axis = np.arange(-half, half + step / 2, step)
    gx, gy = np.meshgrid(cx + axis, cy + axis)
    return gx.ravel(), gy.ravel()


class _Problem:
    """The triggers of one location, and the misfit of any node."""

    def __init__(
        self, x: Array, y: Array, t: Array, pga_cm: Array, vp: float, t_scale: float, a_scale: float
    ) -> None:
        self.x, self.y, self.t = x, y, t
        self.mmi = mmi_from_pga_array(pga_cm)
        self.log_pga = np.log10(np.maximum(pga_cm, 1e-6))
        self.vp, self.t_scale, self.a_scale = vp, t_scale, a_scale
        self.listening: tuple[Array, Array, Array, Array, float, float] | None = None

    def listen(self, x: Array, y: Array, listening: Listening, t0: float) -> None:
        """Add the not-yet-arrived evidence of ``listening`` (places at local x, y km)."""
        threshold = math.log10(listening.threshold_g * G_CM_S2)
        self.listening = (
            x,
            y,
            listening.phones,
            listening.triggered,
            listening.now - t0,
            threshold,
        )

    def _silence(
        self, gx: Array, gy: Array, depth: float, origin: Array, magnitude: Array
    ) -> Array:
        """Minus the Poisson log-likelihood of every place's trigger count, per node."""
        assert self.listening is not None
        lx, ly, phones, triggered, now, threshold = self.listening
        hypo = np.hypot(np.hypot(gx[:, None] - lx[None, :], gy[:, None] - ly[None, :]), depth)
        elapsed = now - (origin[:, None] + hypo / self.vp)
        fired = np.where(elapsed > 0, 1 - np.exp(-np.maximum(elapsed, 0) / self.t_scale), 0.0)
        log_pga = np.log10(pga_from_mmi_array(ipe_array(magnitude[:, None], hypo)))
        passes = 1 / (1 + np.exp(-1.702 * (log_pga - threshold) / self.a_scale))
        mu = phones[None, :] * fired * passes + _BACKGROUND
        result: Array = (mu - triggered[None, :] * np.log(mu)).sum(axis=1)
        return result

    def nodes(self, gx: Array, gy: Array, depth: float) -> _Nodes:
        hypo = np.hypot(
            np.hypot(gx[:, None] - self.x[None, :], gy[:, None] - self.y[None, :]), depth
        )
        resid = self.t[None, :] - hypo / self.vp
        k = int(PICK_QUANTILE * (resid.shape[1] - 1))
        origin = np.partition(resid, k, axis=1)[:, k]
        dev = resid - origin[:, None]
        time_misfit = np.where(dev > 0, PICK_QUANTILE * dev, (PICK_QUANTILE - 1) * dev).sum(axis=1)
        magnitude = np.median(magnitude_array(self.mmi[None, :], hypo), axis=1)
        predicted = np.log10(pga_from_mmi_array(ipe_array(magnitude[:, None], hypo)))
        pga_misfit = np.abs(self.log_pga[None, :] - predicted).sum(axis=1)
        misfit = time_misfit / (PICK_QUANTILE * self.t_scale) + pga_misfit / self.a_scale
        if self.listening is not None:
            misfit = misfit + self._silence(gx, gy, depth, origin, magnitude)
        return _Nodes(gx, gy, origin, magnitude, misfit, time_misfit)

    def residuals(self, bx: float, by: float, depth: float, origin: float) -> tuple[Array, Array]:
        """Time residuals (s) and per-phone magnitudes at one node."""
        hypo = np.hypot(np.hypot(self.x - bx, self.y - by), depth)
        return self.t - origin - hypo / self.vp, magnitude_array(self.mmi, hypo)


MODEL_ERROR_KM: Final = 1.0
"""The location error the model adds whatever the phones: a uniform velocity, pick delays."""


def _posterior(nodes: _Nodes, k: int) -> tuple[float, float]:
    """Spread (km) and magnitude spread of a grid's posterior around node ``k``."""
    weight = np.exp(-(nodes.misfit - nodes.misfit[k]))
    weight /= weight.sum()
    km = float((weight * ((nodes.x - nodes.x[k]) ** 2 + (nodes.y - nodes.y[k]) ** 2)).sum())
    mag = float((weight * (nodes.magnitude - nodes.magnitude[k]) ** 2).sum())
    return math.sqrt(km), math.sqrt(mag)


def _solve(problem: _Problem, span_km: float) -> tuple[_Nodes, int, float, float, float]:
    """The best node of a coarse then fine search: nodes, index, depth, km and M spreads."""
    coarse = problem.nodes(*_grid(0.0, 0.0, span_km, 4.0), 10.0)
    k = int(np.argmin(coarse.misfit))
    spread_km, spread_m = _posterior(coarse, k)
    fx, fy = _grid(float(coarse.x[k]), float(coarse.y[k]), 12.0, 1.0)
    best: tuple[_Nodes, int, float] | None = None
    for depth in _DEPTHS:
        fine = problem.nodes(fx, fy, depth)
        j = int(np.argmin(fine.misfit))
        if best is None or fine.misfit[j] < best[0].misfit[best[1]]:
            best = (fine, j, depth)
    assert best is not None
    depth = best[2]
    finest = problem.nodes(
        *_grid(float(best[0].x[best[1]]), float(best[0].y[best[1]]), 2.0, 0.25), depth
    )
    best = (finest, int(np.argmin(finest.misfit)), depth)
    fine_km, fine_m = _posterior(best[0], best[1])
    # the posterior of hundreds of phones is sharper than the model behind it (one crustal
    # velocity, the phones' pick delays): its own error adds, in quadrature
    error_km = math.hypot(max(fine_km, spread_km), MODEL_ERROR_KM)
    return best[0], best[1], best[2], error_km, max(fine_m, spread_m)


def locate(
    lat: Array,
    lon: Array,
    t: Array,
    pga_g: Array,
    *,
    vp_km_s: float,
    span_km: float = 100.0,
    outlier_s: float = 2.0,
    pick_delay_s: float = 0.3,
    amplitude_scale: float = 0.25,
    listening: Listening | None = None,
) -> Fit:
    """The hypocentre, origin time and magnitude that best explain the triggers.

    ``t`` are trigger times (epoch seconds), ``pga_g`` the phones' peaks in g;
    ``listening`` adds where phones have not triggered yet.
    """
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    x, y = project(lat, lon, lat0, lon0)
    t0 = float(np.min(t))
    pga_cm = pga_g * G_CM_S2
    keep = np.arange(len(t))
    full = _Problem(x, y, t - t0, pga_cm, vp_km_s, pick_delay_s, amplitude_scale)
    for _ in range(2):  # once more without the outliers of the first pass
        sub = _Problem(
            x[keep], y[keep], t[keep] - t0, pga_cm[keep], vp_km_s, pick_delay_s, amplitude_scale
        )
        if listening is not None:
            sub.listen(*project(listening.lat, listening.lon, lat0, lon0), listening, t0)
        nodes, j, depth, error_km, spread_m = _solve(sub, span_km)
        bx, by = float(nodes.x[j]), float(nodes.y[j])
        origin, mag = float(nodes.origin[j]), float(nodes.magnitude[j])
        tres, mags = full.residuals(bx, by, depth, origin)
        inliers = (np.abs(tres) <= outlier_s) & (np.abs(mags - mag) <= _MAG_OUTLIER)
        new_keep = np.flatnonzero(inliers)
        if len(new_keep) < 4 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    used = mags[keep]
    stat = 1.2533 * float(np.std(used)) / math.sqrt(len(used)) if len(used) > 1 else 1.0
    return Fit(
        lat=lat0 + by / _KM_PER_DEG,
        lon=lon0 + bx / (_KM_PER_DEG * math.cos(math.radians(lat0))),
        depth_km=depth,
        origin=t0 + origin,
        magnitude=mag,
        error_km=error_km,
        magnitude_error=math.hypot(stat, spread_m),
        residual_s=float(nodes.time_misfit[j]) / len(keep),
        used=[int(i) for i in keep],
    )
