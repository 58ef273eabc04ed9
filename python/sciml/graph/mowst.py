"""Mowst: a mixture of a weak expert (an MLP on the node's own features) and a strong
expert (a GNN), mixed per node by a confidence computed from the weak expert's prediction.

Zeng, Lyu, Hu, Xia and Luo, "Mixture of Weak & Strong Experts on Graphs" (ICLR 2024),
official code facebookresearch/mowst-gnn (read: ``README.md``, ``main.py``, ``model.py``,
``train_test_engine.py`` at commit 2e35699). This module is an independent implementation
on :mod:`sciml.graph.gnn`; the settings it follows are these.

Confidence. For the weak expert's class probabilities p = softmax(z) (n, K) the two
dispersions of the reference's ``compute_confidence``, both in [0, 1] (0: uniform, 1:
one-hot):

- variance: ``Var(p) / Var(one-hot) = (K * sum_i p_i^2 - 1) / (K - 1)`` (the population
  variance over the K entries, divided by its maximum (K - 1) / K^2);
- entropy: ``1 - H(p) / log K``.

The confidence is C = G(D(p)) in [0, 1] per node. ``confidence="learned"`` (what the
reference's Mowst and Mowst* engines run): G is an MLP (the weak expert's width and depth,
no dropout on its input, sigmoid output) on both dispersions, ``gate_features=True``
concatenating the node's self-features x_v to them (the reference's ``--original_data
true``; ``false`` is the default here as in most of its reproduction commands).
``confidence="variance"`` or ``"entropy"``: the fixed G(D) = D^alpha of the reference's
earlier ``train_mowst1/2`` (``args.confidence == "variance"``, ``args.alpha``; no longer
called by its engines). Not implemented: its hypernetwork gate (``--original_data
hypermlp``) and its ``MLPLearn`` confidence head. As ``compute_confidence`` is under
``torch.no_grad`` in the reference, the dispersion is detached from the weak expert by
default (``detach_dispersion=True``): the weak expert learns through the C-weighted loss
term only, the gate through C.

Loss (Mowst). Per training node v with the weak expert's cross-entropy L_w(v) and the
strong's L_s(v): ``mean_v [C_v L_w(v) + (1 - C_v) L_s(v)]`` (:func:`mowst_loss`; the
reference's ``--subloss separate`` with NLL on log-softmax).

Training (Mowst; the reference's ``MowstEngine``): optional pretraining of either or both
experts alone (``pretrain="none" | "weak" | "strong" | "both"``; the reference's
``--submethod``), each by :func:`~sciml.graph.gnn.train_node_classifier` (cross-entropy,
early stopping on validation accuracy). Then rounds ("big epochs") of two turns: the weak
turn trains the weak expert and the gate (one optimiser, learning rate ``lr``) with the
strong expert frozen; the strong turn trains the strong expert with the weak expert and
the gate frozen (so C is a constant weight there: the strong expert fits mostly the nodes
the weak one is unsure of). A frozen expert runs without gradient but, as in the
reference, in train mode (its dropout on; ``frozen_dropout=True``). A turn runs at most
``epochs`` epochs with early stopping on the validation accuracy (patience ``patience``);
its best weights are kept only if they beat the validation accuracy before the turn,
otherwise the turn is undone. Rounds stop after ``round_patience`` rounds without a better
validation accuracy (the reference's ``--big_patience``) or after ``rounds``; the best
weights are restored. The optimisers are AdamW (the reference's default) and keep their
state across rounds; dropout is ``dropout`` in pretraining and ``gate_dropout`` afterwards
(the reference's ``--dropout`` and ``--dropout_gate``).

Two settings matter on the benchmark graph (benches/bench_graph_mowst.py), both seen to
collapse the gate to C = 0 everywhere (Mowst = its GNN) otherwise: the frozen expert's
dropout (in eval mode the pretrained GNN's training loss is near 0 on every training node,
so the gate learns that the strong expert is always better), and pretraining the weak
expert too (with the dispersion detached, a weak expert the gate ignores gets no gradient
and stays uninformative). Hence ``pretrain="both"`` by default (the reference's CLI
default is ``none``, most of its reproduction commands pretrain the strong expert only).

Inference (Mowst; the reference's ``--infer_method multi``): per node draw q ~ U[0, 1];
the weak expert's argmax if q < C_v, else the strong expert's. The reference reports the
accuracy averaged over 50 such draws; validation and :meth:`Mowst.score` use its exact
expectation ``mean_v [C_v 1(weak right) + (1 - C_v) 1(strong right)]``.
``inference="threshold"``: the weak expert where C_v >= 0.5 (deterministic).
:meth:`Mowst.predict_proba` returns the mixture ``C p_w + (1 - C) p_s``, the marginal
class distribution of the sampled rule.

Mowst* (``star=True``; the reference's ``MowstStarEngine``, ``--subloss joint
--infer_method joint``): the experts and the gate are trained jointly by one optimiser
(learning rate ``gate_lr``, the reference's ``--lr_gate``) on the cross-entropy of the
mixture, with early stopping on validation accuracy; prediction: argmax of the mixture.
The reference mixes raw logits ``C z_w + (1 - C) z_s`` in training but probabilities
``C p_w + (1 - C) p_s`` at inference; here both use the same mixture, chosen by
``star_mix="probs"`` (default; the loss is then the mixture's NLL) or ``"logits"`` (the
reference's training form; probabilities are then ``softmax(C z_w + (1 - C) z_s)``).

Deviations from the reference, on purpose: early stopping everywhere on validation accuracy
with ties to the lower validation loss (the reference stops Mowst* on validation loss and
without patience); no batch normalisation in the experts or the gate (the GNNs of
:mod:`sciml.graph.gnn` have none); the gate at inference sees the same dispersion as in
training (the reference's Mowst* evaluation applies softmax twice before the gate). The
paper's text itself was not reachable here (only its abstract): the settings follow the
official code.

Experts by name: ``"mlp"`` (:class:`MLP`), ``"gcn"``, ``"sage"``, ``"gin"``, ``"gat"``
(:class:`~sciml.graph.gnn.GCN`, ``GraphSAGE``, ``GIN``, ``GAT`` of :mod:`sciml.graph.gnn`,
looked up when the model is built: a name whose class is not there raises a ValueError),
or a class / factory called as ``cls(in_dim, hidden, out_dim, layers=..., dropout=...)``
that follows :func:`~sciml.graph.gnn.train_node_classifier`'s protocol
(``prepare_graph(graph, n)`` optional, ``forward(x, prepared)`` -> logits).

:func:`mixed_informativeness_sbm` generates the benchmark graph: a homophilous contextual
SBM where a random share of the nodes keep informative features and the others get pure
noise (classifiable only through their neighbours).
"""

