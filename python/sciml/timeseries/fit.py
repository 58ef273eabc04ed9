"""FIT, FIT-V and Multi-FIT (Singh et al. 2019, arXiv 1905.00125) as estimators.

FIT reads each signal at each step as four numbers (the last observed value, the record's
mean of the signal, whether it was observed, and the time since it was) through a small
input layer per signal, then a bidirectional LSTM with attention over time. FIT-V lets
each signal's input layer also read ``support_features`` other signals (the ones whose
record means correlate most with it in the training set: the authors read such lists from
a file computed beforehand). Multi-FIT groups the signals by how often they are observed,
runs one FIT-V network per group on the group's own time resolution, and merges them
before the head.

Choices the paper and the authors' code leave open, made as they would: the support
signals come from the same resolution group (as in their Multi-FIT code); a group's
representation is zero for a record with no observation in it (as theirs); values are
standardised with training statistics and Δt enters as log(1 + Δt / median step); training
uses cross-entropy (their NLL of log-softmax) with AdamW and mini-batches instead of their
plain SGD on single records, for speed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from sciml._checks import check_int
from sciml.timeseries.base import Inputs, NeuralTimeSeriesClassifier
from sciml.timeseries.dataset import SeriesSet
from sciml.timeseries.features import fit_step_inputs, record_means
from sciml.timeseries.groups import infer_groups, observation_rates, resolution_bin_width
from sciml.timeseries.networks import FITNetwork

__all__ = ["FIT", "FITV", "MultiFIT", "resolution_bin_width", "support_table"]


def support_table(X: np.ndarray, k: int) -> np.ndarray:
    """Each signal's ``k`` support signals: the ones whose per-record means correlate most
    (in absolute value) with its own over the records of X (N, T, F), standardised.

    Returns:
        (F, 1 + min(k, F − 1)) int64, row f = [f, supports by decreasing |correlation|,
        ties by index].
    """
    f = X.shape[2]
    k = min(k, f - 1)
    if k <= 0:
        return np.arange(f)[:, None]
    means = record_means(X, np.zeros(f))  # a signal a record lacks sits at the training mean
    centred = means - means.mean(axis=0)
    scale = np.sqrt((centred**2).sum(axis=0))
    scale[scale == 0] = 1.0
    corr = np.abs((centred.T @ centred) / np.outer(scale, scale))
    np.fill_diagonal(corr, -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(f), (f, f)), -corr), axis=1)
    return np.concatenate([np.arange(f)[:, None], order[:, :k]], axis=1).astype(np.int64)


class _FITFamily(NeuralTimeSeriesClassifier):
    """Shared by FIT, FIT-V and Multi-FIT: groups, their resolutions and support tables."""

    def __init__(
        self,
        *,
        n_steps: int,
        n_features: int,
        feature_dim: int = 16,
        hidden_size: int = 64,
        **kwargs: Any,
    ) -> None:
        super().__init__(n_steps=n_steps, n_features=n_features, **kwargs)
        self.feature_dim = feature_dim
        self.hidden_size = hidden_size

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.feature_dim, "feature_dim", minimum=1)
        check_int(self.hidden_size, "hidden_size", minimum=1)

    def _support_k(self) -> int:
        return 0

    def _train_groups(self, X: np.ndarray) -> list[list[int]]:
        return [list(range(self.n_features))]

    def _bin_width(self, rate: float) -> int:
        return 1

    def _prepare(self, train: SeriesSet) -> None:
        X = self.standardization_.apply(train.X)
        self.groups_ = self._train_groups(X)
        rates = observation_rates(X)
        self.bin_widths_ = [self._bin_width(float(np.median(rates[g]))) for g in self.groups_]
        self.supports_ = [support_table(X[:, :, g], self._support_k()) for g in self.groups_]

    def _encode(self, s: SeriesSet) -> Inputs:
        X = self.standardization_.apply(s.X)
        groups = []
        present = []
        for g, width in zip(self.groups_, self.bin_widths_, strict=True):
            Xg = X[:, :, g]
            groups.append(
                torch.from_numpy(fit_step_inputs(Xg, s.timestamps, self.time_unit_, width))
            )
            present.append(~np.isnan(Xg).all(axis=(1, 2)))
        present_t = torch.from_numpy(np.stack(present, axis=1).astype(np.float32))
        return {"groups": groups, "present": present_t}

    def _build_network(self, n_classes: int) -> nn.Module:
        return FITNetwork(
            [torch.from_numpy(np.asarray(s)) for s in self.supports_],
            n_classes,
            feature_dim=self.feature_dim,
            hidden_size=self.hidden_size,
            dropout=self.dropout,
        )

    def _structure_state(self) -> dict[str, Any]:
        return {
            "groups": [list(map(int, g)) for g in self.groups_],
            "bin_widths": [int(w) for w in self.bin_widths_],
            "supports": [torch.from_numpy(np.asarray(s)) for s in self.supports_],
        }

    def _load_structure_state(self, state: dict[str, Any]) -> None:
        self.groups_ = [list(g) for g in state["groups"]]
        self.bin_widths_ = list(state["bin_widths"])
        self.supports_ = [
            np.asarray(s.numpy() if isinstance(s, Tensor) else s) for s in state["supports"]
        ]


class FIT(_FITFamily):
    """FIT: one network over all signals at the finest resolution, each signal read alone.

    Args:
        n_steps: T of the sets.
        n_features: F of the sets.
        feature_dim: outputs of each signal's input layer (the authors use 16).
        hidden_size: LSTM width per direction.

    The training arguments (epochs, batch_size, lr, weight_decay, patience, val_fraction,
    dropout, progress, random_state, device) are those of
    :class:`~sciml.timeseries.base.NeuralTimeSeriesClassifier`.
    """


class FITV(_FITFamily):
    """FIT-V: FIT whose per-signal input layers also read ``support_features`` other signals.

    Args:
        support_features: how many other signals each signal's input layer reads (the
            authors use 3), chosen by correlation on the training set (``supports_``).

    Other arguments as :class:`FIT`.
    """

    def __init__(
        self, *, n_steps: int, n_features: int, support_features: int = 3, **kwargs: Any
    ) -> None:
        super().__init__(n_steps=n_steps, n_features=n_features, **kwargs)
        self.support_features = support_features

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.support_features, "support_features", minimum=0)

    def _support_k(self) -> int:
        return self.support_features


class MultiFIT(FITV):
    """Multi-FIT: one FIT-V network per resolution group, merged before the head.

    Args:
        groups: the groups, a list of lists of feature indices covering each signal once;
            None: inferred from the training set's observation rates
            (:func:`~sciml.timeseries.groups.infer_groups`), stored as ``groups_``.
        n_groups: with ``groups=None``, how many groups to infer (None: chosen by the
            rates, at most 3).
        min_bins: each group is read on bins of ``resolution_bin_width`` steps (about its
            mean gap between observations), at least this many bins over T.

    Other arguments as :class:`FITV`.
    """

    def __init__(
        self,
        *,
        n_steps: int,
        n_features: int,
        groups: list[list[int]] | None = None,
        n_groups: int | None = None,
        min_bins: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(n_steps=n_steps, n_features=n_features, **kwargs)
        self.groups = groups
        self.n_groups = n_groups
        self.min_bins = min_bins

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.min_bins, "min_bins", minimum=1)
        if self.groups is not None:
            flat = [check_int(i, "a feature index in groups") for g in self.groups for i in g]
            if any(len(g) == 0 for g in self.groups) or sorted(flat) != list(
                range(self.n_features)
            ):
                raise ValueError(
                    f"groups must be non-empty lists covering each of the {self.n_features} "
                    f"feature indices exactly once, got {self.groups}"
                )

    def _train_groups(self, X: np.ndarray) -> list[list[int]]:
        if self.groups is not None:
            return [sorted(int(i) for i in g) for g in self.groups]
        return infer_groups(X, self.n_groups)

    def _bin_width(self, rate: float) -> int:
        return resolution_bin_width(rate, self.n_steps, self.min_bins)
