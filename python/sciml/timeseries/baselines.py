"""Baselines that keep the sequence models honest: a prevalence predictor and logistic
regression on last-observation-carried-forward summaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sciml.timeseries.base import TimeSeriesClassifier, _std_from_state, _std_to_state
from sciml.timeseries.dataset import SeriesSet, check_observed_features
from sciml.timeseries.features import (
    Standardization,
    fit_standardization,
    locf,
    observation_mask,
    record_means,
    time_since_observed,
)

SUMMARIES = ("last", "mean", "log_count", "log_since_last")


def summary_features(
    s: SeriesSet, standardization: Standardization, time_unit: float = 1.0
) -> np.ndarray:
    """Four numbers per signal and record, the inputs of :class:`LOCFLogistic`.

    Per signal: the last observed value (carried forward to the last step; the training
    mean, 0 after standardisation, if never observed), the record's mean of the signal
    (likewise), log(1 + number of observations) and log(1 + time since the last
    observation at the last step, in units of ``time_unit``).

    Returns:
        (N, 4 F) float64, the four summaries of signal f at columns 4 f .. 4 f + 3
        (order :data:`SUMMARIES`).
    """
    X = standardization.apply(s.X)
    n, _, f = X.shape
    mask = observation_mask(X)
    last = locf(X, np.zeros(f))[:, -1]
    since = time_since_observed(mask, s.timestamps)[:, -1] / time_unit
    feats = np.stack(
        [last, record_means(X, np.zeros(f)), np.log1p(mask.sum(axis=1)), np.log1p(since)],
        axis=-1,
    )
    return feats.reshape(n, 4 * f)


def fit_logistic(
    Z: np.ndarray, y: np.ndarray, n_classes: int, l2: float, max_iter: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by L-BFGS in float64 (deterministic).

    Minimises mean cross-entropy + l2 / 2 * ||W||² (the bias is not penalised).

    Args:
        Z: (N, D) features (standardised).
        y: (N,) class indices 0..n_classes-1.

    Returns:
        W (D, C) and b (C,).
    """
    z = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float64))
    t = torch.from_numpy(y.astype(np.int64))
    W = torch.zeros(Z.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [W, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12,
        history_size=20, line_search_fn="strong_wolfe",
    )  # fmt: skip

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = torch.nn.functional.cross_entropy(z @ W + b, t) + 0.5 * l2 * (W**2).sum()
        value.backward()
        return value

    opt.step(closure)
    return W.detach().numpy(), b.detach().numpy()


class LOCFLogistic(TimeSeriesClassifier):
    """Logistic regression (L2) on LOCF summaries: per signal the last value, the mean, the
    number of observations and the time since the last one (:func:`summary_features`),
    each standardised over the training set.

    Args:
        n_steps, n_features: T and F of the sets.
        l2: the L2 penalty on the weights (on standardised features).
        max_iter: L-BFGS iterations.
        random_state, device: accepted for a uniform API (the fit is deterministic, on CPU).
    """

    def __init__(
        self,
        *,
        n_steps: int,
        n_features: int,
        l2: float = 1e-3,
        max_iter: int = 500,
        random_state: int = 0,
        device: str = "cpu",
    ) -> None:
        super().__init__(
            n_steps=n_steps, n_features=n_features, random_state=random_state, device=device
        )
        self.l2 = l2
        self.max_iter = max_iter

    def _check_params(self) -> None:
        super()._check_params()
        if not self.l2 >= 0:
            raise ValueError(f"l2 must be >= 0, got {self.l2!r}")

    def _fit(self, train: SeriesSet, y: np.ndarray, val: SeriesSet | None) -> None:
        some = ~train.empty_records
        train, y = train.subset(some), y[some]
        check_observed_features(train.X, "train_set")
        self.standardization_ = fit_standardization(train.X)
        gaps = np.diff(train.timestamps, axis=1)
        self.time_unit_ = float(np.median(gaps)) if gaps.size else 1.0
        Z = summary_features(train, self.standardization_, self.time_unit_)
        self.z_mean_ = Z.mean(axis=0)
        std = Z.std(axis=0)
        self.z_std_ = np.where(std > 1e-12, std, 1.0)
        self.coef_, self.intercept_ = fit_logistic(
            (Z - self.z_mean_) / self.z_std_, y, self.classes_.size, self.l2, self.max_iter
        )

    def _predict_proba(self, s: SeriesSet) -> np.ndarray:
        Z = summary_features(s, self.standardization_, self.time_unit_)
        logits = ((Z - self.z_mean_) / self.z_std_) @ self.coef_ + self.intercept_
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def _fitted_state(self) -> dict[str, Any]:
        arrays = {k: getattr(self, k) for k in ("z_mean_", "z_std_", "coef_", "intercept_")}
        return {
            "standardization": _std_to_state(self.standardization_),
            "time_unit": self.time_unit_,
            **{k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()},
        }

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.standardization_ = _std_from_state(state["standardization"])
        self.time_unit_ = float(state["time_unit"])
        for k in ("z_mean_", "z_std_", "coef_", "intercept_"):
            setattr(self, k, state[k].numpy())


class PriorClassifier(TimeSeriesClassifier):
    """Predicts the training class frequencies for every record (the prevalence baseline)."""

    def _fit(self, train: SeriesSet, y: np.ndarray, val: SeriesSet | None) -> None:
        pass

    def _predict_proba(self, s: SeriesSet) -> np.ndarray:
        return np.repeat(self.prior_[None, :], s.n_records, axis=0)
