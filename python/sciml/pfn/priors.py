"""Data priors for prior-data fitted networks: batches of synthetic regression data sets.

A PFN (Müller et al., ICLR 2022) is trained on data sets drawn from a prior; any object with
``max_features``, ``sample(batch, n_points, generator)`` and ``config()`` (:class:`Prior`)
can serve. Two GP priors are built in: :class:`GPPrior` (fixed hyperparameters) and
:class:`GPHyperPrior` (hyperparameters and feature count drawn per data set). Data sets with
fewer features than ``max_features`` go through :func:`pad_features` (TabPFN's padding), the
same function that prepares a user's real data at inference time.

Convention: the returned ``hyperparameters`` are in the units of the GP's own inputs, the
unpadded x in [0, 1]^d, i.e. ``b.x / (max_features / d)``; so with that x,
``rbf_covariance(x, hp["lengthscale"], hp["outputscale"]) + hp["noise"] I`` is the covariance
of ``b.y`` (up to the jitter below).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

JITTER = 1e-8
"""Added to the diagonal (times the outputscale) before the Cholesky factorisation, on top of
the noise variance, so a noise of 0 still factorises; y's true covariance is off by it."""


@dataclass(frozen=True)
class PriorBatch:
    """B data sets of N points: x (B, N, F) float32 (features past a set's own count are zero),
    y (B, N) float32, n_features (B,) int64 in 1..F, and the hyperparameters that drew them
    (float64; the GP priors give "lengthscale" (B, F), in units of the unpadded x, nan where
    unused, "outputscale" (B,) and "noise" (B,), a variance)."""

    x: torch.Tensor
    y: torch.Tensor
    n_features: torch.Tensor
    hyperparameters: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        b, n = self.x.shape[:2] if self.x.dim() == 3 else (-1, -1)
        if self.x.dim() != 3 or self.y.shape != (b, n) or self.n_features.shape != (b,):
            raise ValueError(
                f"PriorBatch wants x (B, N, F), y (B, N), n_features (B,); got x "
                f"{tuple(self.x.shape)}, y {tuple(self.y.shape)}, "
                f"n_features {tuple(self.n_features.shape)}"
            )


@runtime_checkable
class Prior(Protocol):
    """What a prior over data sets (a GP, a simulator, a PDE family) provides to PFN training."""

    max_features: int

    def sample(self, batch: int, n_points: int, generator: torch.Generator) -> PriorBatch:
        """``batch`` data sets of ``n_points`` points each, all randomness from ``generator``."""
        ...

    def config(self) -> dict[str, Any]:
        """A JSON-serialisable description of the prior."""
        ...


def pad_features(
    x: torch.Tensor, n_features: torch.Tensor | int, max_features: int
) -> torch.Tensor:
    """TabPFN's feature padding: x (B, N, D) with D <= max_features, where data set b uses its
    first n_features[b] = d columns (an int applies to all), becomes (B, N, max_features):
    used columns times max_features / d, all others exactly zero. The mean over all
    max_features columns then equals the mean over the d used ones, whatever d is. The
    priors and, with B = 1, a user's real data at inference go through this one function."""
    if x.dim() != 3 or not x.is_floating_point():
        raise ValueError(f"x must be a float (B, N, D) tensor, got {x.dtype} {tuple(x.shape)}")
    b, _, d_in = x.shape
    if d_in > max_features:
        raise ValueError(f"x has {d_in} features, more than max_features={max_features}")
    nf = torch.as_tensor(n_features, dtype=torch.int64, device=x.device).reshape(-1)
    nf = nf.expand(b) if nf.numel() == 1 else nf
    if nf.shape != (b,) or bool(((nf < 1) | (nf > d_in)).any()):
        raise ValueError(f"n_features must be (B,)={b} counts in 1..{d_in}, got {nf.tolist()}")
    out = torch.nn.functional.pad(x, (0, max_features - d_in))
    used = torch.arange(max_features, device=x.device) < nf[:, None]  # (B, F)
    scale = (max_features / nf.to(x.dtype))[:, None, None]
    return torch.where(used[:, None, :], out * scale, x.new_zeros(()))