from __future__ import annotations

import copy
import inspect
import itertools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from sciml._checks import NotFittedError, check_int, check_real
from sciml.data.graphs import ContextualSBM, contextual_sbm
from sciml.graph import gnn
from sciml.graph.backbone import as_numpy

__all__ = [
    "MLP",
    "ConfidenceGate",
    "Mowst",
    "dispersion",
    "entropy_confidence",
    "mixed_informativeness_sbm",
    "mowst_loss",
    "mowst_predict",
    "mowst_star_loss",
    "variance_confidence",
]

#: expert names -> class names looked up in :mod:`sciml.graph.gnn` when a model is built
EXPERT_CLASSES = {"gcn": "GCN", "sage": "GraphSAGE", "gin": "GIN", "gat": "GAT"}
_PRETRAIN = ("none", "weak", "strong", "both")
_CONFIDENCE = ("learned", "variance", "entropy")
_INFERENCE = ("sample", "threshold")
_STAR_MIX = ("probs", "logits")


# ----------------------------------------------------------------------------- confidence


def _check_probs(probs: torch.Tensor) -> int:
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"probs must have shape (n, K) with K >= 2, got {tuple(probs.shape)}")
    return int(probs.shape[1])


def variance_confidence(probs: torch.Tensor) -> torch.Tensor:
    """The variance of each row of ``probs`` over its maximum (a one-hot row's).

    ``(K * sum_i p_i^2 - 1) / (K - 1)``: 0 for the uniform row, 1 for a one-hot one.

    Args:
        probs: (n, K) class probabilities (rows summing to 1), K >= 2.

    Returns:
        (n,) in [0, 1].
    """
    k = _check_probs(probs)
    return ((k * (probs * probs).sum(1) - 1.0) / (k - 1)).clamp(0.0, 1.0)


def entropy_confidence(probs: torch.Tensor) -> torch.Tensor:
    """``1 - H(p) / log K`` per row of ``probs`` (0 log 0 = 0): 0 uniform, 1 one-hot.

    Args:
        probs: (n, K) class probabilities, K >= 2.

    Returns:
        (n,) in [0, 1].
    """
    k = _check_probs(probs)
    plogp = torch.where(probs > 0, probs * torch.log(probs.clamp_min(1e-300)), 0.0)
    return (1.0 + plogp.sum(1) / math.log(k)).clamp(0.0, 1.0)


def dispersion(probs: torch.Tensor) -> torch.Tensor:
    """The gate's dispersion features: (n, 2) = [variance, entropy] confidences."""
    return torch.stack([variance_confidence(probs), entropy_confidence(probs)], dim=1)


