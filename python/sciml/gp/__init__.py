"""Gaussian-process surrogates on gpytorch: exact multi-output regression, calibration metrics.

:class:`GPRegressor` fits m independent exact GPs (one per output column, batched in one
gpytorch model) by maximum marginal likelihood and predicts means and standard deviations;
MMGP uses it on POD coefficients. :mod:`sciml.gp.metrics` scores such predictions;
:mod:`sciml.gp.reference` is the numpy/scipy twin of the posterior;
:mod:`sciml.gp.optim` the batched BFGS that fits the outputs side by side.
"""

from sciml.gp.exact import GPRegressor, JitterWarning, NotFittedError
from sciml.gp.metrics import coverage, nlpd, q2, rel_rmse
from sciml.gp.reference import (
    gp_posterior_reference,
    kernel_reference,
    log_marginal_likelihood_reference,
)

__all__ = [
    "GPRegressor",
    "JitterWarning",
    "NotFittedError",
    "coverage",
    "gp_posterior_reference",
    "kernel_reference",
    "log_marginal_likelihood_reference",
    "nlpd",
    "q2",
    "rel_rmse",
]
