"""LeBeD: label-free estimation of a deployed GNN's test error under distribution shift.

Zheng, Song, Wen, Du and Pan, "Online GNN Evaluation Under Test-time Graph Distribution
Shifts" (ICLR 2024, arXiv 2403.09953); official code Amanda-Zheng/LEBED. A GNN with
parameters θ*_tr was trained on a training graph that is no longer available; a test graph
G_te = (X_te, A_te) arrives without labels. LeBeD (learning behaviour discrepancy) scores
how differently a GNN *learns* on G_te, a proxy of the deployed model's test error:

1. **Test-graph inference** (S1): the deployed model gives the pseudo-labels
   ``ŷ = argmax GNN_θ*(X_te, A_te)`` and node representations Z_te, from which the
   reference structure-reconstruction discrepancy ``D_ref = D_stru(Z_te)`` is computed.
2. **Re-training** (S2): the same architecture, started from the *same initial parameters
   θ_0 as the deployed model*, is trained full batch on G_te with the pseudo-labels
   (cross-entropy over every node: the node-prediction discrepancy D_pred), Adam.
3. **Parameter-free optimality criterion** (S3): after each step the retrained model's
   ``D_stru`` is compared with ``D_ref``; the first epoch (from ``min_epochs`` on) where
   ``|D_stru - D_ref| < margin_rate * D_ref`` gives θ†_te (no extra network is fitted for
   the stopping rule, hence "parameter-free"); without such an epoch the last one is kept.
4. **Score**: ``LeBeD = || θ*_tr - θ†_te ||_2`` over all parameters, flattened. The larger,
   the larger the expected test error of the deployed model.

``D_stru`` is self-supervised link reconstruction on the test graph: with the positive
edges E+ (every column of ``edge_index``) and as many uniformly drawn non-edges E-, the
logit of a pair (i, j) is the cosine similarity of z_i and z_j, and
``D_stru = BCE-with-logits(logits, [1]*|E+| + [0]*|E-|)`` (mean).

What follows the official code (files of Amanda-Zheng/LEBED, read, not copied):
``LEBED-acm-dblp-citation/evaluator_lebed_domain.py`` (functions ``learner_agent``: pseudo
labels and the cosine/BCE reference; ``train_norm``: re-training from the saved initial
parameters, the ``lp_margin_rate`` rule after ``atleastepoch`` epochs, last epoch as
fallback; ``param_diff``: the L2 norm of the flattened parameter difference);
``LEBED-cora-amz/pretrain-lebed.py`` (the initial parameters saved before pre-training,
which is why ``train_graph_stats`` must hold them);
``LEBED-acm-dblp-citation/da_precess_dataset.py`` (negatives: as many as the edges, by
``negative_sampling``); ``LEBED-cora-amz/ATC_helper.py`` (the ATC threshold, max-confidence
score); ``param_space.txt`` (settings: re-training lr 5e-5 to 1e-2, weight decay 0 to 5e-3,
100 to 2,000 epochs, margin rate 0.03 to 0.25, at least 5 to 200 epochs; the defaults here
are the Cora/GCN ones: lr 1e-3, weight decay 5e-4, 500 epochs, margin 0.03, at least 5).

Differences, on purpose: the official code reads D_stru from the training-mode forward of
the step (parameters before the update, dropout on); here D_stru and the distance are both
measured on the parameters after the step, in eval mode, so the rule and the score look at
the same θ. The official models are an encoder plus a linear classifier and Z is the
encoder output; sciml's GCN has no separate head, so Z is the logits by default
(``embedding="logits"``) or the input of the last layer (``embedding="hidden"``, for
sciml's GCN/GraphSAGE/GIN/GAT) or any callable.

**train_graph_stats** (:class:`TrainGraphStats`) holds what the deployment keeps from
training, none of the training graph itself (the paper's setting: the training graph is
unobserved at test time): ``init_state``, the model's state dict *before* training (θ_0;
LeBeD re-trains from it); and, for the ATC baseline only, ``atc_threshold``, the
confidence threshold fitted on the training graph's validation nodes.

The confidence baselines of the paper's comparison (from the deployed model's softmax on the
test graph, no re-training): :func:`average_confidence` (mean max probability, an accuracy
estimate), :func:`average_thresholded_confidence` (ATC, Garg et al., ICLR 2022: the share
of test nodes whose max probability is at least the threshold that matched the validation
accuracy on the training graph, :func:`atc_threshold`) and :func:`average_entropy` (mean
Shannon entropy of the softmax, in nats; grows with the error).

On generated contextual-SBM shift families (benches/bench_graph_lebed.py) LeBeD grows with
feature noise but not with edge rewiring, and ranks mixed shifts worse than the confidence
baselines (Spearman ``|rho|`` about 0.3 against about 0.7): the paper's advantage is not
reproduced there.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from sciml._checks import check_int, check_real
from sciml.graph.backbone import as_numpy

# --- baselines ------------------------------------------------------------------------------


def _check_logits(logits: Any, name: str = "logits") -> Tensor:
    """(n, C) finite float64 logits, n >= 1, C >= 2."""
    t = logits if isinstance(logits, Tensor) else torch.as_tensor(as_numpy(logits, name))
    t = t.detach().cpu()
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] < 2:
        raise ValueError(f"{name} must have shape (n, C) with n >= 1, C >= 2, got {tuple(t.shape)}")
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{name} must hold real numbers, got dtype {t.dtype}")
    t = t.to(torch.float64)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} has NaN or infinite values")
    return t


def average_confidence(logits: Any) -> float:
    """Mean over nodes of the largest softmax probability (an estimate of the accuracy).

    Args:
        logits: (n, C) unnormalised scores (tensor or array).
    """
    return float(torch.softmax(_check_logits(logits), 1).max(1).values.mean())


def average_entropy(logits: Any) -> float:
    """Mean over nodes of the Shannon entropy (nats) of the softmax, in [0, log C].

    Args:
        logits: (n, C) unnormalised scores.
    """
    logp = torch.log_softmax(_check_logits(logits), 1)
    return float(-(logp.exp() * logp).sum(1).mean())


def atc_threshold(val_logits: Any, val_labels: Any) -> float:
    """ATC's threshold (Garg et al., "Leveraging Unlabeled Data to Predict Out-of-Distribution
    Performance", ICLR 2022; max-confidence score): the t for which the share of validation
    nodes with max probability >= t equals the validation accuracy.

    With the scores sorted ascending s_(1) <= ... <= s_(n) and w the number of misclassified
    validation nodes, t = s_(w+1) (then exactly n - w scores are >= t when they are
    distinct); t = +inf when every node is misclassified.

    Args:
        val_logits: (n, C) logits of the training graph's validation nodes.
        val_labels: (n,) their integer labels in [0, C).
    """
    t = _check_logits(val_logits, "val_logits")
    y = as_numpy(val_labels, "val_labels")
    if y.shape != (t.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"val_labels must be ({t.shape[0]},) integers, got {y.shape}, {y.dtype}")
    if (y < 0).any() or (y >= t.shape[1]).any():
        raise ValueError(f"val_labels must be in [0, {t.shape[1]})")
    prob = torch.softmax(t, 1)
    score = prob.max(1).values.numpy()
    wrong = int((prob.argmax(1).numpy() != y).sum())
    if wrong == t.shape[0]:
        return math.inf
    return float(np.sort(score)[wrong])


def average_thresholded_confidence(logits: Any, threshold: float) -> float:
    """ATC's accuracy estimate: the share of nodes whose max softmax probability is >=
    ``threshold`` (:func:`atc_threshold`).

    Args:
        logits: (n, C) logits of the test nodes.
        threshold: a real number (+inf: no node).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
        raise ValueError(f"threshold must be a number, got {threshold!r}")
    if math.isnan(threshold):
        raise ValueError("threshold is NaN")
    conf = torch.softmax(_check_logits(logits), 1).max(1).values
    return float((conf >= threshold).double().mean())