class ConfidenceGate(nn.Module):
    """C = G(D(p)) in [0, 1] per node from the weak expert's logits.

    Args:
        kind: ``"learned"`` (an MLP on the two dispersions, optionally with the
            self-features, sigmoid output), ``"variance"`` or ``"entropy"`` (fixed
            ``D^alpha``, no parameter).
        in_dim: the node features F (read with ``self_features``).
        hidden: the learned gate's width.
        layers: its linear layers (>= 1).
        dropout: its dropout before every hidden layer (training only).
        self_features: concatenate x (n, F) to the dispersions (learned gate only).
        alpha: the exponent of the fixed gates (> 0).
        detach: compute the dispersion without gradient to the weak expert.

    ``forward(weak_logits, x)``: (n, K) logits, (n, F) features -> (n,) confidences.
    """

    def __init__(
        self,
        kind: str = "learned",
        in_dim: int = 0,
        hidden: int = 64,
        layers: int = 2,
        dropout: float = 0.0,
        self_features: bool = False,
        alpha: float = 1.0,
        detach: bool = True,
    ):
        super().__init__()
        if kind not in _CONFIDENCE:
            raise ValueError(f"confidence must be one of {_CONFIDENCE}, got {kind!r}")
        check_real(alpha, "alpha", 0, strict=True)
        if self_features and kind != "learned":
            raise ValueError("gate_features needs the learned confidence (confidence='learned')")
        self.kind = kind
        self.alpha = float(alpha)
        self.detach = bool(detach)
        self.self_features = bool(self_features)
        self.mlp: MLP | None = None
        if kind == "learned":
            width = 2 + (check_int(in_dim, "in_dim", 1) if self_features else 0)
            self.mlp = MLP(width, hidden, 1, layers=layers, dropout=dropout, input_dropout=False)

    def forward(self, weak_logits: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """(n, K) logits (and (n, F) features with self_features) -> (n,) C."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.detach):
            probs = torch.softmax(weak_logits, dim=1)
            if self.kind == "variance":
                return variance_confidence(probs) ** self.alpha
            if self.kind == "entropy":
                return entropy_confidence(probs) ** self.alpha
            d = dispersion(probs)
        if self.self_features:
            if x is None:
                raise ValueError("this gate reads the self-features: pass x")
            d = torch.cat([d, x], dim=1)
        assert self.mlp is not None
        return torch.sigmoid(self.mlp(d)).squeeze(1)


# ----------------------------------------------------------------------------- loss, rule


def mowst_loss(
    weak_logits: torch.Tensor,
    strong_logits: torch.Tensor,
    y: torch.Tensor,
    confidence: torch.Tensor,
) -> torch.Tensor:
    """Mowst's loss ``mean_v [C_v CE(z_w[v], y_v) + (1 - C_v) CE(z_s[v], y_v)]``.

    Args:
        weak_logits, strong_logits: (m, K) logits of the two experts.
        y: (m,) int64 labels.
        confidence: (m,) C in [0, 1].

    Returns:
        The scalar mean loss.
    """
    lw = nn.functional.cross_entropy(weak_logits, y, reduction="none")
    ls = nn.functional.cross_entropy(strong_logits, y, reduction="none")
    return (confidence * lw + (1.0 - confidence) * ls).mean()


def _mixture_log_probs(
    weak_logits: torch.Tensor, strong_logits: torch.Tensor, confidence: torch.Tensor, mix: str
) -> torch.Tensor:
    """log of Mowst*'s class distribution (n, K)."""
    c = confidence.unsqueeze(1)
    if mix == "logits":
        return torch.log_softmax(c * weak_logits + (1.0 - c) * strong_logits, dim=1)
    # log(C p_w + (1 - C) p_s) stably: logsumexp of the two weighted log-probabilities
    lw = torch.log_softmax(weak_logits, dim=1) + torch.log(c.clamp_min(1e-30))
    ls = torch.log_softmax(strong_logits, dim=1) + torch.log((1.0 - c).clamp_min(1e-30))
    return torch.logaddexp(lw, ls)


def mowst_star_loss(
    weak_logits: torch.Tensor,
    strong_logits: torch.Tensor,
    y: torch.Tensor,
    confidence: torch.Tensor,
    mix: str = "probs",
) -> torch.Tensor:
    """Mowst*'s loss: the cross-entropy of the mixed prediction.

    ``mix="probs"``: ``mean_v -log(C_v p_w[v, y_v] + (1 - C_v) p_s[v, y_v])``;
    ``mix="logits"`` (the reference's training form): ``CE(C z_w + (1 - C) z_s, y)``.

    Args:
        weak_logits, strong_logits: (m, K) logits.
        y: (m,) int64 labels.
        confidence: (m,) C in [0, 1].
        mix: ``"probs"`` or ``"logits"``.
    """
    if mix not in _STAR_MIX:
        raise ValueError(f"star_mix must be one of {_STAR_MIX}, got {mix!r}")
    return nn.functional.nll_loss(
        _mixture_log_probs(weak_logits, strong_logits, confidence, mix), y
    )


def mowst_predict(
    weak_probs: Any,
    strong_probs: Any,
    confidence: Any,
    rule: str = "sample",
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Mowst's inference rule: per node, the weak expert's argmax or the strong one's.

    ``rule="sample"``: draw q_v ~ U[0, 1], weak where q_v < C_v (the paper's rule);
    ``rule="threshold"``: weak where C_v >= 0.5.

    Args:
        weak_probs, strong_probs: (n, K) class probabilities (or logits: only the argmax
            is read).
        confidence: (n,) C in [0, 1].
        rule: ``"sample"`` or ``"threshold"``.
        seed: numpy seed or Generator of the draws.

    Returns:
        (n,) int64 labels.
    """
    if rule not in _INFERENCE:
        raise ValueError(f"inference must be one of {_INFERENCE}, got {rule!r}")
    pw = as_numpy(weak_probs, "weak_probs")
    ps = as_numpy(strong_probs, "strong_probs")
    c = as_numpy(confidence, "confidence").astype(np.float64)
    if pw.ndim != 2 or pw.shape != ps.shape or c.shape != (pw.shape[0],):
        raise ValueError(
            f"weak_probs and strong_probs must be (n, K) and confidence (n,), got "
            f"{pw.shape}, {ps.shape}, {c.shape}"
        )
    if rule == "sample":
        use_weak = np.random.default_rng(seed).random(c.shape[0]) < c
    else:
        use_weak = c >= 0.5
    return np.where(use_weak, pw.argmax(1), ps.argmax(1)).astype(np.int64)


# ----------------------------------------------------------------------------- experts


class MLP(nn.Module):
    """The weak expert: ``layers`` linear maps in_dim -> hidden -> ... -> out_dim, ReLU and
    dropout between them, and dropout on the input too with ``input_dropout`` (as
    :class:`~sciml.graph.gnn.GCN`; the gate's MLP has none, as the reference's GateMLP).

    ``forward(x, graph=None)``: x (n, in_dim) -> (n, out_dim); the graph is ignored, so the
    module follows the node-classifier protocol of :mod:`sciml.graph.gnn`.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        layers: int = 2,
        dropout: float = 0.5,
        input_dropout: bool = True,
    ):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", 1)
        check_int(hidden, "hidden", 1)
        self.input_dropout = bool(input_dropout)
        self.dropout = gnn._check_dropout(dropout)
        dims = gnn._dims(in_dim, hidden, out_dim, layers)
        self.lins = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))

    def prepare_graph(self, graph: Any, num_nodes: int) -> None:
        """Nothing to prepare: the MLP reads no graph."""
        return None

    def forward(self, x: torch.Tensor, graph: Any = None) -> torch.Tensor:
        """(n, in_dim) -> (n, out_dim) logits."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (n, {self.in_dim}), got {tuple(x.shape)}")
        h = x
        for i, lin in enumerate(self.lins):
            if i > 0 or self.input_dropout:
                h = nn.functional.dropout(h, self.dropout, self.training)
            h = lin(h)
            if i < len(self.lins) - 1:
                h = torch.relu(h)
        return h


def expert_class(spec: str | Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """The class (or factory) of an expert named ``spec`` (see the module docstring)."""
    if not isinstance(spec, str):
        if not callable(spec):
            raise ValueError(f"an expert must be a name or a class/factory, got {spec!r}")
        return spec
    name = spec.lower()
    if name == "mlp":
        return MLP
    if name not in EXPERT_CLASSES:
        raise ValueError(
            f"unknown expert {spec!r}; expected 'mlp' or one of {list(EXPERT_CLASSES)}"
        )
    cls = getattr(gnn, EXPERT_CLASSES[name], None)
    if cls is None:
        raise ValueError(
            f"expert {spec!r} needs sciml.graph.gnn.{EXPERT_CLASSES[name]}, which this version "
            "does not have"
        )
    return cls


def build_expert(
    spec: str | Callable[..., nn.Module],
    in_dim: int,
    hidden: int,
    out_dim: int,
    layers: int,
    dropout: float,
    **kwargs: Any,
) -> nn.Module:
    """``cls(in_dim, hidden, out_dim, layers=..., dropout=..., **kwargs)`` for the expert
    ``spec``; ``layers`` and ``dropout`` go by whichever of ``layers``/``num_layers`` and
    ``dropout`` the constructor names (left out when it takes neither)."""
    cls = expert_class(spec)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        params = {}
    extra: dict[str, Any] = {}
    has_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for names, value in ((("layers", "num_layers"), layers), (("dropout",), dropout)):
        name = next((n for n in names if n in params), names[0] if has_var_kw else None)
        if name is not None and name not in kwargs:
            extra[name] = value
    model = cls(in_dim, hidden, out_dim, **extra, **kwargs)
    if not isinstance(model, nn.Module):
        raise ValueError(f"the expert factory must return an nn.Module, got {type(model).__name__}")
    return model


def _prepare(model: nn.Module, graph: Any, n: int) -> Any:
    prepare = getattr(model, "prepare_graph", None)
    return prepare(graph, n) if callable(prepare) else graph


def _set_dropout(model: nn.Module, p: float) -> None:
    """Set the model's own float ``dropout`` attribute (its feature dropout, as the
    reference's ``model.dropout = dropout_gate``) to ``p``; inner modules keep theirs."""
    if isinstance(getattr(model, "dropout", None), float):
        model.dropout = p