def rbf_covariance(
    x: torch.Tensor, lengthscale: torch.Tensor, outputscale: torch.Tensor
) -> torch.Tensor:
    """The (B, N, N) float64 RBF covariances s_b exp(-sum_f (x_if - x_jf)^2 / (2 l_bf^2)) of
    x (B, N, F) under ARD lengthscales l (B, F) and outputscales s (B,); a nan or inf
    lengthscale marks an unused feature, which contributes nothing. Computed in place, so
    not for autograd."""
    ls = lengthscale.to(device=x.device, dtype=torch.float64)
    if x.dim() != 3 or ls.shape != (x.shape[0], x.shape[2]) or outputscale.shape != x.shape[:1]:
        raise ValueError(
            f"want x (B, N, F), lengthscale (B, F), outputscale (B,); got {tuple(x.shape)}, "
            f"{tuple(lengthscale.shape)}, {tuple(outputscale.shape)}"
        )
    used = torch.isfinite(ls)
    z = torch.where(used[:, None, :], x.to(torch.float64) / torch.where(used, ls, 1.0)[:, None], 0)
    sq = z.square().sum(-1)
    d2 = z @ z.mT  # the one (B, N, N) buffer; in place from here on (3x faster for big N)
    d2.mul_(-2).add_(sq[:, :, None]).add_(sq[:, None, :]).clamp_min_(0)
    d2.diagonal(dim1=-2, dim2=-1).zero_()
    return d2.mul_(-0.5).exp_().mul_(outputscale.to(d2)[:, None, None])


def _check_sample_args(batch: int, n_points: int, generator: torch.Generator) -> None:
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an int >= 1, got {batch!r}")
    if not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"n_points must be an int >= 1, got {n_points!r}")
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU torch.Generator, got {generator!r}")


def _sample_gp(
    x: torch.Tensor, n_features: torch.Tensor, hp: dict[str, torch.Tensor], g: torch.Generator
) -> PriorBatch:
    """y = f + eps for raw float32 x (B, N, D <= F) in the unit cube (columns with a nan
    lengthscale unused), f drawn via float64 Cholesky; x is returned padded."""
    f = hp["lengthscale"].shape[1]
    x_all = torch.nn.functional.pad(x, (0, f - x.shape[2]))
    cov = rbf_covariance(x_all, hp["lengthscale"], hp["outputscale"])
    cov.diagonal(dim1=-2, dim2=-1).add_((hp["noise"] + JITTER * hp["outputscale"])[:, None])
    chol, info = torch.linalg.cholesky_ex(cov)
    if bool(info.any()):
        raise RuntimeError("GP covariance is not positive definite; raise the noise variance")
    eps = torch.randn(*x.shape[:2], 1, generator=g, dtype=torch.float64)
    y = (chol @ eps).squeeze(-1).to(torch.float32)
    x = pad_features(x, n_features, f)
    return PriorBatch(x=x, y=y, n_features=n_features, hyperparameters=hp)


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be finite and {'>=' if allow_zero else '>'} 0, got {value!r}"
        )
    return v


def _log_uniform(lo: float, hi: float, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    u = torch.rand(shape, generator=g, dtype=torch.float64)
    return torch.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u)


