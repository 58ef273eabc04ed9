"""PFNRegressor: Bayesian regression in one forward pass, scikit-learn style, numpy in and out."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciml._checks import NotFittedError, as_float_array, check_finite
from sciml.pfn.bar import RiemannDistribution
from sciml.pfn.model import PFN, PFNConfig
from sciml.pfn.priors import pad_features
from sciml.pfn.training import CONFIG_FILE, MODEL_FILE
from sciml.train import load_checkpoint

SINGLE_THREAD_TOKENS = 2048
"""Calls with at most this many tokens (context and query points, all data sets) run on one
CPU thread: for them, waking torch's other threads costs more than they save (a single
data set of 30 points took 3.9 ms on two threads and 2.0 ms on one, on 2 cores)."""

PRETRAINED = ("gp-rbf-1d", "gp-hyper")
"""The models shipped in the package (``sciml/pfn/weights/NAME.pt`` and ``NAME.json``)."""


@dataclass(frozen=True)
class PredictiveDistribution:
    """The PFN's predictive distribution at m query points (or (S, m) for S data sets).

    Numpy in and out; ``torch`` holds the underlying :class:`RiemannDistribution`.
    """

    torch: RiemannDistribution

    @property
    def mean(self) -> np.ndarray:
        return self.torch.mean.double().numpy()

    @property
    def std(self) -> np.ndarray:
        return self.torch.std.double().numpy()

    def quantile(self, q: float) -> np.ndarray:
        """The q-quantile at each query, q in (0, 1)."""
        return self.torch.quantile(q).double().numpy()

    def interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` interval (lower, upper) at each query."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        return self.quantile((1 - level) / 2), self.quantile((1 + level) / 2)

    def _y(self, y: Any) -> torch.Tensor:
        return torch.as_tensor(as_float_array(y, "y"), dtype=self.torch.probs.dtype)

    def cdf(self, y: Any) -> np.ndarray:
        """P(Y <= y) at each query; y broadcasts against the queries' shape."""
        return self.torch.cdf(self._y(y)).double().numpy()

    def log_prob(self, y: Any) -> np.ndarray:
        """log density of y at each query; y broadcasts against the queries' shape."""
        return self.torch.log_prob(self._y(y)).double().numpy()

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """n draws per query, ``(n, *shape)``."""
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return self.torch.sample(n, generator).double().numpy()


