"""Scoring a PFN against the exact GP posterior on fresh data sets from its prior."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from sciml.pfn.priors import PriorBatch, prior_from_config

EVAL_SEED = 2**40 + 7
"""Evaluation data sets come from this seed's stream, which no training run draws from."""


def exact_gp_predictive(
    batch: PriorBatch, n_context: int, data_set: int
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive mean and std of y (with noise) at the queries of one data set of
    a prior batch (points n_context: are queries), under its true hyperparameters."""
    from sciml.gp import gp_posterior_reference

    d = int(batch.n_features[data_set])
    x = batch.x[data_set, :, :d].double().numpy()
    x = x / (batch.x.shape[-1] / d)  # undo the padding's rescaling: the GP's own inputs
    y = batch.y[data_set].double().numpy()
    hp = batch.hyperparameters
    ls = hp["lengthscale"][data_set, :d].numpy()
    s, noise = float(hp["outputscale"][data_set]), float(hp["noise"][data_set])
    m = len(y) - n_context
    if n_context == 0:
        mean, var = np.zeros(m), np.full(m, s)
    else:
        mean, var = gp_posterior_reference(
            x[:n_context],
            y[:n_context],
            x[n_context:],
            lengthscales=ls,
            outputscale=s,
            noise=noise,
            mean=0.0,
            kernel="rbf",
        )
    return mean, np.sqrt(np.maximum(var, 0) + noise)


def nll_gap_table(
    regressor: Any,
    *,
    context_sizes: Sequence[int] = (0, 5, 10, 20, 50),
    n_datasets: int = 500,
    n_queries: int = 10,
    seed: int = EVAL_SEED,
) -> list[dict[str, float]]:
    """Per context size: the mean per-point NLL of the PFN and of the exact GP with the true
    hyperparameters on fresh data sets from the regressor's prior, their gap, and the
    coverage of the PFN's 90% central interval.

    Args:
        regressor: a :class:`sciml.pfn.PFNRegressor`.
        context_sizes: data-set sizes n (each <= the model's max_context).
        n_datasets: data sets per size; n_queries: held-out points per data set.
    """
    prior = prior_from_config(regressor.prior)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for n in context_sizes:
        batch = prior.sample(n_datasets, n + n_queries, generator)
        rows.append(_score(regressor, batch, n))
    return rows


def _score(regressor: Any, batch: PriorBatch, n: int) -> dict[str, float]:
    gp_nll = []
    for i in range(len(batch.y)):
        mean, std = exact_gp_predictive(batch, n, i)
        yq = batch.y[i, n:].double().numpy()
        gp_nll.append(0.5 * ((yq - mean) / std) ** 2 + np.log(std) + 0.5 * math.log(2 * math.pi))
    x, y = batch.x, batch.y
    dist = regressor.predict_padded(x[:, :n], y[:, :n], x[:, n:])
    yq = y[:, n:].double().numpy()
    pfn_nll = float(-dist.log_prob(yq).mean())
    lo, hi = dist.interval(0.9)
    gp = float(np.mean(gp_nll))
    return {
        "n_context": n,
        "pfn_nll": pfn_nll,
        "gp_nll": gp,
        "gap": pfn_nll - gp,
        "coverage90": float(np.mean((yq >= lo) & (yq <= hi))),
    }


def format_table(rows: list[dict[str, float]]) -> str:
    """The rows of :func:`nll_gap_table` as a plain-text table."""
    lines = [f"{'n':>4} {'PFN NLL':>9} {'GP NLL':>9} {'gap':>8} {'cover90':>8}"]
    for r in rows:
        lines.append(
            f"{r['n_context']:>4} {r['pfn_nll']:>9.4f} {r['gp_nll']:>9.4f} "
            f"{r['gap']:>8.4f} {r['coverage90']:>8.3f}"
        )
    return "\n".join(lines)