# --- structure reconstruction ---------------------------------------------------------------


def sample_negative_edges(
    edge_index: Any, num_nodes: int, count: int | None = None, seed: int | None = None
) -> np.ndarray:
    """Uniformly drawn distinct ordered pairs (i, j), i != j, that are not columns of
    ``edge_index`` (as PyG's ``negative_sampling``).

    Args:
        edge_index: (2, E) int node pairs with ids in [0, num_nodes).
        num_nodes: n >= 2.
        count: pairs wanted (default E); fewer when the graph has fewer non-edges.
        seed: numpy seed.

    Returns:
        (2, count') int64, count' = min(count, n(n-1) - #distinct non-loop edges).
    """
    n = check_int(num_nodes, "num_nodes", 2)
    ei = _check_edge_index(edge_index, n)
    want = ei.shape[1] if count is None else check_int(count, "count", 0)
    existing = np.unique(ei[0] * n + ei[1])
    loops = existing[(existing // n) == (existing % n)]
    free = n * (n - 1) - (existing.size - loops.size)
    want = min(want, free)
    rng = np.random.default_rng(seed)
    if want == 0:
        return np.zeros((2, 0), dtype=np.int64)
    if want > free // 2:  # dense: enumerate the non-edges and choose among them
        keys = np.arange(n * n, dtype=np.int64)
        keys = keys[(keys // n != keys % n) & ~np.isin(keys, existing)]
        picked = rng.choice(keys, size=want, replace=False)
    else:
        picked = np.zeros(0, dtype=np.int64)
        while picked.size < want:
            draw = rng.integers(0, n * n, size=2 * (want - picked.size) + 16, dtype=np.int64)
            draw = draw[(draw // n != draw % n) & ~np.isin(draw, existing)]
            _, first = np.unique(draw, return_index=True)
            draw = draw[np.sort(first)]
            picked = np.concatenate([picked, draw[~np.isin(draw, picked)]])[:want]
    return np.vstack([picked // n, picked % n]).astype(np.int64)


def structure_discrepancy(embedding: Tensor, pos_edges: Tensor, neg_edges: Tensor) -> Tensor:
    """LeBeD's structure-reconstruction discrepancy D_stru: binary cross-entropy (mean) of
    link logits ``cos(z_i, z_j)`` against 1 on the positive and 0 on the negative pairs.

    Args:
        embedding: (n, d) node representations.
        pos_edges: (2, P) int64 pairs labelled 1; neg_edges: (2, Q) pairs labelled 0.

    Returns:
        A scalar tensor (differentiable in ``embedding``).
    """
    pairs = torch.cat([pos_edges, neg_edges], 1)
    logits = nn.functional.cosine_similarity(embedding[pairs[0]], embedding[pairs[1]], dim=-1)
    target = torch.zeros_like(logits)
    target[: pos_edges.shape[1]] = 1.0
    return nn.functional.binary_cross_entropy_with_logits(logits, target)


# --- inputs ---------------------------------------------------------------------------------


def _get(data: Any, name: str) -> Any:
    if isinstance(data, Mapping):
        return data.get(name)
    return getattr(data, name, None)


def _check_edge_index(edge_index: Any, n: int, name: str = "edge_index") -> np.ndarray:
    ei = as_numpy(edge_index, name)
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"{name} must have shape (2, E), got {ei.shape}")
    if ei.size and not np.issubdtype(ei.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {ei.dtype}")
    ei = ei.astype(np.int64, copy=False)
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        raise ValueError(f"{name} ids must be in [0, {n}), got [{ei.min()}, {ei.max()}]")
    return ei


def _check_features(x: Any) -> np.ndarray:
    xa = as_numpy(x, "x")
    if xa.ndim != 2 or xa.shape[0] == 0:
        raise ValueError(f"x must have shape (n, F) with n >= 1, got {xa.shape}")
    if xa.dtype == np.bool_ or not (
        np.issubdtype(xa.dtype, np.floating) or np.issubdtype(xa.dtype, np.integer)
    ):
        raise ValueError(f"x must hold real numbers, got dtype {xa.dtype}")
    if not np.isfinite(xa).all():
        raise ValueError("x has NaN or infinite values")
    return xa


# --- train graph stats ----------------------------------------------------------------------


def capture_init_state(model: nn.Module) -> dict[str, Tensor]:
    """A detached copy of ``model.state_dict()``: call it on the freshly built model,
    before training, and keep it with the deployment (θ_0 of LeBeD)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@dataclass(frozen=True)
class TrainGraphStats:
    """What a deployed GNN keeps from its training, for :meth:`LeBeD.score` (the paper's
    training graph itself is unobserved at test time).

    Attributes:
        init_state: the model's state dict before training (θ_0), as
            :func:`capture_init_state` gives it; LeBeD re-trains from it.
        atc_threshold: the ATC threshold (:func:`atc_threshold`) fitted on the training
            graph's validation nodes; None: the ATC baseline is not computed.
    """

    init_state: dict[str, Tensor]
    atc_threshold: float | None = None

    @classmethod
    def from_training(
        cls,
        init_state: Mapping[str, Tensor],
        model: nn.Module | None = None,
        x: Any = None,
        graph: Any = None,
        y: Any = None,
        val_mask: Any = None,
    ) -> TrainGraphStats:
        """The stats of a trained ``model``: ``init_state`` and, when the training graph's
        ``x`` (n, F), ``graph`` (what the model takes: an ``edge_index`` (2, E), a Graph),
        labels ``y`` (n,) and ``val_mask`` (n,) bool are given, the ATC threshold on the
        validation nodes (eval mode)."""
        init = _check_state(init_state)
        given = [a is not None for a in (model, x, graph, y, val_mask)]
        if not any(given):
            return cls(init)
        if not all(given):
            raise ValueError("the ATC threshold needs model, x, graph, y and val_mask together")
        assert model is not None
        xa = _check_features(x)
        mask = as_numpy(val_mask, "val_mask")
        if mask.dtype != np.bool_ or mask.shape != (xa.shape[0],) or not mask.any():
            raise ValueError(f"val_mask must be a non-empty ({xa.shape[0]},) boolean mask")
        logits = _forward(model, xa, graph)[0]
        labels = as_numpy(y, "y")
        if labels.shape != (xa.shape[0],):
            raise ValueError(f"y must have shape ({xa.shape[0]},), got {labels.shape}")
        return cls(init, atc_threshold(logits[torch.as_tensor(mask)], labels[mask]))


def _check_state(state: Any) -> dict[str, Tensor]:
    if not isinstance(state, Mapping) or not state:
        raise ValueError("init_state must be a non-empty state dict (name -> tensor)")
    out = {}
    for k, v in state.items():
        if not isinstance(v, Tensor):
            raise ValueError(f"init_state[{k!r}] is not a tensor")
        if torch.is_floating_point(v) and not torch.isfinite(v).all():
            raise ValueError(f"init_state[{k!r}] has NaN or infinite values")
        out[str(k)] = v.detach().clone()
    return out


# --- the score ------------------------------------------------------------------------------


def _prepare(model: nn.Module, graph: Any, n: int) -> Any:
    prepare = getattr(model, "prepare_graph", None)
    return prepare(graph, n) if callable(prepare) else graph


def _hidden(model: nn.Module, x: Tensor, prepared: Any) -> Tensor:
    """The input of the last layer of a sciml GNN (eval mode, no dropout)."""
    convs = getattr(model, "convs", None)
    activation = getattr(model, "_activation", None)
    if not isinstance(convs, nn.ModuleList) or not callable(activation):
        raise ValueError('embedding="hidden" needs a sciml GNN (GCN, GraphSAGE, GIN, GAT)')
    op = model.prepare_graph(prepared, x.shape[0])  # type: ignore[operator]
    if isinstance(op, list):
        raise ValueError('embedding="hidden" needs a whole graph, not blocks')
    h = x
    for conv in list(convs)[:-1]:
        h = activation(conv.propagate(h, op))  # type: ignore[operator]
    return h


def _forward(
    model: nn.Module, x: Any, graph: Any, embedding: Any = "logits", prepared: Any = None
) -> tuple[Tensor, Tensor]:
    """Eval-mode (logits, embedding) of the whole graph, without gradients."""
    param = next(model.parameters())
    xt = torch.as_tensor(np.asarray(x), dtype=param.dtype, device=param.device)
    op = _prepare(model, graph, xt.shape[0]) if prepared is None else prepared
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(xt, op)
            if embedding == "logits":
                z = logits
            elif embedding == "hidden":
                z = _hidden(model, xt, op)
            else:
                z = embedding(model, xt, op)
    finally:
        model.train(was)
    if logits.ndim != 2 or logits.shape[0] != xt.shape[0]:
        raise ValueError(f"the model must return (n, C) logits, got {tuple(logits.shape)}")
    return logits, z


def _copy_module(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` without its prepared-graph cache (sciml GNNs keep one, and
    sparse CSR tensors cannot be deep-copied); the copy rebuilds it when needed."""
    cache = getattr(model, "_cache", None)
    memo: dict[int, Any] = {} if cache is None else {id(cache): None}
    return copy.deepcopy(model, memo)


def _flat(model: nn.Module) -> Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()


@dataclass
class LeBeDResult:
    """What :meth:`LeBeD.score` found on one test graph.

    Attributes:
        lebed: the score ``||θ*_tr - θ†_te||_2`` (larger: larger expected test error).
        average_confidence: mean max softmax probability of the deployed model.
        average_thresholded_confidence: ATC's accuracy estimate (None without a threshold
            in the stats).
        entropy: mean softmax entropy (nats) of the deployed model.
        stop_epoch: the epoch (0-based) of θ†_te.
        criterion_met: whether the structure rule stopped the re-training (else: the last
            epoch).
        d_stru_ref: D_stru of the deployed model on the test graph.
        d_stru: D_stru of θ†_te; d_pred: its cross-entropy on the pseudo-labels.
        pseudo_fit: the share of nodes where θ†_te predicts the pseudo-label.
        pseudo_labels: (n,) int64 the deployed model's predictions.
        history: per epoch ``distance``, ``d_stru``, ``d_pred`` (lists).
        retrained_state: θ†_te as a state dict.
    """

    lebed: float
    average_confidence: float
    average_thresholded_confidence: float | None
    entropy: float
    stop_epoch: int
    criterion_met: bool
    d_stru_ref: float
    d_stru: float
    d_pred: float
    pseudo_fit: float
    pseudo_labels: np.ndarray
    history: dict[str, list[float]] = field(default_factory=dict)
    retrained_state: dict[str, Tensor] = field(default_factory=dict)

    def __float__(self) -> float:
        return self.lebed


class LeBeD:
    """The learning behaviour discrepancy score (see the module docstring).

    Args:
        lr: Adam learning rate of the re-training (official Cora/GCN setting 1e-3).
        weight_decay: Adam weight decay of the re-training (5e-4).
        max_epochs: the most re-training epochs (500).
        min_epochs: epochs before the stopping rule may fire (the official ``atleastepoch``,
            5; 0-based, so the earliest stop is after min_epochs + 1 steps).
        margin_rate: the rule's relative tolerance (``lp_margin_rate``, 0.03): stop when
            ``|D_stru - D_ref| < margin_rate * D_ref``.
        embedding: node representations for D_stru: ``"logits"``, ``"hidden"`` (the input
            of the last layer of a sciml GNN) or a callable ``(model, x, prepared) -> (n, d)``.
        seed: seed of the negative pairs (when the test graph has none) and of dropout.
        keep_history: record the per-epoch trajectory in the result.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        weight_decay: float = 5e-4,
        max_epochs: int = 500,
        min_epochs: int = 5,
        margin_rate: float = 0.03,
        embedding: str | Callable[[nn.Module, Tensor, Any], Tensor] = "logits",
        seed: int = 0,
        keep_history: bool = True,
    ):
        self.lr = check_real(lr, "lr", 0.0, strict=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0.0)
        self.max_epochs = check_int(max_epochs, "max_epochs", 1)
        self.min_epochs = check_int(min_epochs, "min_epochs", 0)
        if self.min_epochs >= self.max_epochs:
            raise ValueError(f"min_epochs ({min_epochs}) must be < max_epochs ({max_epochs})")
        self.margin_rate = check_real(margin_rate, "margin_rate", 0.0, strict=True)
        if not (callable(embedding) or embedding in ("logits", "hidden")):
            raise ValueError(
                f'embedding must be "logits", "hidden" or a callable, got {embedding!r}'
            )
        self.embedding = embedding
        self.seed = check_int(seed, "seed")
        self.keep_history = bool(keep_history)

    def score(
        self, model: nn.Module, train_graph_stats: TrainGraphStats, test_graph: Any
    ) -> LeBeDResult:
        """LeBeD and the confidence baselines of the deployed ``model`` on ``test_graph``.

        Args:
            model: the deployed GNN (θ*_tr), a module ``model(x, prepared)`` -> (n, C) logits
                with ``prepare_graph(edge_index, n)`` where it has one (sciml's GCN,
                GraphSAGE, GIN, GAT); not modified (a copy is re-trained).
            train_graph_stats: :class:`TrainGraphStats` (θ_0 and the optional ATC threshold).
            test_graph: a dict or object with ``x`` (n, F) features and ``edge_index``
                (2, E) int64 (both directions of undirected edges; E >= 1); optionally
                ``neg_edge_index`` (2, Q) non-edges for D_stru (default: E uniform non-edges
                drawn from ``seed``). Labels, if present, are not read.

        Returns:
            :class:`LeBeDResult`.

        Raises:
            ValueError: a model that is not a module or has no parameters, stats whose
                state dict does not fit the model, a test graph without x or edges, NaN
                features, edge ids out of range, logits that are not (n, C).
        """
        if not isinstance(model, nn.Module) or not list(model.parameters()):
            raise ValueError("model must be a torch.nn.Module with parameters")
        if not isinstance(train_graph_stats, TrainGraphStats):
            raise ValueError(
                "train_graph_stats must be a TrainGraphStats, got "
                f"{type(train_graph_stats).__name__}"
            )
        x, edge_index, neg = self._test_inputs(test_graph)
        n = x.shape[0]
        param = next(model.parameters())
        device, dtype = param.device, param.dtype
        xt = torch.as_tensor(x, dtype=dtype, device=device)
        ei = torch.as_tensor(edge_index, device=device)
        pos_t, neg_t = ei, torch.as_tensor(neg, device=device)

        # S1: inference of the deployed model
        prepared = _prepare(model, ei, n)
        logits, z = _forward(model, x, ei, self.embedding, prepared)
        if logits.shape[1] < 2:
            raise ValueError("the model must return at least 2 class logits")
        pseudo = logits.argmax(1)
        d_ref = float(structure_discrepancy(z.double(), pos_t, neg_t))
        theta_star = _flat(model)
        atc = (
            None
            if train_graph_stats.atc_threshold is None
            else average_thresholded_confidence(logits, train_graph_stats.atc_threshold)
        )

        # S2: re-training from θ_0 on the pseudo-labels
        student = _copy_module(model)
        try:
            student.load_state_dict(train_graph_stats.init_state, strict=True)
        except RuntimeError as e:
            raise ValueError(f"train_graph_stats.init_state does not fit the model: {e}") from None
        optimizer = torch.optim.Adam(
            student.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        history: dict[str, list[float]] = {"distance": [], "d_stru": [], "d_pred": []}
        chosen: tuple[int, float, float, float, float, dict[str, Tensor]] | None = None
        met = False
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            for epoch in range(self.max_epochs):
                student.train()
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(student(xt, prepared), pseudo)
                loss.backward()
                optimizer.step()
                # S3: the structure rule, on the updated parameters
                out, zs = _forward(student, x, ei, self.embedding, prepared)
                d_stru = float(structure_discrepancy(zs.double(), pos_t, neg_t))
                d_pred = float(nn.functional.cross_entropy(out.double(), pseudo))
                dist = float(torch.linalg.vector_norm(_flat(student) - theta_star))
                if self.keep_history:
                    history["distance"].append(dist)
                    history["d_stru"].append(d_stru)
                    history["d_pred"].append(d_pred)
                if epoch < self.min_epochs:
                    continue
                met = abs(d_stru - d_ref) < self.margin_rate * d_ref
                if met or epoch == self.max_epochs - 1:
                    fit = float((out.argmax(1) == pseudo).double().mean())
                    state = {k: v.detach().clone() for k, v in student.state_dict().items()}
                    chosen = (epoch, dist, d_stru, d_pred, fit, state)
                    break
        assert chosen is not None
        epoch, dist, d_stru, d_pred, fit, state = chosen
        return LeBeDResult(
            lebed=dist,
            average_confidence=average_confidence(logits),
            average_thresholded_confidence=atc,
            entropy=average_entropy(logits),
            stop_epoch=epoch,
            criterion_met=met,
            d_stru_ref=d_ref,
            d_stru=d_stru,
            d_pred=d_pred,
            pseudo_fit=fit,
            pseudo_labels=pseudo.cpu().numpy().astype(np.int64),
            history=history,
            retrained_state=state,
        )

    def _test_inputs(self, test_graph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, ei = _get(test_graph, "x"), _get(test_graph, "edge_index")
        if x is None or ei is None:
            raise ValueError("test_graph must hold x (n, F) and edge_index (2, E)")
        xa = _check_features(x)
        n = xa.shape[0]
        edges = _check_edge_index(ei, n)
        if edges.shape[1] == 0:
            raise ValueError("the test graph has no edge: structure reconstruction needs edges")
        neg = _get(test_graph, "neg_edge_index")
        if neg is None:
            if n < 2:
                raise ValueError("the test graph needs at least 2 nodes")
            neg = sample_negative_edges(edges, n, seed=self.seed)
        else:
            neg = _check_edge_index(neg, n, "neg_edge_index")
        return xa, edges, neg
