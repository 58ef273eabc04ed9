"""Exact Gaussian-process regression with independent outputs batched in one gpytorch model.

For training inputs X (n, p) and targets Y (n, m), each output column j is an independent GP

    y_j(x) = c_j + f_j(x) + eps,   f_j ~ GP(0, s_j k(|x - x'| / l_j)),   eps ~ N(0, sigma2_j)

with ARD lengthscales l_j (p,), a Matern-5/2 (or 3/2, or RBF) correlation k, outputscale s_j
and noise variance sigma2_j. All m GPs live in one gpytorch ``ExactGP`` with
``batch_shape=[m]``, so one batched Cholesky of (m, n, n) serves them all.

Scaling: inputs are mapped to [0, 1] per column with the training min and max (a column
constant in training keeps scale 1), outputs are standardised per column (a constant
column keeps scale 1); every hyperparameter is learned in those units and reported in the
original ones.

Fitting maximises the exact log marginal likelihood by BFGS, from one default start and
``n_restarts`` random starts; since the outputs are independent, each output keeps its
own best start. All linear algebra is Cholesky in ``dtype`` (float64 by default), so
results are exact (to rounding) for n up to a few thousand.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal, TypeAlias

import numpy as np
import torch
from tqdm.auto import tqdm

from sciml._checks import NotFittedError, as_float_array, check_finite
from sciml.gp._gpytorch import gpytorch
from sciml.gp.kernels import ard_correlation
from sciml.gp.likelihood import gaussian_log_likelihood
from sciml.gp.optim import batched_bfgs

Kernel: TypeAlias = Literal["matern52", "matern32", "rbf"]
KERNELS: tuple[str, ...] = ("matern52", "matern32", "rbf")

_JITTER_RETRIES = 3
"""After a failed Cholesky the fit is retried this many times, jitter x10 each time."""
_MIN_RETRY_JITTER = 1e-9
"""Retries start from this jitter when ``jitter=0``."""
_CONSTANT_RTOL = 1e-12
"""A column whose spread is below this times its largest magnitude counts as constant."""
_LENGTHSCALE_BOUNDS = (1e-4, 1e3)
"""Lengthscales in normalised input units (the training inputs span [0, 1])."""
_OUTPUTSCALE_BOUNDS = (0.0, 1e4)
"""Outputscale in standardised output units (the training outputs have variance 1).

