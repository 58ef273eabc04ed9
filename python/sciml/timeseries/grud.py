"""GRU-D (Che et al. 2018, "Recurrent Neural Networks for Multivariate Time Series with
Missing Values") as an estimator: the baseline every FIT benchmark reports."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from sciml._checks import check_int
from sciml.timeseries.base import Inputs, NeuralTimeSeriesClassifier
from sciml.timeseries.dataset import SeriesSet
from sciml.timeseries.features import locf, observation_mask, time_since_last_observation
from sciml.timeseries.networks import GRUDNetwork


class GRUD(NeuralTimeSeriesClassifier):
    """GRU-D: a GRU whose missing inputs decay from the last observation toward the
    training mean, and whose hidden state decays with the time since the last observation.

    Values are standardised with training statistics; the empirical mean ``x_mean_`` toward
    which inputs decay is taken over the observations of the training split only (in
    standardised units, so close to 0); Δt is :func:`time_since_last_observation` in units
    of the median step. Classification reads the last hidden state.

    Args:
        hidden_size: GRU width.
        Other arguments: see :class:`~sciml.timeseries.base.NeuralTimeSeriesClassifier`.
    """

    def __init__(
        self, *, n_steps: int, n_features: int, hidden_size: int = 64, **kwargs: Any
    ) -> None:
        super().__init__(n_steps=n_steps, n_features=n_features, **kwargs)
        self.hidden_size = hidden_size

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.hidden_size, "hidden_size", minimum=1)

    def _prepare(self, train: SeriesSet) -> None:
        X = self.standardization_.apply(train.X)
        self.x_mean_ = np.nanmean(X, axis=(0, 1))

    def _encode(self, s: SeriesSet) -> Inputs:
        X = self.standardization_.apply(s.X)
        mask = observation_mask(X)
        delta = time_since_last_observation(mask, s.timestamps) / self.time_unit_
        out = {
            "x": np.nan_to_num(X, nan=0.0),
            "mask": mask,
            "delta": delta,
            "x_last": locf(X, self.x_mean_),
        }
        return {k: torch.from_numpy(v.astype(np.float32)) for k, v in out.items()}

    def _build_network(self, n_classes: int) -> nn.Module:
        return GRUDNetwork(
            torch.from_numpy(self.x_mean_), self.hidden_size, n_classes, dropout=self.dropout
        )

    def _structure_state(self) -> dict[str, Any]:
        return {"x_mean": torch.from_numpy(self.x_mean_)}

    def _load_structure_state(self, state: dict[str, Any]) -> None:
        self.x_mean_ = state["x_mean"].numpy()