class GPPrior:
    """GP prior with fixed hyperparameters: x ~ U[0,1]^dim, f ~ GP(0, outputscale
    ``exp(-|x - x'|^2 / (2 l^2))``) (RBF, scalar or per-feature l), y = f + eps with
    eps ~ N(0, noise) (a variance); x padded to max_features (default dim)."""

    def __init__(
        self,
        *,
        dim: int = 1,
        lengthscale: float | Sequence[float] = 0.1,
        outputscale: float = 1.0,
        noise: float = 0.01,
        max_features: int | None = None,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be an int >= 1, got {dim!r}")
        self.dim = dim
        self.max_features = dim if max_features is None else max_features
        if not isinstance(self.max_features, int) or self.max_features < dim:
            raise ValueError(f"max_features must be an int >= dim={dim}, got {max_features!r}")
        self._scalar = isinstance(lengthscale, (int, float)) or getattr(lengthscale, "ndim", 1) == 0
        seq: Any = lengthscale
        ls = [seq] * dim if self._scalar else list(seq)
        if len(ls) != dim:
            raise ValueError(f"lengthscale needs dim={dim} entries, got {lengthscale!r}")
        self.lengthscale = tuple(_positive("lengthscale", v) for v in ls)
        self.outputscale = _positive("outputscale", outputscale)
        self.noise = _positive("noise", noise, allow_zero=True)

    def sample(self, batch: int, n_points: int, generator: torch.Generator) -> PriorBatch:
        """``batch`` data sets: x (batch, n_points, max_features), y (batch, n_points)."""
        _check_sample_args(batch, n_points, generator)
        f, d = self.max_features, self.dim
        nf = torch.full((batch,), d, dtype=torch.int64)
        x = torch.rand(batch, n_points, d, generator=generator)
        ls = torch.full((batch, f), math.nan, dtype=torch.float64)
        ls[:, :d] = torch.tensor(self.lengthscale, dtype=torch.float64)
        hp = {
            "lengthscale": ls,
            "outputscale": torch.full((batch,), self.outputscale, dtype=torch.float64),
            "noise": torch.full((batch,), self.noise, dtype=torch.float64),
        }
        return _sample_gp(x, nf, hp, generator)

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description; :func:`prior_from_config` inverts it."""
        ls = self.lengthscale[0] if self._scalar else list(self.lengthscale)
        return {
            "kind": "gp",
            "kernel": "rbf",
            "lengthscale": ls,
            "outputscale": self.outputscale,
            "noise": self.noise,
            "dim": self.dim,
            "max_features": self.max_features,
        }


class GPHyperPrior:
    """Hyper-prior: per data set d ~ U{min_dim..max_dim}, x ~ U[0,1]^d, one RBF lengthscale
    per feature ~ LogUniform(lengthscale_range), outputscale ~ LogUniform(outputscale_range),
    noise variance ~ LogUniform(noise_range); x padded to max_features = max_dim."""

    def __init__(
        self,
        *,
        min_dim: int = 1,
        max_dim: int = 4,
        lengthscale_range: tuple[float, float] = (0.1, 1.0),
        outputscale_range: tuple[float, float] = (0.5, 2.0),
        noise_range: tuple[float, float] = (1e-3, 1e-1),
    ) -> None:
        if not (isinstance(min_dim, int) and isinstance(max_dim, int) and 1 <= min_dim <= max_dim):
            raise ValueError(f"need ints 1 <= min_dim <= max_dim, got {min_dim!r}, {max_dim!r}")
        self.min_dim, self.max_dim, self.max_features = min_dim, max_dim, max_dim
        ranges = {}
        for name, r in [
            ("lengthscale_range", lengthscale_range),
            ("outputscale_range", outputscale_range),
            ("noise_range", noise_range),
        ]:
            lo, hi = (_positive(name, v) for v in r) if len(r) == 2 else (0.0, -1.0)
            if not lo <= hi:
                raise ValueError(f"{name} must be (lo, hi) with 0 < lo <= hi, got {r!r}")
            ranges[name] = (lo, hi)
        self.lengthscale_range = ranges["lengthscale_range"]
        self.outputscale_range = ranges["outputscale_range"]
        self.noise_range = ranges["noise_range"]

    def sample(self, batch: int, n_points: int, generator: torch.Generator) -> PriorBatch:
        """``batch`` data sets of mixed d: x (batch, n_points, max_dim), y (batch, n_points)."""
        _check_sample_args(batch, n_points, generator)
        f, g = self.max_features, generator
        nf = torch.randint(self.min_dim, self.max_dim + 1, (batch,), generator=g)
        x = torch.rand(batch, n_points, f, generator=g)  # columns >= d: nan lengthscale, zeroed
        ls = _log_uniform(*self.lengthscale_range, (batch, f), g)
        ls = ls.masked_fill(torch.arange(f) >= nf[:, None], math.nan)
        hp = {
            "lengthscale": ls,
            "outputscale": _log_uniform(*self.outputscale_range, (batch,), g),
            "noise": _log_uniform(*self.noise_range, (batch,), g),
        }
        return _sample_gp(x, nf, hp, g)

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description; :func:`prior_from_config` inverts it."""
        return {
            "kind": "gp-hyper",
            "kernel": "rbf",
            "min_dim": self.min_dim,
            "max_dim": self.max_dim,
            "lengthscale_range": list(self.lengthscale_range),
            "outputscale_range": list(self.outputscale_range),
            "noise_range": list(self.noise_range),
            "max_features": self.max_features,
        }


def prior_from_config(config: dict[str, Any]) -> Prior:
    """The built-in prior that ``config()`` described; ValueError for anything else."""
    cfg = dict(config)
    kind, kernel = cfg.pop("kind", None), cfg.pop("kernel", "rbf")
    if kind not in ("gp", "gp-hyper") or kernel != "rbf":
        raise ValueError(
            f"unknown prior kind {kind!r} / kernel {kernel!r}; want gp or gp-hyper, rbf"
        )
    if kind == "gp-hyper":
        mf = cfg.pop("max_features", None)
        if mf is not None and mf != cfg.get("max_dim", 4):
            raise ValueError(f"gp-hyper max_features must equal max_dim, got {config!r}")
        for k in ("lengthscale_range", "outputscale_range", "noise_range"):
            if k in cfg:
                cfg[k] = tuple(cfg[k])
    try:
        return GPPrior(**cfg) if kind == "gp" else GPHyperPrior(**cfg)
    except TypeError as e:
        raise ValueError(f"bad {kind} prior config {config!r}: {e}") from e
