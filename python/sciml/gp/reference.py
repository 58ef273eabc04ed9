"""numpy/scipy twin of the exact GP: kernels, posterior and log marginal likelihood.

A direct transcription of the closed forms, for one output at a time, in float64. Used by
the tests to check :class:`sciml.gp.GPRegressor` (which runs on gpytorch) and as a small
readable statement of what it computes. With r = |(x - x') / l| (l: ARD lengthscales):

    matern52: s (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r)
    matern32: s (1 + sqrt(3) r) exp(-sqrt(3) r)
    rbf:      s exp(-r^2 / 2)

and for training data (X, y), K = k(X, X) + noise I, constant mean c:

    mean(x*) = c + k(x*, X) K^-1 (y - c)
    var(x*)  = s - k(x*, X) K^-1 k(X, x*)                  (of f, without noise)
    log p(y) = -(y - c)^T K^-1 (y - c) / 2 - log det K / 2 - n log(2 pi) / 2
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.spatial.distance import cdist


def kernel_reference(
    x1: np.ndarray,
    x2: np.ndarray,
    lengthscales: np.ndarray,
    outputscale: float,
    kernel: str = "matern52",
) -> np.ndarray:
    """Kernel matrix (n1, n2) between x1 (n1, p) and x2 (n2, p); lengthscales (p,)."""
    ls = np.asarray(lengthscales, dtype=np.float64)
    r = cdist(np.asarray(x1, dtype=np.float64) / ls, np.asarray(x2, dtype=np.float64) / ls)
    if kernel == "matern52":
        k = (1 + np.sqrt(5) * r + 5 / 3 * r**2) * np.exp(-np.sqrt(5) * r)
    elif kernel == "matern32":
        k = (1 + np.sqrt(3) * r) * np.exp(-np.sqrt(3) * r)
    elif kernel == "rbf":
        k = np.exp(-0.5 * r**2)
    else:
        raise ValueError(f"kernel must be 'matern52', 'matern32' or 'rbf', got {kernel!r}")
    return outputscale * k


def gp_posterior_reference(
    x: np.ndarray,
    y: np.ndarray,
    x_new: np.ndarray,
    *,
    lengthscales: np.ndarray,
    outputscale: float,
    noise: float,
    mean: float,
    kernel: str = "matern52",
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean (n*,) and variance of f (n*,) at x_new (n*, p), given x (n, p), y (n,)."""
    k = kernel_reference(x, x, lengthscales, outputscale, kernel) + noise * np.eye(len(x))
    chol = scipy.linalg.cho_factor(k, lower=True)
    k_star = kernel_reference(x_new, x, lengthscales, outputscale, kernel)
    post_mean = mean + k_star @ scipy.linalg.cho_solve(chol, np.asarray(y) - mean)
    post_var = outputscale - np.einsum("ij,ji->i", k_star, scipy.linalg.cho_solve(chol, k_star.T))
    return post_mean, post_var


def log_marginal_likelihood_reference(
    x: np.ndarray,
    y: np.ndarray,
    *,
    lengthscales: np.ndarray,
    outputscale: float,
    noise: float,
    mean: float,
    kernel: str = "matern52",
) -> float:
    """log p(y | x, hyperparameters) for x (n, p), y (n,)."""
    k = kernel_reference(x, x, lengthscales, outputscale, kernel) + noise * np.eye(len(x))
    chol = scipy.linalg.cho_factor(k, lower=True)
    resid = np.asarray(y) - mean
    log_det = 2 * np.log(np.diag(chol[0])).sum()
    quad = resid @ scipy.linalg.cho_solve(chol, resid)
    return float(-0.5 * (quad + log_det + len(y) * np.log(2 * np.pi)))
