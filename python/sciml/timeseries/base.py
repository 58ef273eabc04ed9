"""The estimator API shared by every time-series classifier, and the neural training."""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml._checks import NotFittedError, check_int
from sciml.timeseries.dataset import SeriesSet, as_series_set, check_observed_features
from sciml.timeseries.features import Standardization, fit_standardization
from sciml.timeseries.metrics import auroc
from sciml.train import TrainConfig, load_checkpoint, save_atomic
from sciml.train import fit as train_loop

FORMAT = "sciml.timeseries"
PREDICT_BATCH = 1024

Inputs = dict[str, Any]  # tensors (or lists of tensors) with the records on axis 0


class TimeSeriesClassifier:
    """Base of the classifiers of irregular series: ``fit`` / ``predict_proba`` / ``save``.

    Sets are PyPOTS-style dicts ``{"X": (N, T, F) float, NaN = missing, "y": (N,) int,
    "timestamps": (T,) or (N, T) optional}`` of numpy arrays or torch tensors (see
    :func:`~sciml.timeseries.dataset.as_series_set`). Labels may be any integers (two
    classes or more); ``classes_`` holds them sorted, and ``predict_proba``'s columns follow
    it. A record without any observation is given the training prior ``prior_``.

    ``__init__`` stores the hyperparameters only (``get_params`` / ``set_params`` as in
    scikit-learn); learned state ends with ``_``.
    """

    _registry: ClassVar[dict[str, type[TimeSeriesClassifier]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TimeSeriesClassifier._registry[cls.__name__] = cls

    def __init__(
        self, *, n_steps: int, n_features: int, random_state: int = 0, device: str = "cpu"
    ) -> None:
        self.n_steps = n_steps
        self.n_features = n_features
        self.random_state = random_state
        self.device = device

    # -- scikit-learn style parameters ---------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        """The keyword-only arguments of ``__init__``, following ``**kwargs`` up the MRO."""
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" not in vars(klass) or klass is object:
                continue
            params = inspect.signature(vars(klass)["__init__"]).parameters.values()
            names += [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name not in names]
            if not any(p.kind is p.VAR_KEYWORD for p in params):
                break
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> TimeSeriesClassifier:
        """Sets hyperparameters (unknown names are a ValueError); returns self."""
        names = set(self._param_names())
        for key, value in params.items():
            if key not in names:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fit / predict ------------------------------------------------------------------------

    def _check_params(self) -> None:
        check_int(self.n_steps, "n_steps", minimum=1)
        check_int(self.n_features, "n_features", minimum=1)
        check_int(self.random_state, "random_state", minimum=0)

    def _as_set(self, data: Any, name: str, labels: bool = False) -> SeriesSet:
        return as_series_set(data, self.n_steps, self.n_features, name, require_labels=labels)

    def fit(self, train_set: Any, val_set: Any = None) -> TimeSeriesClassifier:
        """Learns from ``train_set``; ``val_set`` (labelled) is used for early stopping where
        the model stops early. Returns self.

        Raises:
            ValueError: bad shapes or values (see ``as_series_set``), a signal never
                observed in the training set (or only empty records), fewer than two
                classes, or validation labels that the training set lacks.
        """
        self._check_params()
        train = self._as_set(train_set, "train_set", labels=True)
        val = None if val_set is None else self._as_set(val_set, "val_set", labels=True)
        check_observed_features(train.X, "train_set")
        assert train.y is not None
        classes, counts = np.unique(train.y, return_counts=True)
        if classes.size < 2:
            raise ValueError(f"train_set['y'] holds a single class ({classes.tolist()}): need two")
        if val is not None:
            assert val.y is not None
            unknown = np.setdiff1d(val.y, classes)
            if unknown.size:
                raise ValueError(f"val_set['y'] holds classes {unknown.tolist()} not in train_set")
        self.classes_ = classes
        self.prior_ = counts / counts.sum()
        self._fit(train, np.searchsorted(classes, train.y), val)
        return self

    def _fit(self, train: SeriesSet, y: np.ndarray, val: SeriesSet | None) -> None:
        """Learns the model; ``y`` (N,) are class indices into ``classes_``."""
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(train_set) first"
            )

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities (N, n_classes) float64, columns in the order of ``classes_``.

        Records without any observation get ``prior_`` (never NaN).
        """
        self._check_fitted()
        s = self._as_set(data, "data")
        proba = np.array(self.prior_[None, :].repeat(s.n_records, axis=0))
        some = ~s.empty_records
        if some.any():
            proba[some] = self._predict_proba(s.subset(some))
        return proba

    def _predict_proba(self, s: SeriesSet) -> np.ndarray:
        raise NotImplementedError

    def predict(self, data: Any) -> np.ndarray:
        """The most probable class of each record, (N,) with the labels of ``classes_``."""
        return self.classes_[np.argmax(self.predict_proba(data), axis=1)]

    # -- persistence -----------------------------------------------------------------------

    def _fitted_state(self) -> dict[str, Any]:
        return {}

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        pass

    def save(self, path: str | os.PathLike) -> None:
        """Writes the fitted model to one file (tensors and plain values: loads with
        ``weights_only=True``)."""
        self._check_fitted()
        params = {
            k: (str(v) if isinstance(v, torch.device) else v) for k, v in self.get_params().items()
        }
        save_atomic(
            {
                "format": FORMAT,
                "version": 1,
                "class": type(self).__name__,
                "params": params,
                "classes": torch.from_numpy(self.classes_.astype(np.int64)),
                "prior": torch.from_numpy(self.prior_.astype(np.float64)),
                "fitted": self._fitted_state(),
            },
            path,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> TimeSeriesClassifier:
        """A model written by :meth:`save` (called on the base class, any subclass loads).

        Raises:
            FileNotFoundError: no file at path.
            ValueError: not a saved time-series classifier, or one of another class.
        """
        state = load_checkpoint(path)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path} is not a saved sciml.timeseries classifier")
        klass = cls._registry.get(state["class"])
        if klass is None or not issubclass(klass, cls):
            raise ValueError(f"{path} holds a {state['class']}, not a {cls.__name__}")
        model = klass(**state["params"])
        model.classes_ = state["classes"].numpy()
        model.prior_ = state["prior"].numpy()
        model._load_fitted_state(state["fitted"])
        return model


def _std_to_state(s: Standardization) -> dict[str, Tensor]:
    return {"mean": torch.from_numpy(s.mean), "std": torch.from_numpy(s.std)}


def _std_from_state(state: dict[str, Tensor]) -> Standardization:
    return Standardization(state["mean"].numpy(), state["std"].numpy())


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out): ``fraction`` of each class held out (at least one record of
    a class with two or more), reproducibly for ``seed``."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(fraction * idx.size)
        if idx.size >= 2:
            k = min(max(k, 1), idx.size - 1)
        else:
            k = 0
        held.append(idx[:k])
    out = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(y.size), out), out


def _index(inputs: Any, idx: Tensor) -> Any:
    if isinstance(inputs, Tensor):
        return inputs[idx]
    if isinstance(inputs, list):
        return [_index(v, idx) for v in inputs]
    return {k: _index(v, idx) for k, v in inputs.items()}


def _to(inputs: Any, device: torch.device) -> Any:
    if isinstance(inputs, Tensor):
        return inputs.to(device)
    if isinstance(inputs, list):
        return [_to(v, device) for v in inputs]
    return {k: _to(v, device) for k, v in inputs.items()}


class NeuralTimeSeriesClassifier(TimeSeriesClassifier):
    """A classifier trained by the shared loop :func:`sciml.train.fit` with cross-entropy
    (the Multi-FIT authors' loss), AdamW, early stopping on validation AUROC and the best
    weights restored.

    Epochs map to optimiser steps: ceil(N_train / batch_size) steps per epoch, each a batch
    drawn without replacement; the model is validated once per epoch, and ``patience``
    epochs without a better validation AUROC (macro one-vs-rest for several classes) stop
    training. Without ``val_set``, ``val_fraction`` of the training set is held out,
    stratified by class (0: no validation, all ``epochs`` are run). Feature statistics
    are learned on the records that are trained on, never on validation data.

    Args:
        n_steps, n_features: T and F of the sets.
        epochs: the most passes over the training records.
        batch_size, lr, weight_decay: AdamW on mini-batches (a one-epoch linear warmup, then
            a cosine down to a tenth of lr over ``epochs``; gradients clipped to norm 1).
        patience: epochs without a better validation AUROC before stopping (None: never;
            the authors train 60 epochs and keep the best; with 10, Multi-FIT often stopped
            at a noisy early peak, 0.01-0.02 AUROC below its 20-epoch result).
        val_fraction: the part of train_set held out for early stopping without val_set.
        dropout: on the representation before the linear head (0.1: with 0.3, Multi-FIT
            lost 0.008-0.012 test AUROC on the generated benchmark, GRU-D nothing).
        progress: a tqdm bar over the optimiser steps.
        random_state: seeds the split, the initial weights, the batches and dropout.
        device: torch device the network trains and predicts on.

    Subclasses build the inputs (``_prepare``, ``_encode``) and the network.
    """

    def __init__(
        self,
        *,
        n_steps: int,
        n_features: int,
        epochs: int = 60,
        batch_size: int = 64,
        lr: float = 3e-4,
        weight_decay: float = 1e-3,
        patience: int | None = 20,
        val_fraction: float = 0.2,
        dropout: float = 0.1,
        progress: bool = True,
        random_state: int = 0,
        device: str = "cpu",
    ) -> None:
        super().__init__(
            n_steps=n_steps, n_features=n_features, random_state=random_state, device=device
        )
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.dropout = dropout
        self.progress = progress

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.epochs, "epochs", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        if self.patience is not None:
            check_int(self.patience, "patience", minimum=1)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    # -- what subclasses provide ---------------------------------------------------------------

    def _prepare(self, train: SeriesSet) -> None:
        """Learns input structure from the (standardised) training records, e.g. groups."""

    def _encode(self, s: SeriesSet) -> Inputs:
        """The network's keyword inputs for the (raw) records of s, records on axis 0."""
        raise NotImplementedError

    def _build_network(self, n_classes: int) -> nn.Module:
        raise NotImplementedError

    def _structure_state(self) -> dict[str, Any]:
        return {}

    def _load_structure_state(self, state: dict[str, Any]) -> None:
        pass

    # -- training ------------------------------------------------------------------------------

    def _holdout(
        self, train: SeriesSet, y: np.ndarray, val: SeriesSet | None
    ) -> tuple[SeriesSet, np.ndarray, SeriesSet | None, np.ndarray | None]:
        """(train, y, val, val_y): val_set as given, or a stratified part of train held out."""
        if val is not None:
            assert val.y is not None
            return train, y, val, np.searchsorted(self.classes_, val.y)
        if self.val_fraction > 0:
            keep, held = stratified_split(y, self.val_fraction, self.random_state)
            if held.size:
                return train.subset(keep), y[keep], train.subset(held), y[held]
        return train, y, None, None

    def _validator(self, val: SeriesSet, val_y: np.ndarray) -> Callable[[nn.Module], float]:
        """The validation score of a network: AUROC on val (macro one-vs-rest), with the
        prior for empty records as at prediction; the log-likelihood if val has one class."""
        n_classes = self.classes_.size
        some = ~val.empty_records
        inputs = self._encode(val.subset(some))
        prior = np.broadcast_to(self.prior_, (int((~some).sum()), n_classes))

        def validate(model: nn.Module) -> float:
            proba = np.empty((val_y.size, n_classes))
            proba[~some] = prior
            if some.any():
                proba[some] = self._network_proba(model, inputs)
            try:
                return auroc(val_y, proba)
            except ValueError:
                return float(np.mean(np.log(proba[np.arange(val_y.size), val_y] + 1e-12)))

        return validate

    def _fit(self, train: SeriesSet, y: np.ndarray, val: SeriesSet | None) -> None:
        train, y, val, val_y = self._holdout(train, y, val)
        # records without observations are predicted by the prior: nothing to learn from them
        some = ~train.empty_records
        train, y = train.subset(some), y[some]
        check_observed_features(train.X, "train_set (after holding out validation records)")
        self.standardization_ = fit_standardization(train.X)
        gaps = np.diff(train.timestamps, axis=1)
        self.time_unit_ = float(np.median(gaps)) if gaps.size else 1.0
        self._prepare(train)
        inputs = self._encode(train)
        targets = torch.from_numpy(y.astype(np.int64))
        n = len(targets)
        batch = min(self.batch_size, n)
        per_epoch = math.ceil(n / batch)
        steps = self.epochs * per_epoch
        validate = None if val is None or val_y is None else self._validator(val, val_y)

        def sample(generator: torch.Generator) -> tuple[Inputs, Tensor]:
            idx = torch.randperm(n, generator=generator)[:batch]
            return _index(inputs, idx), targets[idx]

        def loss(model: nn.Module, b: tuple[Inputs, Tensor]) -> Tensor:
            return F.cross_entropy(model(**b[0]), b[1])

        config = TrainConfig(
            steps=steps,
            lr=self.lr,
            weight_decay=self.weight_decay,
            warmup_steps=min(per_epoch, steps),
            min_lr_ratio=0.1,
            grad_clip=1.0,
            checkpoint_every=steps,
            log_every=per_epoch,
            seed=self.random_state,
            progress=bool(self.progress),
            validate_every=per_epoch,
            patience=self.patience if validate is not None else None,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            network = self._build_network(self.classes_.size)
            result = train_loop(
                network, sample, loss, config, device=self.device, validate=validate
            )
        network.eval()
        self.network_ = network
        self.n_epochs_ = result.step / per_epoch
        self.best_epoch_ = None if result.best_step is None else result.best_step / per_epoch
        self.best_val_score_ = result.best_score
        self.history_ = result.history

    def _network_proba(self, model: nn.Module, inputs: Inputs) -> np.ndarray:
        n = len(next(iter(self._leaves(inputs))))
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        out = []
        try:
            with torch.no_grad():
                for start in range(0, n, PREDICT_BATCH):
                    idx = torch.arange(start, min(start + PREDICT_BATCH, n))
                    logits = model(**_to(_index(inputs, idx), device))
                    out.append(torch.softmax(logits.double(), dim=-1).cpu().numpy())
        finally:
            model.train(was_training)
        return np.concatenate(out)

    @staticmethod
    def _leaves(inputs: Any):
        if isinstance(inputs, Tensor):
            yield inputs
        elif isinstance(inputs, list):
            for v in inputs:
                yield from NeuralTimeSeriesClassifier._leaves(v)
        else:
            for v in inputs.values():
                yield from NeuralTimeSeriesClassifier._leaves(v)

    def _predict_proba(self, s: SeriesSet) -> np.ndarray:
        return self._network_proba(self.network_, self._encode(s))

    # -- persistence -----------------------------------------------------------------------

    def _fitted_state(self) -> dict[str, Any]:
        return {
            "standardization": _std_to_state(self.standardization_),
            "time_unit": self.time_unit_,
            "structure": self._structure_state(),
            "network": {k: v.detach().cpu() for k, v in self.network_.state_dict().items()},
            "n_epochs": self.n_epochs_,
            "best_epoch": self.best_epoch_,
            "best_val_score": self.best_val_score_,
        }

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.standardization_ = _std_from_state(state["standardization"])
        self.time_unit_ = float(state["time_unit"])
        self._load_structure_state(state["structure"])
        with torch.random.fork_rng(devices=[]):
            network = self._build_network(self.classes_.size)
        network.load_state_dict(state["network"])
        self.network_ = network.to(self.device).eval()
        self.n_epochs_ = state["n_epochs"]
        self.best_epoch_ = state["best_epoch"]
        self.best_val_score_ = state["best_val_score"]
        self.history_ = []
