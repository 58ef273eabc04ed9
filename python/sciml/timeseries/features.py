"""Masks, time since the last observation, carried-forward values and standardisation.

All functions take NaN-masked arrays X (N, T, F) and timestamps (N, T) and work per
signal; nothing here is learned except :func:`fit_standardization`, run on the training
split only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def observation_mask(X: np.ndarray) -> np.ndarray:
    """(N, T, F) float64: 1 where X is observed, 0 where it is NaN."""
    return (~np.isnan(X)).astype(np.float64)


def time_since_last_observation(mask: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Δt of GRU-D (Che et al. 2018, eq. 2): the time from the previous observation.

    δ_0 = 0; δ_t = s_t − s_{t−1} + δ_{t−1} if m_{t−1} = 0, else s_t − s_{t−1}. An
    observation at step t itself does not reset δ_t (it resets δ_{t+1}).

    Args:
        mask: (N, T, F) 0/1.
        timestamps: (N, T) strictly increasing.

    Returns:
        (N, T, F) float64, >= 0.
    """
    n, t, f = mask.shape
    delta = np.zeros((n, t, f))
    gaps = np.diff(timestamps, axis=1)  # (N, T-1)
    for step in range(1, t):
        gap = gaps[:, step - 1, None]
        delta[:, step] = gap + (1.0 - mask[:, step - 1]) * delta[:, step - 1]
    return delta


def time_since_observed(mask: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Δt of FIT (the authors' code): time since the signal was last observed, at or before
    t; 0 at an observation, the time since the first step before any.

    Equals (1 − m_t) · δ_t with δ from :func:`time_since_last_observation`.

    Returns:
        (N, T, F) float64, >= 0.
    """
    return (1.0 - mask) * time_since_last_observation(mask, timestamps)


def locf(X: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Last observation carried forward along T; before a signal's first observation, ``fill``.

    Args:
        X: (N, T, F) with NaN = missing.
        fill: (F,) or (N, F) values used before the first observation (the training mean,
            or a record's own mean).

    Returns:
        (N, T, F) float64 without NaN (if fill has none).
    """
    n, t, f = X.shape
    out = np.empty((n, t, f))
    last = np.broadcast_to(np.asarray(fill, dtype=np.float64), (n, f)).copy()
    for step in range(t):
        seen = ~np.isnan(X[:, step])
        last[seen] = X[:, step][seen]
        out[:, step] = last
    return out


def record_means(X: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Each record's mean of each signal over its observed steps, ``fill`` (F,) if none.

    Returns:
        (N, F) float64.
    """
    counts = (~np.isnan(X)).sum(axis=1)
    sums = np.nansum(X, axis=1)
    fill = np.broadcast_to(np.asarray(fill, dtype=np.float64), sums.shape)
    return np.where(counts > 0, sums / np.maximum(counts, 1), fill)


@dataclass(frozen=True)
class Standardization:
    """Per-signal mean and standard deviation over the observed values of a training split.

    Attributes:
        mean: (F,) float64.
        std: (F,) float64, > 0 (1 for a signal with a single distinct value).
    """

    mean: np.ndarray
    std: np.ndarray

    def apply(self, X: np.ndarray) -> np.ndarray:
        """(X − mean) / std, NaN stays NaN; (N, T, F) float64."""
        return (X - self.mean) / self.std


def fit_standardization(X: np.ndarray) -> Standardization:
    """Mean and std of each signal over the observed entries of X (N, T, F), training only.

    Every signal must be observed at least once (see ``check_observed_features``).
    """
    counts = (~np.isnan(X)).sum(axis=(0, 1))
    if (counts == 0).any():
        raise ValueError(f"signals {np.flatnonzero(counts == 0).tolist()} are never observed")
    mean = np.nansum(X, axis=(0, 1)) / counts
    var = np.nansum((X - mean) ** 2, axis=(0, 1)) / counts
    std = np.sqrt(var)
    return Standardization(mean, np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0))


FIT_CHANNELS = ("value", "record_mean", "mask", "log_dt")
"""The per-signal inputs of FIT at each step, in the order of :func:`fit_step_inputs`."""


def fit_step_inputs(
    X: np.ndarray, timestamps: np.ndarray, time_unit: float, bin_width: int = 1
) -> np.ndarray:
    """FIT's per-signal inputs at each (binned) step, as in the authors' code.

    For each signal: the last observed value (before the first observation, the record's
    own mean of that signal, as the authors' code does), the record's mean of the signal
    (the training mean, 0 after standardisation, for a signal the record never has), the
    mask and log(1 + Δt / time_unit) with Δt from :func:`time_since_observed` (the log
    keeps gaps of hours and of days on one scale; the authors feed Δt raw).

    With ``bin_width`` w > 1 the steps are read in bins of w (the last bin may be shorter):
    value and Δt at the bin's last step (so the latest observation inside the bin), the
    mask 1 if the signal is observed anywhere in the bin.

    Args:
        X: (N, T, F) standardised values, NaN = missing.
        timestamps: (N, T).
        time_unit: the time scale of Δt (e.g. the median step of the training data), > 0.
        bin_width: steps per bin, >= 1.

    Returns:
        (N, ceil(T / w), F, 4) float32, channels as in :data:`FIT_CHANNELS`.
    """
    _, t, f = X.shape
    mask = observation_mask(X)
    means = record_means(X, np.zeros(f))
    value = locf(X, means)
    log_dt = np.log1p(time_since_observed(mask, timestamps) / time_unit)
    ends = np.minimum(np.arange(bin_width, t + bin_width, bin_width), t) - 1
    starts = np.arange(0, t, bin_width)
    seen = np.maximum.reduceat(mask, starts, axis=1)
    out = np.stack(
        [value[:, ends], np.broadcast_to(means[:, None], seen.shape), seen, log_dt[:, ends]],
        axis=-1,
    )
    return out.astype(np.float32)