# ----------------------------------------------------------------------------- data


def _get(data: Any, key: str) -> Any:
    if isinstance(data, Mapping):
        if key not in data:
            raise ValueError(f"data has no {key!r}")
        return data[key]
    if not hasattr(data, key):
        raise ValueError(f"data has no attribute {key!r}")
    return getattr(data, key)


def _read_graph(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Checked (x (n, F) float64, edge_index (2, E) int64) of ``data``."""
    x = as_numpy(_get(data, "x"), "x")
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (n, F) with n, F >= 1, got {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"x must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"x has {int((~np.isfinite(x)).sum())} NaN or infinite values")
    ei = as_numpy(_get(data, "edge_index"), "edge_index")
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {ei.shape}")
    if ei.size and not np.issubdtype(ei.dtype, np.integer):
        raise ValueError(f"edge_index must hold integers, got dtype {ei.dtype}")
    ei = ei.astype(np.int64, copy=False)
    n = x.shape[0]
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        raise ValueError(f"edge_index ids must be in [0, {n}), got [{ei.min()}, {ei.max()}]")
    return x, ei


def _read_mask(data: Any, key: str, n: int) -> np.ndarray:
    m = as_numpy(_get(data, key), key)
    if m.dtype != np.bool_:
        raise ValueError(f"{key} must be a boolean array, got dtype {m.dtype}")
    if m.shape != (n,):
        raise ValueError(f"{key} must have shape ({n},) (one entry per node), got {m.shape}")
    if not m.any():
        raise ValueError(f"{key} selects no node")
    return m


def _read_labels(data: Any, n: int) -> np.ndarray:
    y = as_numpy(_get(data, "y"), "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be ({n},) integer labels, got shape {y.shape}, {y.dtype}")
    return y.astype(np.int64)


def mixed_informativeness_sbm(
    n_nodes: int = 3000,
    n_classes: int = 4,
    mean_degree: float = 4.0,
    homophily: float = 0.7,
    n_features: int = 16,
    feature_signal: float = 3.0,
    informative_frac: float = 0.5,
    train_frac: float = 0.1,
    val_frac: float = 0.1,
    seed: int | None = None,
) -> tuple[ContextualSBM, np.ndarray]:
    """A homophilous contextual SBM (:func:`sciml.data.graphs.contextual_sbm`) where only a
    random ``informative_frac`` of the nodes keep their informative features; the other
    nodes' features are replaced by N(0, I) noise, so they can be classified only from
    their neighbours.

    Returns:
        ``(data, informative)``: the :class:`~sciml.data.graphs.ContextualSBM` with the
        replaced features, and the (n,) bool mask of the nodes that kept theirs.
    """
    if not 0.0 <= informative_frac <= 1.0:
        raise ValueError(f"informative_frac must be in [0, 1], got {informative_frac!r}")
    data = contextual_sbm(
        n_nodes,
        n_classes,
        mean_degree=mean_degree,
        homophily=homophily,
        n_features=n_features,
        feature_signal=feature_signal,
        train_frac=train_frac,
        val_frac=val_frac,
        seed=seed,
    )
    rng = np.random.default_rng(None if seed is None else [seed, 1])
    n = data.num_nodes
    informative = np.zeros(n, dtype=bool)
    informative[rng.permutation(n)[: round(informative_frac * n)]] = True
    noisy = ~informative
    data.x = data.x.copy()
    data.x[noisy] = rng.standard_normal((int(noisy.sum()), data.x.shape[1]))
    return data, informative


# ----------------------------------------------------------------------------- Mowst


class Mowst:
    """Mixture of a weak and a strong expert with a confidence gate (module docstring).

    Args:
        weak: the weak expert (``"mlp"`` or another name/class, see the module docstring).
        strong: the strong expert (``"gcn"``, ``"sage"``, ``"gin"``, ``"gat"`` or a class).
        star: train and predict as Mowst* (joint loss on the mixture, mixture inference).
        confidence: ``"learned"``, ``"variance"`` or ``"entropy"`` (:class:`ConfidenceGate`).
        gate_features: the learned gate also reads the node's self-features.
        alpha: exponent of the fixed confidences.
        detach_dispersion: no gradient from C to the weak expert (the reference's).
        hidden, layers: width and depth of the weak expert and of the gate.
        strong_hidden, strong_layers: the strong expert's (default: hidden, layers).
        strong_kwargs: more keyword arguments of the strong expert's constructor.
        dropout: the experts' dropout in pretraining; gate_dropout: the experts' and the
            gate's in the Mowst phase (None: ``dropout``).
        lr: Adam's learning rate in pretraining and in Mowst's turns; gate_lr: the joint
            optimiser's in Mowst* (None: ``lr``).
        weight_decay: the optimisers' weight decay.
        pretrain: ``"none"``, ``"weak"``, ``"strong"`` or ``"both"``.
        epochs: the most epochs of a pretraining run, a Mowst turn or Mowst* training.
        patience: epochs without a better validation accuracy before one of those stops.
        rounds: the most Mowst rounds (weak turn + strong turn).
        round_patience: rounds without a better validation accuracy before Mowst stops.
        inference: Mowst's rule, ``"sample"`` or ``"threshold"`` (:func:`mowst_predict`).
        star_mix: Mowst*'s mixture, ``"probs"`` or ``"logits"`` (:func:`mowst_star_loss`).
        frozen_dropout: the frozen expert (and gate) of a Mowst turn keep dropout on.
        n_classes: K (None: 1 + the largest training or validation label).
        seed: seeds the initialisation, dropout and :meth:`predict`'s draws.
        device: torch device of the models.
        progress: show a tqdm bar over the rounds (Mowst*: epochs).

    After :meth:`fit`, the model holds ``weak_``, ``strong_`` and ``gate_`` (modules, eval
    mode), ``n_classes_`` and ``history_`` (dict: pretraining results, per-round validation
    accuracies, seconds).
    """

    def __init__(
        self,
        weak: str | Callable[..., nn.Module] = "mlp",
        strong: str | Callable[..., nn.Module] = "gcn",
        *,
        star: bool = False,
        confidence: str = "learned",
        gate_features: bool = False,
        alpha: float = 1.0,
        detach_dispersion: bool = True,
        hidden: int = 64,
        layers: int = 2,
        strong_hidden: int | None = None,
        strong_layers: int | None = None,
        strong_kwargs: dict[str, Any] | None = None,
        dropout: float = 0.5,
        gate_dropout: float | None = None,
        lr: float = 0.01,
        gate_lr: float | None = None,
        weight_decay: float = 5e-4,
        pretrain: str = "both",
        epochs: int = 200,
        patience: int = 50,
        rounds: int = 20,
        round_patience: int = 3,
        inference: str = "sample",
        star_mix: str = "probs",
        frozen_dropout: bool = True,
        n_classes: int | None = None,
        seed: int = 0,
        device: str | torch.device | None = None,
        progress: bool = False,
    ):
        for name, spec in (("weak", weak), ("strong", strong)):
            if isinstance(spec, str) and spec.lower() not in ("mlp", *EXPERT_CLASSES):
                raise ValueError(
                    f"unknown {name} expert {spec!r}; expected 'mlp' or one of "
                    f"{list(EXPERT_CLASSES)}"
                )
            if not isinstance(spec, str) and not callable(spec):
                raise ValueError(f"{name} must be a name or a class/factory, got {spec!r}")
        if confidence not in _CONFIDENCE:
            raise ValueError(f"confidence must be one of {_CONFIDENCE}, got {confidence!r}")
        if pretrain not in _PRETRAIN:
            raise ValueError(f"pretrain must be one of {_PRETRAIN}, got {pretrain!r}")
        if inference not in _INFERENCE:
            raise ValueError(f"inference must be one of {_INFERENCE}, got {inference!r}")
        if star_mix not in _STAR_MIX:
            raise ValueError(f"star_mix must be one of {_STAR_MIX}, got {star_mix!r}")
        if gate_features and confidence != "learned":
            raise ValueError("gate_features needs confidence='learned'")
        for name, p in (("dropout", dropout), ("gate_dropout", gate_dropout)):
            if p is not None:
                gnn._check_dropout(p, name)
        for name, v in (("lr", lr), ("gate_lr", gate_lr)):
            if v is not None:
                check_real(v, name, 0, strict=True)
        check_real(weight_decay, "weight_decay", 0)
        check_real(alpha, "alpha", 0, strict=True)
        self.weak = weak
        self.strong = strong
        self.star = bool(star)
        self.confidence = confidence
        self.gate_features = bool(gate_features)
        self.alpha = float(alpha)
        self.detach_dispersion = bool(detach_dispersion)
        self.hidden = check_int(hidden, "hidden", 1)
        self.layers = check_int(layers, "layers", 1)
        self.strong_hidden = (
            self.hidden if strong_hidden is None else check_int(strong_hidden, "strong_hidden", 1)
        )
        self.strong_layers = (
            self.layers if strong_layers is None else check_int(strong_layers, "strong_layers", 1)
        )
        self.strong_kwargs = dict(strong_kwargs or {})
        self.dropout = float(dropout)
        self.gate_dropout = self.dropout if gate_dropout is None else float(gate_dropout)
        self.lr = float(lr)
        self.gate_lr = self.lr if gate_lr is None else float(gate_lr)
        self.weight_decay = float(weight_decay)
        self.pretrain = pretrain
        self.epochs = check_int(epochs, "epochs", 1)
        self.patience = check_int(patience, "patience", 1)
        self.rounds = check_int(rounds, "rounds", 1)
        self.round_patience = check_int(round_patience, "round_patience", 0)
        self.inference = inference
        self.star_mix = star_mix
        self.frozen_dropout = bool(frozen_dropout)
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes", 2)
        self.seed = check_int(seed, "seed")
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.progress = bool(progress)

    # -------------------------------------------------------------- fitting

    def fit(self, data: Any) -> Mowst:
        """Train on ``data`` (a dict or object with ``x`` (n, F), ``edge_index`` (2, E),
        ``y`` (n,), ``train_mask``, ``val_mask`` (n,) bool; ``test_mask`` is not read).

        Raises:
            ValueError: missing keys, wrong shapes or dtypes, NaN features, out-of-range
                node ids, empty masks, labels outside [0, n_classes).
        """
        x_np, ei = _read_graph(data)
        n = x_np.shape[0]
        y_np = _read_labels(data, n)
        train = _read_mask(data, "train_mask", n)
        val = _read_mask(data, "val_mask", n)
        used = np.concatenate([y_np[train], y_np[val]])
        k = self.n_classes if self.n_classes is not None else int(used.max()) + 1
        if k < 2:
            raise ValueError(f"need at least 2 classes, got n_classes = {k}")
        if used.min() < 0 or used.max() >= k:
            raise ValueError(f"training and validation labels must be in [0, {k})")
        self.n_classes_ = k
        self.n_features_ = x_np.shape[1]
        dev = self.device
        x = torch.as_tensor(x_np, dtype=torch.float32, device=dev)
        y = torch.as_tensor(y_np, device=dev)
        tr = torch.as_tensor(train, device=dev)
        va = torch.as_tensor(val, device=dev)
        start = time.perf_counter()
        self.history_: dict[str, Any] = {"pretrain": {}, "rounds": []}
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(self.seed)
            f = x.shape[1]
            self.weak_ = build_expert(self.weak, f, self.hidden, k, self.layers, self.dropout).to(
                dev
            )
            self.strong_ = build_expert(
                self.strong,
                f,
                self.strong_hidden,
                k,
                self.strong_layers,
                self.dropout,
                **self.strong_kwargs,
            ).to(dev)
            self.gate_ = ConfidenceGate(
                self.confidence,
                f,
                self.hidden,
                self.layers,
                self.gate_dropout,
                self_features=self.gate_features,
                alpha=self.alpha,
                detach=self.detach_dispersion,
            ).to(dev)
            self._graph_key = ei
            graphs = (_prepare(self.weak_, ei, n), _prepare(self.strong_, ei, n))
            for which, model in (("weak", self.weak_), ("strong", self.strong_)):
                if self.pretrain in (which, "both"):
                    res = gnn.train_node_classifier(
                        model,
                        x,
                        ei,
                        y_np,
                        train,
                        val,
                        epochs=self.epochs,
                        lr=self.lr,
                        weight_decay=self.weight_decay,
                        patience=self.patience,
                        seed=self.seed + (1 if which == "strong" else 0),
                        progress=self.progress,
                    )
                    self.history_["pretrain"][which] = res
            _set_dropout(self.weak_, self.gate_dropout)
            _set_dropout(self.strong_, self.gate_dropout)
            if self.star:
                self._fit_star(x, graphs, y, tr, va)
            else:
                self._fit_mowst(x, graphs, y, tr, va)
        for m in self._modules():
            m.eval()
        self.history_["seconds"] = time.perf_counter() - start
        return self

    def _modules(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        return self.weak_, self.strong_, self.gate_

    def _state(self) -> list[dict[str, torch.Tensor]]:
        return [copy.deepcopy(m.state_dict()) for m in self._modules()]

    def _load(self, state: list[dict[str, torch.Tensor]]) -> None:
        for m, s in zip(self._modules(), state, strict=True):
            m.load_state_dict(s)

    def _forward(
        self, x: torch.Tensor, graphs: tuple[Any, Any], trained: tuple[nn.Module, ...] = ()
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(weak logits, strong logits, C); modules not in ``trained`` run without grad."""

        def run(module: nn.Module, *args: Any) -> torch.Tensor:
            with torch.set_grad_enabled(torch.is_grad_enabled() and module in trained):
                return module(*args)

        zw = run(self.weak_, x, graphs[0])
        zs = run(self.strong_, x, graphs[1])
        return zw, zs, run(self.gate_, zw, x)

    @torch.no_grad()
    def _validate(
        self, x: torch.Tensor, graphs: tuple[Any, Any], y: torch.Tensor, mask: torch.Tensor
    ) -> tuple[float, float]:
        """(validation accuracy under the model's rule, validation loss), eval mode."""
        for m in self._modules():
            m.eval()
        zw, zs, c = self._forward(x, graphs)
        zw, zs, c, ym = zw[mask], zs[mask], c[mask], y[mask]
        if self.star:
            logp = _mixture_log_probs(zw, zs, c, self.star_mix)
            return (
                float((logp.argmax(1) == ym).double().mean()),
                float(nn.functional.nll_loss(logp, ym)),
            )
        loss = float(mowst_loss(zw, zs, ym, c))
        right_w = (zw.argmax(1) == ym).double()
        right_s = (zs.argmax(1) == ym).double()
        cd = c.double()
        if self.inference == "sample":
            acc = float((cd * right_w + (1 - cd) * right_s).mean())
        else:
            acc = float(torch.where(cd >= 0.5, right_w, right_s).mean())
        return acc, loss

    def _run_epochs(
        self,
        optimizer: torch.optim.Optimizer,
        train_mods: tuple[nn.Module, ...],
        loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
        x: torch.Tensor,
        graphs: tuple[Any, Any],
        y: torch.Tensor,
        va: torch.Tensor,
        bar: Any = None,
    ) -> tuple[tuple[float, float], list[dict[str, torch.Tensor]] | None, int]:
        """Up to ``epochs`` optimiser steps on ``train_mods`` (the other modules frozen:
        no grad, train mode with ``frozen_dropout`` else eval mode); early stopping on the
        validation (accuracy, -loss). Returns (best key, best state or None, epochs run)."""
        best_key, best_state, best_epoch = (-1.0, -math.inf), None, -1
        epoch = 0
        for epoch in range(self.epochs):
            for m in self._modules():
                m.train(self.frozen_dropout or m in train_mods)
            optimizer.zero_grad()
            zw, zs, c = self._forward(x, graphs, train_mods)
            loss = loss_fn(zw, zs, c, y)
            loss.backward()
            optimizer.step()
            acc, vloss = self._validate(x, graphs, y, va)
            if (acc, -vloss) > best_key:
                best_key, best_state, best_epoch = (acc, -vloss), self._state(), epoch
            elif epoch - best_epoch >= self.patience:
                break
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.3f}", val=f"{acc:.3f}")
        return best_key, best_state, epoch + 1

    def _fit_mowst(
        self,
        x: torch.Tensor,
        graphs: tuple[Any, Any],
        y: torch.Tensor,
        tr: torch.Tensor,
        va: torch.Tensor,
    ) -> None:
        from tqdm.auto import tqdm

        weak_params = list(self.weak_.parameters()) + list(self.gate_.parameters())
        opt_w = torch.optim.AdamW(weak_params, lr=self.lr, weight_decay=self.weight_decay)
        opt_s = torch.optim.AdamW(
            self.strong_.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )

        def loss_fn(zw: torch.Tensor, zs: torch.Tensor, c: torch.Tensor, yy: torch.Tensor):
            return mowst_loss(zw[tr], zs[tr], yy[tr], c[tr])

        best_key: tuple[float, float] = (-1.0, -math.inf)
        best_state = self._state()
        stale = 0
        bar = tqdm(range(self.rounds), desc="mowst", disable=not self.progress, leave=False)
        for r in bar:
            turn_ref = best_key
            for opt, mods in ((opt_w, (self.weak_, self.gate_)), (opt_s, (self.strong_,))):
                before = self._state()
                key, state, _ = self._run_epochs(opt, mods, loss_fn, x, graphs, y, va)
                if state is not None and key > turn_ref:
                    self._load(state)
                    turn_ref = key
                else:
                    self._load(before)
            key = self._validate(x, graphs, y, va)
            key = (key[0], -key[1])
            self.history_["rounds"].append({"round": r, "val_accuracy": key[0]})
            if key > best_key:
                best_key, best_state, stale = key, self._state(), 0
            else:
                stale += 1
                if stale > self.round_patience:
                    break
            if self.progress:
                bar.set_postfix(val=f"{key[0]:.3f}")
        self._load(best_state)
        self.history_["best_val_accuracy"] = best_key[0]

    def _fit_star(
        self,
        x: torch.Tensor,
        graphs: tuple[Any, Any],
        y: torch.Tensor,
        tr: torch.Tensor,
        va: torch.Tensor,
    ) -> None:
        params = [p for m in self._modules() for p in m.parameters()]
        opt = torch.optim.AdamW(params, lr=self.gate_lr, weight_decay=self.weight_decay)

        def loss_fn(zw: torch.Tensor, zs: torch.Tensor, c: torch.Tensor, yy: torch.Tensor):
            return mowst_star_loss(zw[tr], zs[tr], yy[tr], c[tr], self.star_mix)

        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=None, desc="mowst*", leave=False)
        key, state, ran = self._run_epochs(opt, self._modules(), loss_fn, x, graphs, y, va, bar)
        if bar is not None:
            bar.close()
        if state is not None:
            self._load(state)
        self.history_["best_val_accuracy"] = key[0]
        self.history_["epochs_run"] = ran

    # -------------------------------------------------------------- inference

    def _check_fitted(self) -> None:
        if not hasattr(self, "weak_"):
            raise NotFittedError("this Mowst is not fitted: call fit(data) first")

    @torch.no_grad()
    def _outputs(self, data: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(weak logits (n, K), strong logits (n, K), C (n,)) on ``data``'s graph."""
        self._check_fitted()
        x_np, ei = _read_graph(data)
        if x_np.shape[1] != self.n_features_:
            raise ValueError(f"x must have {self.n_features_} features, got {x_np.shape[1]}")
        n = x_np.shape[0]
        x = torch.as_tensor(x_np, dtype=torch.float32, device=self.device)
        # the same edge_index object as in fit keeps GCN's cached operator
        key = (
            self._graph_key
            if ei is self._graph_key
            or (ei.shape == self._graph_key.shape and np.array_equal(ei, self._graph_key))
            else ei
        )
        graphs = (_prepare(self.weak_, key, n), _prepare(self.strong_, key, n))
        for m in self._modules():
            m.eval()
        return self._forward(x, graphs)

    def confidence_of(self, data: Any) -> np.ndarray:
        """The gate's C (n,) on ``data`` (x, edge_index)."""
        return self._outputs(data)[2].double().cpu().numpy()

    def expert_proba(self, data: Any) -> tuple[np.ndarray, np.ndarray]:
        """The two experts' class probabilities, each (n, K)."""
        zw, zs, _ = self._outputs(data)
        return (
            torch.softmax(zw.double(), 1).cpu().numpy(),
            torch.softmax(zs.double(), 1).cpu().numpy(),
        )

    def predict_proba(self, data: Any) -> np.ndarray:
        """(n, K) class probabilities: ``C p_w + (1 - C) p_s`` (Mowst, and Mowst* with
        ``star_mix="probs"``), ``softmax(C z_w + (1 - C) z_s)`` (Mowst*, ``"logits"``)."""
        zw, zs, c = self._outputs(data)
        mix = self.star_mix if self.star else "probs"
        return (
            torch.exp(_mixture_log_probs(zw.double(), zs.double(), c.double(), mix)).cpu().numpy()
        )

    def _rule(self, rule: str | None) -> str:
        rule = self.inference if rule is None else rule
        if rule not in _INFERENCE:
            raise ValueError(f"rule must be one of {_INFERENCE}, got {rule!r}")
        return rule

    def predict(
        self,
        data: Any,
        seed: int | np.random.Generator | None = None,
        rule: str | None = None,
    ) -> np.ndarray:
        """(n,) int64 labels: Mowst's rule (``rule``, default ``inference``; the draws
        seeded with ``seed``, default the model's seed), Mowst*'s mixture argmax."""
        if self.star:
            return self.predict_proba(data).argmax(1).astype(np.int64)
        rule = self._rule(rule)
        zw, zs, c = self._outputs(data)
        return mowst_predict(
            zw.cpu().numpy(),
            zs.cpu().numpy(),
            c.cpu().numpy(),
            rule,
            self.seed if seed is None else seed,
        )

    def score(self, data: Any, mask: str | Any = "test_mask", rule: str | None = None) -> float:
        """Accuracy on the nodes of ``mask`` (a key of ``data`` or an (n,) bool array).

        Mowst with the ``"sample"`` rule (``rule``, default ``inference``): the expected
        accuracy of the random rule, ``mean_v [C_v 1(weak right) + (1 - C_v) 1(strong
        right)]`` (what the reference's average over 50 draws estimates); the
        ``"threshold"`` rule and Mowst*: the accuracy of :meth:`predict`.
        """
        zw, zs, c = self._outputs(data)
        n = zw.shape[0]
        if isinstance(mask, str):
            m = _read_mask(data, mask, n)
        else:
            m = _read_mask({"mask": mask}, "mask", n)
        y = _read_labels(data, n)[m]
        rule = self._rule(rule)
        if self.star or rule == "threshold":
            return float((self.predict(data, rule=rule)[m] == y).mean())
        c_m = c.double().cpu().numpy()[m]
        right_w = zw.argmax(1).cpu().numpy()[m] == y
        right_s = zs.argmax(1).cpu().numpy()[m] == y
        return float(np.mean(c_m * right_w + (1 - c_m) * right_s))