class PFNRegressor:
    """A trained PFN as a regressor: ``fit`` stores the data set, ``predict_distribution``
    runs the transformer once for all queries.

    The prediction approximates the posterior predictive of the prior the model was
    trained on (:attr:`prior`): inputs should look like the prior's (e.g. x in [0, 1]^d
    for the GP priors) and targets on its scale.

    Args:
        model: a trained :class:`PFN`.
        settings: the training settings stored beside it ("prior", "max_context", ...).
        device: where the model runs.

    Example:
        >>> reg = PFNRegressor.pretrained("gp-rbf-1d")
        >>> reg.fit(X, y)                       # (n, 1), (n,); n may be 0
        >>> dist = reg.predict_distribution(Xq)  # dist.mean, dist.std, dist.quantile(0.05)
    """

    def __init__(
        self, model: PFN, settings: dict[str, Any], *, device: str | torch.device = "cpu"
    ) -> None:
        self.model = model
        self.settings = settings
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def pretrained(cls, name: str, *, device: str | torch.device = "cpu") -> PFNRegressor:
        """A model shipped in the package: one of :data:`PRETRAINED`. No download."""
        if name not in PRETRAINED:
            raise ValueError(f"unknown pretrained PFN {name!r}; choose one of {PRETRAINED}")
        weights = resources.files("sciml.pfn") / "weights"
        settings = json.loads((weights / f"{name}.json").read_text())
        with resources.as_file(weights / f"{name}.pt") as path:
            state = torch.load(path, map_location="cpu", weights_only=True)
        return cls._build(settings, state, device)

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, *, device: str | torch.device = "cpu"
    ) -> PFNRegressor:
        """A model trained by ``sciml pfn train``: its output directory (``model.pt`` and
        ``config.json``, or the ``checkpoint.pt`` of an unfinished run), a checkpoint file,
        or a ``NAME.pt`` written by ``sciml pfn export`` (beside its ``NAME.json``)."""
        path = Path(path)
        if path.is_dir() and (path / MODEL_FILE).is_file():
            return cls._load(path / MODEL_FILE, path / CONFIG_FILE, device)
        if path.is_file() and path.with_suffix(".json").is_file():
            return cls._load(path, path.with_suffix(".json"), device)
        checkpoint = load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path)
        return cls._build(checkpoint["extra"], checkpoint["model"], device)

    @classmethod
    def _load(cls, weights: Path, settings: Path, device: Any) -> PFNRegressor:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        return cls._build(json.loads(settings.read_text()), state, device)

    @classmethod
    def _build(
        cls, settings: dict[str, Any], state: dict[str, torch.Tensor], device: Any
    ) -> PFNRegressor:
        config = PFNConfig(**settings["model"])
        model = PFN(config, state["borders"].float())
        model.load_state_dict({k: v.float() for k, v in state.items()})
        return cls(model, settings, device=device)

    # -- properties -----------------------------------------------------------------------

    @property
    def prior(self) -> dict[str, Any]:
        """The prior the model was trained on (its ``config()``)."""
        return dict(self.settings["prior"])

    @property
    def max_context(self) -> int:
        """The largest data set seen in training."""
        return int(self.settings["max_context"])

    @property
    def max_features(self) -> int:
        return self.model.config.max_features

    # -- scikit-learn API -----------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> PFNRegressor:
        """Stores the data set X (n, d), y (n,) (n may be 0; d <= max_features). Returns self."""
        X = self._check_x(X, "X")
        y = as_float_array(y, "y")
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must have shape ({len(X)},) to match X {X.shape}, got {y.shape}")
        check_finite(y, "y")
        if len(X) > self.max_context:
            raise ValueError(
                f"the context has {len(X)} points; this model was trained on at most "
                f"{self.max_context} (subsample, or train a model with a larger max_context)"
            )
        self.X_, self.y_ = X, y
        self.n_features_in_ = X.shape[1]
        return self

    def predict_distribution(self, X: Any) -> PredictiveDistribution:
        """The predictive distribution at the queries X (m, d): arrays (m,)."""
        if not hasattr(self, "X_"):
            raise NotFittedError("this PFNRegressor is not fitted yet: call fit(X, y) first")
        X = self._check_x(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, fit had {self.n_features_in_}")
        xc, xq = self._pad(self.X_[None]), self._pad(X[None])
        logits = self._logits(xc, torch.as_tensor(self.y_[None], dtype=torch.float32), xq)
        return self._distribution(logits[0])

    def predict(self, X: Any) -> np.ndarray:
        """The predictive mean at X (m, d): (m,)."""
        return self.predict_distribution(X).mean

    def predict_distribution_batch(
        self, X_context: Any, y_context: Any, X_query: Any, *, batch_size: int = 1024
    ) -> PredictiveDistribution:
        """Many data sets at once: X_context (S, n, d), y_context (S, n), X_query (S, m, d)
        give arrays (S, m). ``batch_size`` data sets go through the model at a time."""
        xc, xq = as_float_array(X_context, "X_context"), as_float_array(X_query, "X_query")
        yc = as_float_array(y_context, "y_context")
        if xc.ndim != 3 or xq.ndim != 3 or yc.ndim != 2:
            raise ValueError(
                "need X_context (S, n, d), y_context (S, n), X_query (S, m, d); got "
                f"{xc.shape}, {yc.shape}, {xq.shape}"
            )
        if (
            xc.shape[:2] != yc.shape
            or xq.shape[0] != xc.shape[0]
            or xq.shape[2] != xc.shape[2]
            or xc.shape[0] == 0
        ):
            raise ValueError(
                f"shapes do not match: X_context {xc.shape}, y_context {yc.shape}, "
                f"X_query {xq.shape}"
            )
        d = xc.shape[2]
        if not 1 <= d <= self.max_features:
            raise ValueError(f"X has {d} features; this model takes 1 to {self.max_features}")
        if xc.shape[1] > self.max_context:
            raise ValueError(
                f"the context has {xc.shape[1]} points; this model was trained on at most "
                f"{self.max_context}"
            )
        for a, name in ((xc, "X_context"), (yc, "y_context"), (xq, "X_query")):
            check_finite(a, name)
        logits = self._logits(
            self._pad(xc), torch.as_tensor(yc, dtype=torch.float32), self._pad(xq), batch_size
        )
        return self._distribution(logits)

    def predict_padded(
        self, x_context: torch.Tensor, y_context: torch.Tensor, x_query: torch.Tensor
    ) -> PredictiveDistribution:
        """The model on inputs already in its layout, as a prior makes them:
        x_context (S, n, max_features) padded by :func:`sciml.pfn.priors.pad_features`,
        y_context (S, n), x_query (S, m, max_features); arrays (S, m). No checks."""
        return self._distribution(self._logits(x_context, y_context, x_query))

    def _pad(self, x: np.ndarray) -> torch.Tensor:
        """(S, n, d) data in the model's layout (S, n, max_features), float32."""
        return pad_features(torch.as_tensor(x, dtype=torch.float32), x.shape[-1], self.max_features)

    def _logits(
        self, xc: torch.Tensor, yc: torch.Tensor, xq: torch.Tensor, batch_size: int = 1024
    ) -> torch.Tensor:
        """The model's logits (S, m, n_buckets) on the CPU, ``batch_size`` data sets a pass."""
        out = []
        small = yc.numel() + xq.shape[0] * xq.shape[1] <= SINGLE_THREAD_TOKENS
        with torch.inference_mode(), _one_thread(small and self.device.type == "cpu"):
            for i in range(0, len(yc), batch_size):
                chunk = slice(i, i + batch_size)
                args = (t[chunk].to(self.device, torch.float32) for t in (xc, yc, xq))
                out.append(self.model(*args).cpu())
        return torch.cat(out)

    def _distribution(self, logits: torch.Tensor) -> PredictiveDistribution:
        return PredictiveDistribution(RiemannDistribution(logits, self.model.borders.cpu()))

    def _check_x(self, X: Any, name: str) -> np.ndarray:
        X = as_float_array(X, name)
        if X.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (n, d), got shape {X.shape}; "
                "for one feature use X.reshape(-1, 1)"
            )
        if not 1 <= X.shape[1] <= self.max_features:
            raise ValueError(
                f"{name} has {X.shape[1]} features; this model was trained for 1 to "
                f"{self.max_features}"
            )
        check_finite(X, name)
        return X

    def __repr__(self) -> str:
        c = self.model.config
        return (
            f"PFNRegressor(prior={self.prior.get('kind')!r}, emsize={c.emsize}, "
            f"nlayers={c.nlayers}, n_buckets={c.n_buckets}, max_context={self.max_context})"
        )


@contextmanager
def _one_thread(active: bool) -> Iterator[None]:
    """torch on one intra-op thread inside the block (when ``active``), then as before.

    torch's thread count is global to the process: other Python threads running torch at
    the same time see the change too.
    """
    if not active or torch.get_num_threads() == 1:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
