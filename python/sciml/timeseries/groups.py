"""Resolution groups: signals grouped by how often they are observed (Multi-FIT's groups)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from sciml._checks import check_int

SPLIT_RATIO = 3.0
"""Two signals fall in different groups only if their observation rates differ by more than
this factor somewhere between them (hourly vitals vs. six-hourly labs differ by ~6)."""
MAX_GROUPS = 3


def observation_rates(X: np.ndarray) -> np.ndarray:
    """(F,) float64: the fraction of (record, step) entries of X (N, T, F) that are observed."""
    return (~np.isnan(X)).mean(axis=(0, 1))


def infer_groups(X_train: np.ndarray, n_groups: int | None = None) -> list[list[int]]:
    """Groups the signals of X_train (N, T, F) by observation rate, fastest group first.

    The signals are sorted by log observation rate and split at the largest gaps between
    neighbours: with ``n_groups`` at the n_groups − 1 largest gaps, otherwise at every gap
    wider than a factor :data:`SPLIT_RATIO`, keeping the :data:`MAX_GROUPS` − 1 widest.
    The result depends on the rates only (not on the order of the signals), so permuting
    signals inside a group leaves it unchanged; each group is a sorted list of indices.

    Raises:
        ValueError: a signal is never observed, or ``n_groups`` exceeds the number of
            distinct rates.
    """
    rates = observation_rates(X_train)
    if (rates == 0).any():
        raise ValueError(f"signals {np.flatnonzero(rates == 0).tolist()} are never observed")
    f = rates.size
    log_rates = np.log(rates)
    order = np.lexsort((np.arange(f), -log_rates))  # fastest first, ties by index
    gaps = -np.diff(log_rates[order])  # >= 0, gap i lies between order[i] and order[i + 1]
    if n_groups is None:
        candidates = np.flatnonzero(gaps > math.log(SPLIT_RATIO))
        keep = candidates[np.argsort(-gaps[candidates], kind="stable")][: MAX_GROUPS - 1]
    else:
        n_groups = check_int(n_groups, "n_groups", minimum=1)
        distinct = int((gaps > 0).sum()) + 1
        if n_groups > distinct:
            raise ValueError(
                f"n_groups = {n_groups} but the {f} signals have only {distinct} distinct "
                "observation rates"
            )
        keep = np.argsort(-gaps, kind="stable")[: n_groups - 1]
    bounds = [0, *sorted(int(i) + 1 for i in keep), f]
    return [sorted(int(j) for j in order[a:b]) for a, b in itertools.pairwise(bounds)]


def resolution_bin_width(rate: float, n_steps: int, min_bins: int = 4) -> int:
    """Steps per bin for a group observed at ``rate`` (observations per step).

    A group observed once every k steps on average is read on bins of k steps (its own
    resolution, as Multi-FIT's slow network runs on its own coarser time axis), but never
    on fewer than ``min_bins`` bins of the ``n_steps`` steps.
    """
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    cap = max(1, n_steps // min_bins)
    return int(min(max(1, math.floor(1.0 / rate + 1e-9)), cap))