Both bounds only stop runaways: a smooth polynomial-like output would otherwise send its
lengthscale and outputscale to infinity together, to ever worse conditioned matrices. The
constraints are gpytorch ``Interval``s (a scaled sigmoid, close to log-scale near the
lower bound), the learned noise a softplus above ``noise_floor``; there are no priors:
the fit is plain maximum likelihood."""
_PREDICT_CHUNK_BYTES = 2**28
"""Predictions go by chunks of test points holding at most this many bytes of (m, n, n*)."""


class JitterWarning(RuntimeWarning):
    """A Cholesky factorisation failed and the fit succeeded only with a larger jitter."""


class _CholeskyError(RuntimeError):
    """The training covariance of some outputs is not numerically positive definite."""


class _BatchExactGP(gpytorch.models.ExactGP):
    """m independent exact GPs (constant mean, scaled ARD kernel) batched as batch_shape=[m].

    train_x (n, p) is shared; train_y (m, n) holds one output per batch member. ``jitter``
    is added to the diagonal of the training covariance (it acts as extra noise).
    """

    def __init__(
        self,
        train_x: torch.Tensor,
        train_y: torch.Tensor,
        likelihood: gpytorch.likelihoods.Likelihood,
        kernel: str,
        jitter: float,
    ) -> None:
        super().__init__(train_x, train_y, likelihood)
        batch = torch.Size([train_y.shape[0]])
        p = train_x.shape[-1]
        Interval = gpytorch.constraints.Interval
        kw: dict[str, Any] = {
            "ard_num_dims": p,
            "batch_shape": batch,
            "lengthscale_constraint": Interval(*_LENGTHSCALE_BOUNDS),
        }
        if kernel == "rbf":
            base = gpytorch.kernels.RBFKernel(**kw)
        else:
            nu = {"matern52": 2.5, "matern32": 1.5}[kernel]
            base = gpytorch.kernels.MaternKernel(nu=nu, **kw)
        self.mean_module = gpytorch.means.ConstantMean(batch_shape=batch)
        self.covar_module = gpytorch.kernels.ScaleKernel(
            base, batch_shape=batch, outputscale_constraint=Interval(*_OUTPUTSCALE_BOUNDS)
        )
        self.jitter = jitter

    def forward(self, x: torch.Tensor) -> gpytorch.distributions.MultivariateNormal:
        covar = self.covar_module(x)
        if self.jitter > 0:
            covar = covar.add_jitter(self.jitter)
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), covar)


def _grad(q: torch.Tensor) -> torch.Tensor:
    return q.grad if q.grad is not None else torch.zeros_like(q)


def _scale(a: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """``spread`` with the (numerically) constant columns of ``a`` set to 1."""
    constant = spread <= _CONSTANT_RTOL * np.abs(a).max(axis=0)
    return np.where(constant, 1.0, spread)


class GPRegressor:
    """Exact GP regression of one or several independent outputs, with predictive std.

    Args:
        kernel: ``"matern52"`` (Matern nu=5/2), ``"matern32"`` or ``"rbf"``; always with
            one lengthscale per input column (ARD) and an outputscale.
        n_restarts: random starts on top of the default one. Each start draws its
            lengthscales (normalised units, shared by all outputs) log-uniformly in
            sqrt(p) * [0.05, 2]; the default start has sqrt(p) / 2.
        max_iter: BFGS iterations per start (each output stops on its own when converged).
        noise: ``"learn"``: a Gaussian noise variance per output, learned, with lower
            bound ``noise_floor``; or a number >= 0: that noise variance, fixed. In
            standardised output units (a fraction of each output's variance) either way.
        noise_floor: lower bound of the learned noise variance (standardised units).
        jitter: added to the diagonal of the training covariance (standardised units), on
            top of the noise. If a Cholesky factorisation fails, the fit is redone with
            10x the jitter, up to 3 times, with a :class:`JitterWarning` naming the
            jitter used; then a ``RuntimeError``.
        seed: seed of the random starts; the fit is deterministic given it.
        dtype: ``torch.float64`` (default) or ``torch.float32``, for all computations.
        device: where the model lives and computes (``"cpu"``, ``"cuda"``...).
        progress: show a progress bar over the starts.

    Learned state (after :meth:`fit`), in the original units of X and Y, m outputs:
        ``lengthscales_`` (m, p), ``outputscale_`` (m,) (variance), ``noise_`` (m,)
        (variance, without the jitter), ``mean_`` (m,) (the constant mean),
        ``log_marginal_likelihood_`` (m,) (of the original Y under these hyperparameters,
        with the jitter as extra noise), ``jitter_`` (the jitter finally used, standardised
        units: ``sigma2_j + jitter_ * y_scale_j**2`` is the full diagonal), ``x_min_`` (p,),
        ``x_scale_`` (p,), ``y_mean_`` (m,), ``y_scale_`` (m,), ``n_features_in_``,
        ``n_outputs_``, ``model_`` (the trained gpytorch module, normalised units, with its
        likelihood at ``model_.likelihood``).

    Example:
        >>> gp = GPRegressor().fit(X, Y)          # X (n, p), Y (n, m)
        >>> mean, std = gp.predict(X_new, return_std=True)   # (n*, m) each
    """

    def __init__(
        self,
        kernel: Kernel = "matern52",
        *,
        n_restarts: int = 3,
        max_iter: int = 200,
        noise: Literal["learn"] | float = "learn",
        noise_floor: float = 1e-8,
        jitter: float = 1e-8,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        progress: bool = False,
    ) -> None:
        self.kernel = kernel
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.noise = noise
        self.noise_floor = noise_floor
        self.jitter = jitter
        self.seed = seed
        self.dtype = dtype
        self.device = device
        self.progress = progress

    def __repr__(self) -> str:
        return (
            f"GPRegressor(kernel={self.kernel!r}, n_restarts={self.n_restarts}, "
            f"max_iter={self.max_iter}, noise={self.noise!r}, jitter={self.jitter:g})"
        )

    # -- validation -----------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        for name in ("n_restarts", "max_iter", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if self.n_restarts < 0:
            raise ValueError(f"n_restarts must be >= 0, got {self.n_restarts}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if isinstance(self.noise, str):
            if self.noise != "learn":
                raise ValueError(f"noise must be 'learn' or a number >= 0, got {self.noise!r}")
        elif not (isinstance(self.noise, (int, float)) and 0 <= self.noise < math.inf):
            raise ValueError(f"noise must be 'learn' or a number >= 0, got {self.noise!r}")
        if not (0 < self.noise_floor < 1):
            raise ValueError(f"noise_floor must be in (0, 1), got {self.noise_floor!r}")
        if not (0 <= self.jitter < math.inf):
            raise ValueError(f"jitter must be a number >= 0, got {self.jitter!r}")
        if self.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {self.dtype}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "this GPRegressor is not fitted yet: call fit(X, Y) before predict"
            )

    # -- fitting --------------------------------------------------------------------------

    def fit(self, X: Any, Y: Any) -> GPRegressor:
        """Learn the hyperparameters of each output by maximum marginal likelihood.

        Args:
            X: (n, p) inputs, real numbers (numpy array, torch tensor or array-like).
            Y: (n,) one output or (n, m) m independent outputs.

        Returns:
            self. :meth:`predict` returns Y's rank: (n*,) for Y (n,), (n*, m) for (n, m).
        """
        self._check_params()
        x = as_float_array(X, "X")
        y = as_float_array(Y, "Y")
        if x.ndim != 2:
            raise ValueError(f"X must have shape (n, p), got {x.shape}")
        if y.ndim not in (1, 2):
            raise ValueError(f"Y must have shape (n,) or (n, m), got {y.shape}")
        if y.shape[0] != x.shape[0]:
            raise ValueError(
                f"X {x.shape} and Y {y.shape} must have the same number of rows (samples)"
            )
        if x.shape[0] < 2:
            raise ValueError(f"a GP needs n >= 2 samples, got X {x.shape}")
        if x.shape[1] < 1 or (y.ndim == 2 and y.shape[1] < 1):
            raise ValueError(f"X {x.shape} and Y {y.shape} need at least one column each")
        check_finite(x, "X")
        check_finite(y, "Y")
        y2 = y.reshape(len(y), -1)
        x_min = x.min(axis=0)
        x_scale = _scale(x, x.max(axis=0) - x_min)
        y_mean = y2.mean(axis=0)
        y_scale = _scale(y2, y2.std(axis=0))
        kw: dict[str, Any] = {"dtype": self.dtype, "device": self.device}
        xt = torch.as_tensor((x - x_min) / x_scale, **kw)
        yt = torch.as_tensor(((y2 - y_mean) / y_scale).T.copy(), **kw)

        jitter = float(self.jitter)
        failures: list[str] = []
        for attempt in range(_JITTER_RETRIES + 1):
            try:
                model, log_ml, posterior = self._fit_once(xt, yt, jitter)
                break
            except _CholeskyError as e:
                failures.append(f"jitter {jitter:.1e}: {str(e).splitlines()[0]}")
                if attempt == _JITTER_RETRIES:
                    raise RuntimeError(
                        f"GPRegressor.fit on X {x.shape}, Y {y.shape}: the covariance "
                        "matrix stayed numerically singular (Cholesky failed) with every "
                        f"jitter tried ({'; '.join(failures)}). Duplicated inputs with "
                        "noise=0, or outputs that are not smooth functions of X, cause "
                        "this: use noise='learn' or a larger jitter."
                    ) from e
                jitter = max(jitter, _MIN_RETRY_JITTER) * 10
        if failures:
            warnings.warn(
                f"GPRegressor.fit: Cholesky failed ({'; '.join(failures)}); fitted with "
                f"jitter {jitter:.1e} added to the covariance diagonal (standardised units)",
                JitterWarning,
                stacklevel=2,
            )

        self.x_min_, self.x_scale_, self.y_mean_, self.y_scale_ = x_min, x_scale, y_mean, y_scale
        self.n_features_in_, self.n_outputs_ = x.shape[1], y2.shape[1]
        self._y_1d = y.ndim == 1
        self.model_ = model
        self.jitter_ = jitter
        self._set_readable_state(log_ml)
        self._posterior_cache = posterior
        return self

    def _make_model(self, xt: torch.Tensor, yt: torch.Tensor, jitter: float) -> _BatchExactGP:
        m = yt.shape[0]
        if self.noise == "learn":
            likelihood = gpytorch.likelihoods.GaussianLikelihood(
                batch_shape=torch.Size([m]),
                noise_constraint=gpytorch.constraints.GreaterThan(self.noise_floor),
            )
        else:
            # gpytorch would round a fixed noise below 1e-6 (1e-4 in float32) up, with a
            # warning; here the noise is what the user set, and the jitter guards Cholesky.
            with gpytorch.settings.min_fixed_noise(
                float_value=0.0, double_value=0.0, half_value=0.0
            ):
                likelihood = gpytorch.likelihoods.FixedNoiseGaussianLikelihood(
                    noise=torch.full_like(yt, float(self.noise)), batch_shape=torch.Size([m])
                )
        model = _BatchExactGP(xt, yt, likelihood, self.kernel, jitter)
        return model.to(dtype=xt.dtype, device=xt.device)

    def _starts(self, p: int) -> list[np.ndarray]:
        """Initial lengthscales (normalised units): the default start, then random ones."""
        rng = np.random.default_rng(self.seed)
        random = np.exp(rng.uniform(np.log(0.05), np.log(2.0), size=(self.n_restarts, p)))
        return [np.full(p, 0.5), *random]

    def _fit_once(
        self, xt: torch.Tensor, yt: torch.Tensor, jitter: float
    ) -> tuple[_BatchExactGP, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """All starts at one jitter: the model with each output's best start, its log
        marginal likelihood (m,) in standardised units and its :meth:`_posterior`."""
        model = self._make_model(xt, yt, jitter)
        p = xt.shape[1]
        results: list[tuple[torch.Tensor, dict[str, torch.Tensor]]] = []
        starts = self._starts(p)
        for start in tqdm(starts, desc="GP starts", disable=not self.progress, leave=False):
            self._initialise(model, np.sqrt(p) * start)
            self._optimise(model)
            with torch.no_grad():
                log_ml = self._log_ml(model, strict=False)
            params = {k: v.detach().clone() for k, v in model.named_parameters()}
            results.append((log_ml, params))

        log_mls = torch.stack([r[0] for r in results])  # (starts, m)
        log_mls = torch.nan_to_num(log_mls, nan=-math.inf)
        best = log_mls.argmax(dim=0)  # (m,)
        if not torch.isfinite(log_mls.max(dim=0).values).all():
            raise _CholeskyError("the marginal likelihood is not finite for any start")
        outputs = torch.arange(yt.shape[0], device=best.device)
        with torch.no_grad():
            for name, param in model.named_parameters():
                stacked = torch.stack([r[1][name] for r in results])  # (starts, m, ...)
                param.copy_(stacked[best, outputs])
        posterior = self._posterior(model)  # fails here, not in predict, if K is singular
        return model, log_mls[best, outputs], posterior

    def _initialise(self, model: _BatchExactGP, lengthscale: np.ndarray) -> None:
        """Every output starts from these lengthscales (p,), unit outputscale, zero mean,
        and (learned) noise variance 1e-2."""
        kw = {"dtype": model.train_targets.dtype, "device": model.train_targets.device}
        m = model.train_targets.shape[0]
        model.covar_module.base_kernel.lengthscale = torch.as_tensor(lengthscale, **kw).expand(
            m, 1, -1
        )
        model.covar_module.outputscale = torch.ones(m, **kw)
        model.mean_module.constant = torch.zeros(m, **kw)
        if self.noise == "learn":
            model.likelihood.noise = torch.full((m, 1), max(1e-2, 10 * self.noise_floor), **kw)

    def _optimise(self, model: _BatchExactGP) -> None:
        """Maximise each output's log marginal likelihood, by batched BFGS.

        Quasi-Newton, not Adam: an exact GP has few hyperparameters (p + 3 per output) and
        a smooth, deterministic full-batch objective, on which BFGS converges in tens of
        iterations to a tight optimum, where Adam needs hundreds of steps, a learning rate,
        and stops short of it. Not one L-BFGS on the sum over outputs either: a shared line
        search and history couple the outputs, and one slow output (a lengthscale running
        to its bound) holds back all the others. :func:`sciml.gp.optim.batched_bfgs` gives
        each output its own steps while one batched Cholesky serves them all per
        evaluation, so an output's result is the one fitting it alone would give.
        """
        model.train()
        params = [q for q in model.parameters() if q.requires_grad]
        m, n = model.train_targets.shape
        sizes = [q[0].numel() for q in params]  # every parameter has the output batch first

        def objective(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            with torch.no_grad():
                for q, chunk in zip(params, x.split(sizes, dim=1), strict=True):
                    q.copy_(chunk.reshape(q.shape))
            for q in params:
                q.grad = None
            # Only the outputs still moving pay for a Cholesky: (rows,), +inf where singular.
            loss = -self._log_ml(model, strict=False, rows=rows) / n
            torch.where(torch.isfinite(loss), loss, 0.0).sum().backward()
            grad = torch.cat([_grad(q).reshape(m, -1) for q in params], dim=1)
            f = torch.full((m,), math.inf, dtype=x.dtype, device=x.device)
            f[rows] = loss.detach()
            return f, grad

        x0 = torch.cat([q.detach().reshape(m, -1) for q in params], dim=1)
        result = batched_bfgs(objective, x0, max_iter=self.max_iter)
        with torch.no_grad():  # leave the model at the optimum
            for q, chunk in zip(params, result.x.split(sizes, dim=1), strict=True):
                q.copy_(chunk.reshape(q.shape))

    def _train_covariance(
        self, model: _BatchExactGP, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """K + (noise + jitter) I (m, n, n) at the training inputs, standardised units, or
        only for the outputs marked in the bool mask ``rows`` (m,); from the model's
        parameters by :func:`sciml.gp.kernels.ard_correlation` (the numbers of
        ``model.covar_module``, at a fraction of its cost in the fit's loop)."""
        scale = model.covar_module
        lengthscale, outputscale = scale.base_kernel.lengthscale, scale.outputscale
        noise = model.likelihood.noise
        if rows is not None:
            lengthscale, outputscale, noise = lengthscale[rows], outputscale[rows], noise[rows]
        corr = ard_correlation(model.train_inputs[0], lengthscale, self.kernel)
        k = outputscale[:, None, None] * corr
        diag = (noise + model.jitter).expand(k.shape[:-1])
        return k + torch.diag_embed(diag)

    @staticmethod
    def _cholesky(k: torch.Tensor) -> torch.Tensor:
        chol, info = torch.linalg.cholesky_ex(k)
        if info.any():
            bad = torch.nonzero(info).flatten().tolist()
            raise _CholeskyError(
                f"the training covariance of output(s) {bad} is not positive definite"
            )
        return chol

    def _log_ml(
        self, model: _BatchExactGP, strict: bool = True, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Log marginal likelihood (m,) of the standardised training outputs, by Cholesky:
        -r^T K^-1 r / 2 - log det K / 2 - n log(2 pi) / 2, r = y - c; only for the outputs
        marked in the bool mask ``rows`` (m,) when it is given.

        Where K is not numerically positive definite: ``_CholeskyError`` if ``strict``,
        else -inf for those outputs (with zero gradient; the others are unaffected)."""
        k = self._train_covariance(model, rows)
        resid = model.train_targets - model.mean_module.constant.unsqueeze(-1)
        if rows is not None:
            resid = resid[rows]
        log_ml = gaussian_log_likelihood(k, resid)
        if strict and not torch.isfinite(log_ml).all():
            self._cholesky(k)  # raises, naming the outputs
        return log_ml

    # -- posterior ------------------------------------------------------------------------

    @staticmethod
    def _noise(model: _BatchExactGP) -> torch.Tensor:
        """Noise variance (m, 1) or (m, n), without the jitter (standardised units)."""
        return model.likelihood.noise.detach()

    def _posterior(self, model: _BatchExactGP) -> tuple[torch.Tensor, torch.Tensor]:
        """Cholesky factor L (m, n, n) of K + (noise + jitter) I and alpha (m, n) =
        (K + (noise + jitter) I)^-1 (y - c), in standardised units."""
        with torch.no_grad():
            chol = self._cholesky(self._train_covariance(model))
            resid = model.train_targets - model.mean_module.constant.unsqueeze(-1)
            alpha = torch.cholesky_solve(resid.unsqueeze(-1), chol).squeeze(-1)
        return chol, alpha

    def _cached_posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        cache = getattr(self, "_posterior_cache", None)
        if cache is None:
            cache = self._posterior_cache = self._posterior(self.model_)
        return cache

    def __getstate__(self) -> dict[str, Any]:
        # The (m, n, n) factor is recomputed (identically) after loading, not stored.
        state = self.__dict__.copy()
        state.pop("_posterior_cache", None)
        return state

    def _set_readable_state(self, log_ml: torch.Tensor) -> None:
        model = self.model_
        ys2 = self.y_scale_**2
        ls = model.covar_module.base_kernel.lengthscale.detach().cpu().double().numpy()[:, 0]
        self.lengthscales_ = ls * self.x_scale_
        outputscale = model.covar_module.outputscale.detach().cpu().double().numpy()
        self.outputscale_ = outputscale * ys2
        noise = self._noise(model).cpu().double().numpy()
        self.noise_ = noise[:, 0] * ys2
        constant = model.mean_module.constant.detach().cpu().double().numpy()
        self.mean_ = self.y_mean_ + self.y_scale_ * constant
        n = model.train_targets.shape[-1]
        log_ml_standardised = log_ml.detach().cpu().double().numpy()
        self.log_marginal_likelihood_ = log_ml_standardised - n * np.log(self.y_scale_)

    # -- prediction -----------------------------------------------------------------------

    def predict(
        self, X: Any, return_std: bool = False, include_noise: bool = True
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Posterior mean (and standard deviation) at new inputs.

        Args:
            X: (n*, p) inputs, p as in training.
            return_std: also return the predictive standard deviation.
            include_noise: the std of a new noisy observation y (noise and jitter
                included, the default: what a test set measures), else of f alone.

        Returns:
            mean, float64 numpy, (n*, m) or (n*,) as the training Y; with
            ``return_std``, (mean, std) of the same shape.
        """
        self._check_fitted()
        x = as_float_array(X, "X")
        p = self.n_features_in_
        if x.ndim != 2 or x.shape[1] != p:
            raise ValueError(f"X must have shape (n*, {p}) as in fit, got {x.shape}")
        check_finite(x, "X")
        model = self.model_
        train_x = model.train_inputs[0]
        xt = torch.as_tensor((x - self.x_min_) / self.x_scale_).to(train_x)
        chol, alpha = self._cached_posterior()
        m, n = alpha.shape
        chunk = max(1, _PREDICT_CHUNK_BYTES // (8 * m * n))
        means, variances = [], []
        with torch.no_grad():
            constant = model.mean_module.constant.unsqueeze(-1)
            for xs in torch.split(xt, chunk):
                k_star = model.covar_module(xs, train_x).to_dense()  # (m, n*, n)
                means.append(constant + (k_star @ alpha.unsqueeze(-1)).squeeze(-1))
                if return_std:
                    v = torch.linalg.solve_triangular(chol, k_star.mT, upper=False)
                    prior = model.covar_module(xs, diag=True)  # (m, n*)
                    variances.append((prior - v.square().sum(-2)).clamp_min(0))
        mean = self._to_output(torch.cat(means, -1) if means else xt.new_zeros(m, 0), shift=True)
        if not return_std:
            return mean
        var = torch.cat(variances, -1) if variances else xt.new_zeros(m, 0)
        if include_noise:
            noise = self._noise(model)
            if noise.shape[-1] != 1:  # fixed noise: the same value at every point
                noise = noise[:, :1]
            var = var + noise + model.jitter
        return mean, self._to_output(var.sqrt(), shift=False)

    def _to_output(self, z: torch.Tensor, shift: bool) -> np.ndarray:
        """(m, n*) standardised values -> original units, (n*, m) or (n*,)."""
        out = z.detach().cpu().double().numpy().T * self.y_scale_
        if shift:
            out = out + self.y_mean_
        return out[:, 0] if self._y_1d else out
