"""ROC and precision-recall metrics in numpy, with tied scores handled exactly."""

from __future__ import annotations

import numpy as np


def _binary_inputs(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).reshape(-1)
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"y_true {y.shape} and scores {s.shape} must have the same length")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("binary y_true must hold 0 and 1 only")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    if y.min(initial=1) == y.max(initial=0):
        raise ValueError("y_true holds a single class: the metric needs positives and negatives")
    return y.astype(bool), s


def _counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives at each distinct threshold (descending) and the thresholds."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    tp = np.cumsum(y)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return tp.astype(np.float64), fp.astype(np.float64), s[last_of_tie]


def roc_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of a binary problem: (fpr, tpr, thresholds), starting at (0, 0).

    Args:
        y_true: (N,) 0/1.
        score: (N,) larger = more likely positive.

    Returns:
        fpr, tpr: (K + 1,) float64 with K distinct scores; thresholds (K + 1,), the first +inf.
    """
    y, s = _binary_inputs(y_true, score)
    tp, fp, thresholds = _counts(y, s)
    return (
        np.r_[0.0, fp / fp[-1]],
        np.r_[0.0, tp / tp[-1]],
        np.r_[np.inf, thresholds],
    )


def _binary_auroc(y_true: np.ndarray, score: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y_true, score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # the trapezoid rule


def _binary_auprc(y_true: np.ndarray, score: np.ndarray) -> float:
    y, s = _binary_inputs(y_true, score)
    tp, fp, _ = _counts(y, s)
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _one_vs_rest(metric, y_true: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(y_true).reshape(-1)
    s = np.asarray(score, dtype=np.float64)
    if s.ndim == 1:
        return metric(y, s)
    if s.ndim != 2 or s.shape[0] != y.shape[0]:
        raise ValueError(f"scores must be (N,) or (N, C) with N = {y.shape[0]}, got {s.shape}")
    if s.shape[1] == 2:
        return metric(y, s[:, 1])
    if not np.isin(y, np.arange(s.shape[1])).all():
        raise ValueError(f"y_true must hold class indices 0..{s.shape[1] - 1}")
    present = [c for c in range(s.shape[1]) if (y == c).any() and (y != c).any()]
    if not present:
        raise ValueError("y_true holds a single class: the metric needs at least two")
    return float(np.mean([metric((y == c).astype(np.int64), s[:, c]) for c in present]))


def auroc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve; tied scores count one half (the Mann–Whitney statistic).

    Args:
        y_true: (N,) int. Binary 0/1 with ``score`` (N,) or (N, 2) (column 1 used), or
            class indices 0..C-1 with ``score`` (N, C): the macro mean of one-vs-rest AUROCs
            over the classes present.
        score: (N,) or (N, C) float, larger = more likely.
    """
    return _one_vs_rest(_binary_auroc, y_true, score)


def auprc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Average precision, sum over thresholds of (R_k − R_{k−1}) P_k, tied scores one step.

    Same arguments as :func:`auroc` (multi-class: macro one-vs-rest).
    """
    return _one_vs_rest(_binary_auprc, y_true, score)
