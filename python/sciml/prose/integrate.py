"""Fixed-step fourth-order Runge-Kutta over a batch of ODE trajectories (numpy, float64)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rk4(
    f: Callable[[np.ndarray], np.ndarray],
    y0: np.ndarray,
    t: np.ndarray,
    substeps: int,
    max_abs: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrates ``y' = f(y)`` for a batch of states with classical RK4.

    Args:
        f: vector field, (d, n) float64 -> (d, n) float64 (the batch on the last axis, so
            that each component is a contiguous row).
        y0: initial states at ``t[0]``, (d, n) float64.
        t: output times, (T,) strictly increasing.
        substeps: RK4 steps between two output times (each of length dt / substeps).
        max_abs: a trajectory whose magnitude exceeds this at an output time, or that is not
            finite, is marked as blown up; its state is then held at zero.

    Returns:
        ``(y, ok)``: y (T, d, n) float64 with ``y[0] = y0``, and ok (n,) bool, False for the
        trajectories that blew up (their values after the blow-up are meaningless).
    """
    y = np.array(y0, dtype=np.float64, copy=True)
    t = np.asarray(t, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"y0 must be (d, n), got shape {y.shape}")
    if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be a strictly increasing 1-D array, got shape {t.shape}")
    if not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"substeps must be a positive int, got {substeps!r}")
    out = np.empty((t.size, *y.shape))
    out[0] = y
    ok = np.all(np.isfinite(y), axis=0) & np.all(np.abs(y) <= max_abs, axis=0)
    y[:, ~ok] = 0.0
    with np.errstate(all="ignore"):  # blown-up trajectories overflow before they are caught
        for k in range(t.size - 1):
            h = (t[k + 1] - t[k]) / substeps
            for _ in range(substeps):
                k1 = f(y)
                k2 = f(y + (0.5 * h) * k1)
                k3 = f(y + (0.5 * h) * k2)
                k4 = f(y + h * k3)
                k2 += k3
                k2 *= 2.0
                k1 += k4
                k1 += k2
                k1 *= h / 6.0
                y += k1
            m = np.max(np.abs(y), axis=0)
            bad = ~(m <= max_abs) | np.isinf(m)  # NaN compares False: caught by the first
            if bad.any():
                ok &= ~bad
                y[:, bad] = 0.0
            out[k + 1] = y
    return out, ok
