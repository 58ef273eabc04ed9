"""Robust fidelity of GNN explanations, the plain fidelity, and two edge explainers.

Zheng, Shirani, Wang, Cheng, Chen, Chen, Wei and Luo, "Towards Robust Fidelity for
Evaluating Explainability of Graph Neural Networks" (ICLR 2024, arXiv 2310.01820). The
plain fidelities remove the whole explanation (Fid+) or everything else (Fid−) and so feed
the model graphs far from its training distribution; the robust ones remove a small random
part instead and average over samples.

Conventions (those of the authors' code, AslanDing/Fidelity: ``tools/fidelity.py``,
functions ``cal_ori_fid``, ``edit_distance_gt_ratio_plus`` and
``edit_distance_gt_ratio_minus``; the experiment driver
``ExplanationEvaluation/tasks/replication_table.py``, ``run_edit_distance_deltafid_ratio``
and ``experiment_new_fid_ratio_editdistance``, called with ``k_p = k_m = 0.1``):

- For a target node v with label y (``target="label"``: the data's label, the code's
  default ``pred_label=False``; ``target="prediction"``: the model's prediction on the
  whole graph) and p(G) the model's softmax at v on graph G:
  probability form ``p(G)[y] − p(G')[y]``, accuracy form ``1[argmax p(G) = y] −
  1[argmax p(G') = y]``, each averaged over the samples G' and then over the targets.
- Fid_{α1,+}: each explanation edge is removed independently with probability α1
  (Bernoulli draws, ``np.random.binomial(1, k)`` in the code; the paper's random subgraph
  of about α1·``|E_expl|`` edges is their mean), every other edge kept.
- Fid_{α2,−}: the explanation is kept and each non-explanation edge is *kept* with
  probability α2, i.e. removed with probability 1 − α2 (the code's ``k_m = 0.1`` is the
  removal rate; the paper's and README's α2 = 0.9 the share kept).
- Fid_{Δ} = Fid+ − Fid− in both forms (``delta_fid_prob = fid_plus_mean −
  fid_minus_mean``).
- ``samples`` draws per target (the code's ``max_length = 50``); a draw that removes
  nothing still counts (it contributes 0).
- Undirected graphs: the two directions of an edge are one unit, removed together (the
  code's ``undirect=True`` pairing of (min, max) node ids). Here columns are grouped by
  their unordered node pair, so duplicates go with them; a column without a reverse is a
  unit of its own (the code would skip it). ``undirected=False`` draws per column (the
  code's ``undirect=False``, which its node-task driver uses).
- Removing an edge = deleting its column from ``edge_index``; the code sets its weight
  to 0, the same for a GCN (self-loops are added apart, so the degrees drop by the weight).
- Plain fidelity (``cal_ori_fid``): Fid+ removes every explanation edge, Fid− keeps
  only the explanation edges; same forms and signs.
- Explanations are binary (the code's "here should be a binary mask"): boolean (or 0/1)
  masks over the columns of ``edge_index``, one (E,) mask shared by every target or one
  (T, E) row per target. Soft scores from the explainers become masks by
  :func:`top_k_edges`.

For node tasks the code evaluates on the 3-hop subgraph of the target; here the whole
graph by default, or the subgraph induced by the nodes within ``num_hops`` of each target
when given — exact for a model whose output at v depends only on that subgraph (an
L-layer GCN needs ``num_hops = L + 1``: the degrees of the nodes L hops away enter its
normalisation).

Evaluation is batched: the perturbed copies of a target's graph are stacked as disjoint
graphs (node ids offset) into one ``model(edge_index, x)`` call of at most
``max_batch_nodes`` nodes, under ``torch.no_grad`` and in eval mode. The model must
therefore treat disjoint components independently, as message-passing GNNs without
graph-level pooling or batch statistics do; ``max_batch_nodes=1`` evaluates one copy per
call.

Explainers (soft (T, E) scores, symmetric over an edge's two directions):
:func:`saliency_explanation` (``|∂ log p_y / ∂ w_e|`` at unit edge weights) and
:func:`gnnexplainer_explanation` (Ying et al., NeurIPS 2019: a sigmoid edge mask optimised
with Adam to keep the prediction, plus a size penalty ``size_coef · Σ m`` and an entropy
penalty ``entropy_coef · mean H(m)``). Both need ``model(edge_index, x, edge_weight=w)``;
:class:`EdgeWeightGCN` wraps a :class:`~sciml.graph.gnn.GCN` that way (PyG's weighted
GCN normalisation ``D̃^-1/2 (A_w + I) D̃^-1/2``, D̃ the weighted in-degrees + 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from sciml._checks import check_int
from sciml.graph.sparse_ops import EdgeProduct

__all__ = [
    "EdgeWeightGCN",
    "edge_groups",
    "gnnexplainer_explanation",
    "plain_fidelity",
    "robust_fidelity",
    "saliency_explanation",
    "top_k_edges",
]

KEYS = ("fid_plus", "fid_minus", "fid_delta", "fid_plus_acc", "fid_minus_acc", "fid_delta_acc")


# ----------------------------------------------------------------------------- inputs


def _numpy(a: Any, name: str) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array: {exc}") from None


def _field(data: Any, name: str) -> Any:
    if isinstance(data, dict):
        if name not in data:
            raise ValueError(f"data has no {name!r}")
        return data[name]
    if not hasattr(data, name):
        raise ValueError(f"data has no attribute {name!r}")
    return getattr(data, name)


class _Graph:
    """Checked inputs: x (n, F) float tensor, edge_index (2, E) int64 numpy, y (n,) int64
    or None, index (T,) int64 targets."""

    def __init__(self, data: Any, need_y: bool):
        x = _field(data, "x")
        xt = x.detach() if isinstance(x, Tensor) else torch.as_tensor(_numpy(x, "x"))
        if xt.ndim != 2:
            raise ValueError(f"x must have shape (n, F), got {tuple(xt.shape)}")
        if not (torch.is_floating_point(xt) or xt.dtype in (torch.int32, torch.int64)):
            raise ValueError(f"x must hold real numbers, got {xt.dtype}")
        if torch.is_floating_point(xt) and not torch.isfinite(xt).all():
            raise ValueError("x has NaN or infinite values")
        self.x = xt
        n = self.n = int(xt.shape[0])
        ei = _numpy(_field(data, "edge_index"), "edge_index")
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise ValueError(f"edge_index must have shape (2, E), got {ei.shape}")
        if ei.size and not np.issubdtype(ei.dtype, np.integer):
            raise ValueError(f"edge_index must hold integers, got dtype {ei.dtype}")
        ei = ei.astype(np.int64)
        if ei.size and (ei.min() < 0 or ei.max() >= n):
            raise ValueError(f"edge_index ids must be in [0, {n}), got [{ei.min()}, {ei.max()}]")
        self.edge_index = ei
        self.e = int(ei.shape[1])
        idx = _numpy(_field(data, "index"), "index")
        idx = idx.reshape(-1)
        if idx.size == 0:
            raise ValueError("index selects no target node")
        if not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"index must hold integer node ids, got dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"index ids must be in [0, {n}), got [{idx.min()}, {idx.max()}]")
        self.index = idx.astype(np.int64)
        self.y: np.ndarray | None = None
        y = data.get("y") if isinstance(data, dict) else getattr(data, "y", None)
        if y is not None:
            ya = _numpy(y, "y")
            if ya.shape != (n,) or not np.issubdtype(ya.dtype, np.integer):
                raise ValueError(f"y must be ({n},) integer labels, got {ya.shape}, {ya.dtype}")
            self.y = ya.astype(np.int64)
        elif need_y:
            raise ValueError("data has no 'y' (needed with target='label')")


def edge_groups(edge_index: Any, num_nodes: int | None = None) -> np.ndarray:
    """(E,) int64 unit id of each column of ``edge_index`` (2, E): columns joining the same
    unordered node pair {u, v} share an id (the two directions of an undirected edge, and
    repeats), ids 0..U-1 in order of the pair (min, max)."""
    ei = _numpy(edge_index, "edge_index").astype(np.int64)
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {ei.shape}")
    n = int(ei.max()) + 1 if num_nodes is None and ei.size else (num_nodes or 0)
    key = np.minimum(ei[0], ei[1]) * n + np.maximum(ei[0], ei[1])
    return np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _units(g: _Graph, undirected: bool) -> tuple[np.ndarray, int]:
    if not undirected:
        return np.arange(g.e, dtype=np.int64), g.e
    groups = edge_groups(g.edge_index, g.n)
    return groups, int(groups.max()) + 1 if groups.size else 0


def _masks(mask: Any, g: _Graph, groups: np.ndarray, n_units: int) -> np.ndarray:
    """(T, U) bool explanation per target and unit, checked."""
    m = _numpy(mask, "explanation_edge_mask")
    if m.dtype != np.bool_:
        if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
            raise ValueError(f"explanation_edge_mask must be boolean, got dtype {m.dtype}")
        if not np.isin(m, (0, 1)).all():
            raise ValueError(
                "explanation_edge_mask must be boolean (or 0/1); binarise soft scores first, "
                "e.g. with top_k_edges(scores, edge_index, k)"
            )
        m = m.astype(bool)
    t = g.index.size
    if m.ndim == 1:
        m = m[None]
    if m.ndim != 2 or m.shape[1] != g.e or m.shape[0] not in (1, t):
        raise ValueError(
            f"explanation_edge_mask must have shape ({g.e},) or ({t}, {g.e}) (E columns of "
            f"edge_index, T targets), got {_numpy(mask, 'mask').shape}"
        )
    per_unit = np.zeros((m.shape[0], n_units), dtype=bool)
    count = np.zeros((m.shape[0], n_units), dtype=np.int64)
    for r in range(m.shape[0]):
        per_unit[r] = np.bincount(groups, weights=m[r], minlength=n_units) > 0
        count[r] = np.bincount(groups, weights=~m[r], minlength=n_units)
    if (per_unit & (count > 0)).any():
        r, u = (int(v[0]) for v in np.nonzero(per_unit & (count > 0)))
        cols = np.nonzero(groups == u)[0]
        a, b = g.edge_index[:, cols[0]]
        raise ValueError(
            f"the explanation marks some but not all columns of the undirected edge "
            f"{{{a}, {b}}} (row {r}); mark both directions or pass undirected=False"
        )
    empty = ~per_unit.any(axis=1)
    if empty.any():
        raise ValueError(f"empty explanation (row {int(np.argmax(empty))} marks no edge)")
    if per_unit.shape[0] == 1 and t > 1:
        per_unit = np.broadcast_to(per_unit, (t, n_units))
    return per_unit


# ------------------------------------------------------------------------ evaluation


def _model_dtype_device(model: Any, x: Tensor) -> tuple[torch.dtype, torch.device]:
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    if params:
        return params[0].dtype, params[0].device
    dtype = x.dtype if torch.is_floating_point(x) else torch.get_default_dtype()
    return dtype, x.device


class _Subgraphs:
    """Per target: its node set, the columns of edge_index inside it, the local
    edge_index and the target's local id (the whole graph when hops is None)."""

    def __init__(self, g: _Graph, hops: int | None):
        self.g = g
        self.hops = hops
        if hops is not None:
            a = sp.csr_array((np.ones(g.e), (g.edge_index[0], g.edge_index[1])), shape=(g.n, g.n))
            a = ((a + a.T) > 0).astype(np.float64)
            t = g.index.size
            reach = sp.csr_array((np.ones(t), (g.index, np.arange(t))), shape=(g.n, t))
            for _ in range(hops):
                reach = ((reach + a @ reach) > 0).astype(np.float64)
            self.reach = sp.csc_array(reach)

    def get(self, i: int) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, int]:
        """(nodes or None = all, columns or None = all, local edge_index, local target)."""
        g = self.g
        t = int(g.index[i])
        if self.hops is None:
            return None, None, g.edge_index, t
        nodes = np.sort(self.reach[:, [i]].indices)
        local = np.full(g.n, -1, dtype=np.int64)
        local[nodes] = np.arange(nodes.size)
        src, dst = local[g.edge_index[0]], local[g.edge_index[1]]
        cols = np.nonzero((src >= 0) & (dst >= 0))[0]
        return nodes, cols, np.vstack([src[cols], dst[cols]]), int(local[t])


def _evaluate(
    model: Callable[..., Tensor],
    x: Tensor,
    items: list[tuple[np.ndarray | None, np.ndarray, np.ndarray, int]],
    max_batch_nodes: int,
) -> list[Tensor]:
    """Softmax rows at the targets for every kept-column row of every item.

    items: (nodes or None, local edge_index (2, e), keep (S, e) bool, local target);
    returns one (S, C) float64 tensor per item. Copies are stacked as disjoint graphs,
    at most ``max_batch_nodes`` nodes per model call (at least one copy)."""
    out: list[list[Tensor]] = [[] for _ in items]
    pending: list[tuple[int, int, int]] = []  # (item, first row, end row)
    budget = 0

    def flush() -> None:
        eis, xs, rows = [], [], []
        offset = 0
        for it, r0, r1 in pending:
            nodes, lei, keep, tloc = items[it]
            k = x.shape[0] if nodes is None else nodes.size
            xi = x if nodes is None else x[torch.from_numpy(nodes).to(x.device)]
            s_idx, e_idx = np.nonzero(keep[r0:r1])
            eis.append(lei[:, e_idx] + (offset + s_idx * k)[None])
            xs.append(xi.repeat(r1 - r0, 1))
            rows.append(offset + np.arange(r1 - r0) * k + tloc)
            offset += (r1 - r0) * k
        ei = torch.from_numpy(np.hstack(eis)).to(x.device)
        logits = model(ei, torch.cat(xs))
        if logits.ndim != 2 or logits.shape[0] != offset:
            raise ValueError(
                f"model(edge_index, x) must return logits of shape ({offset}, C), got "
                f"{tuple(logits.shape)}"
            )
        at = torch.from_numpy(np.concatenate(rows)).to(logits.device)
        sel = torch.softmax(logits[at].double(), dim=1).cpu()
        start = 0
        for it, r0, r1 in pending:
            out[it].append(sel[start : start + r1 - r0])
            start += r1 - r0
        pending.clear()

    for it, (nodes, _, keep, _) in enumerate(items):
        k = max(1, x.shape[0] if nodes is None else nodes.size)
        r = 0
        while r < keep.shape[0]:
            room = (max_batch_nodes - budget) // k
            if room < 1 and pending:
                flush()
                budget = 0
                continue
            take = min(keep.shape[0] - r, max(1, room))
            pending.append((it, r, r + take))
            budget += take * k
            r += take
    if pending:
        flush()
    return [torch.cat(o) for o in out]


class _EvalMode:
    """Eval mode and no_grad for a module, its training flag restored afterwards."""

    def __init__(self, model: Any):
        self.model = model
        self.training = bool(getattr(model, "training", False))

    def __enter__(self) -> None:
        if isinstance(self.model, nn.Module):
            self.model.eval()
        self.grad = torch.is_grad_enabled()
        torch.set_grad_enabled(False)

    def __exit__(self, *exc: Any) -> None:
        torch.set_grad_enabled(self.grad)
        if isinstance(self.model, nn.Module):
            self.model.train(self.training)


def _prepare(model: Any, data: Any, target: str, undirected: bool, num_hops: int | None):
    if target not in ("label", "prediction"):
        raise ValueError(f"target must be 'label' or 'prediction', got {target!r}")
    if not callable(model):
        raise ValueError("model must be callable as model(edge_index, x)")
    g = _Graph(data, need_y=target == "label")
    if num_hops is not None:
        num_hops = check_int(num_hops, "num_hops", 0)
    dtype, device = _model_dtype_device(model, g.x)
    x = g.x.to(device=device, dtype=dtype)
    groups, n_units = _units(g, undirected)
    subs = _Subgraphs(g, num_hops)
    return g, x, groups, n_units, subs


def _finish(p0: np.ndarray, y: np.ndarray, plus: list[Tensor], minus: list[Tensor]) -> dict:
    """Per-target and mean fidelities from the original softmax rows p0 (T, C), the
    labels y (T,) and the perturbed rows (S, C) per target."""
    t = y.size
    per = {k: np.zeros(t) for k in KEYS}
    hit0 = (p0.argmax(1) == y).astype(np.float64)
    for i in range(t):
        pp, pm = plus[i].numpy(), minus[i].numpy()
        per["fid_plus"][i] = p0[i, y[i]] - pp[:, y[i]].mean()
        per["fid_minus"][i] = p0[i, y[i]] - pm[:, y[i]].mean()
        per["fid_plus_acc"][i] = hit0[i] - (pp.argmax(1) == y[i]).mean()
        per["fid_minus_acc"][i] = hit0[i] - (pm.argmax(1) == y[i]).mean()
    per["fid_delta"] = per["fid_plus"] - per["fid_minus"]
    per["fid_delta_acc"] = per["fid_plus_acc"] - per["fid_minus_acc"]
    result: dict[str, Any] = {k: float(per[k].mean()) for k in KEYS}
    result["per_node"] = per
    return result


def _originals(model, g: _Graph, x: Tensor, subs: _Subgraphs, target: str, max_nodes: int):
    items = []
    for i in range(g.index.size):
        nodes, _, lei, tloc = subs.get(i)
        items.append((nodes, lei, np.ones((1, lei.shape[1]), bool), tloc))
    p0 = torch.cat(_evaluate(model, x, items, max_nodes)).numpy()
    if target == "label":
        y = g.y[g.index]  # type: ignore[index]
        if y.min() < 0 or y.max() >= p0.shape[1]:
            raise ValueError(f"labels of the target nodes must be in [0, {p0.shape[1]})")
    else:
        y = p0.argmax(1)
    return p0, y


def plain_fidelity(
    model: Callable[..., Tensor],
    data: Any,
    explanation_edge_mask: Any,
    *,
    target: str = "label",
    undirected: bool = True,
    num_hops: int | None = None,
    max_batch_nodes: int = 200_000,
) -> dict[str, Any]:
    """The plain fidelities: Fid+ removes every explanation edge, Fid− every other edge.

    Args:
        model: ``model(edge_index, x)`` -> logits (n, C) (edge_index (2, E) int64 tensor,
            x (n, F) in the model's parameter dtype).
        data: a dict or object with ``x`` (n, F), ``edge_index`` (2, E) (both directions
            of undirected edges), ``index`` (the target node ids: int or (T,)), and ``y``
            (n,) integer labels when ``target="label"``. Torch or numpy.
        explanation_edge_mask: (E,) or (T, E) bool (or 0/1) over the columns of
            ``edge_index``; see the module docstring.
        target: ``"label"`` (y) or ``"prediction"`` (the model's argmax on the whole graph).
        undirected: check that an edge's two directions agree in the mask.
        num_hops: evaluate each target on the subgraph induced by the nodes within this
            many hops (None: the whole graph).
        max_batch_nodes: the most nodes per stacked model call.

    Returns:
        dict with ``fid_plus``, ``fid_minus``, ``fid_delta`` (probability form) and
        ``fid_plus_acc``, ``fid_minus_acc``, ``fid_delta_acc`` (accuracy form), means over
        the targets, and ``per_node`` (the same keys, (T,) arrays).

    Raises:
        ValueError: missing fields, out-of-range ids, NaN features, a mask of the wrong
            shape or not binary, an empty explanation, mismatched edge directions.
    """
    g, x, groups, n_units, subs = _prepare(model, data, target, undirected, num_hops)
    expl = _masks(explanation_edge_mask, g, groups, n_units)
    with _EvalMode(model):
        p0, y = _originals(model, g, x, subs, target, max_batch_nodes)
        plus_items, minus_items = [], []
        for i in range(g.index.size):
            nodes, cols, lei, tloc = subs.get(i)
            ex = expl[i][groups] if cols is None else expl[i][groups[cols]]
            plus_items.append((nodes, lei, ~ex[None], tloc))
            minus_items.append((nodes, lei, ex[None], tloc))
        plus = _evaluate(model, x, plus_items, max_batch_nodes)
        minus = _evaluate(model, x, minus_items, max_batch_nodes)
    return _finish(p0, y, plus, minus)


def robust_fidelity(
    model: Callable[..., Tensor],
    data: Any,
    explanation_edge_mask: Any,
    alpha1: float = 0.1,
    alpha2: float = 0.9,
    samples: int = 50,
    seed: int | None = None,
    *,
    target: str = "label",
    undirected: bool = True,
    num_hops: int | None = None,
    max_batch_nodes: int = 200_000,
    plain: bool = True,
) -> dict[str, Any]:
    """Robust fidelity Fid_{α1,+}, Fid_{α2,−}, Fid_Δ (Zheng et al., ICLR 2024).

    Per target and sample, Fid+ removes each explanation edge (unit) with probability
    ``alpha1``; Fid− keeps the explanation and each other edge with probability
    ``alpha2``. Draws come from ``np.random.default_rng(seed)``, target after target
    (Fid+ draws, then Fid− draws), one Bernoulli per unit of the target's evaluated
    graph. See the module docstring for the conventions.

    Args:
        model, data, explanation_edge_mask: as :func:`plain_fidelity`.
        target, undirected, num_hops, max_batch_nodes: as :func:`plain_fidelity`;
            ``undirected=True`` also removes an edge's two directions together.
        alpha1: removal probability of an explanation edge, in [0, 1].
        alpha2: keeping probability of a non-explanation edge, in [0, 1].
        samples: draws per target, >= 1.
        seed: numpy seed.
        plain: also compute the plain fidelity (key ``"plain"``).

    Returns:
        dict with ``fid_plus``, ``fid_minus``, ``fid_delta`` (probability form),
        ``fid_plus_acc``, ``fid_minus_acc``, ``fid_delta_acc`` (accuracy form), means
        over the targets; ``per_node`` ((T,) arrays of the same); ``plain``
        (:func:`plain_fidelity`'s dict, when asked); ``alpha1``, ``alpha2``, ``samples``.

    Raises:
        ValueError: as :func:`plain_fidelity`, and alphas outside [0, 1].
    """
    for name, a in (("alpha1", alpha1), ("alpha2", alpha2)):
        if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a number in [0, 1], got {a!r}")
        if not 0.0 <= float(a) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {a!r}")
    samples = check_int(samples, "samples", 1)
    g, x, groups, n_units, subs = _prepare(model, data, target, undirected, num_hops)
    expl = _masks(explanation_edge_mask, g, groups, n_units)
    rng = np.random.default_rng(seed)
    with _EvalMode(model):
        p0, y = _originals(model, g, x, subs, target, max_batch_nodes)
        plus_items, minus_items = [], []
        for i in range(g.index.size):
            nodes, cols, lei, tloc = subs.get(i)
            gr = groups if cols is None else groups[cols]
            units, local_unit = np.unique(gr, return_inverse=True)
            ex_u = expl[i][units]
            drop_plus = (rng.random((samples, units.size)) < alpha1) & ex_u
            drop_minus = (rng.random((samples, units.size)) >= alpha2) & ~ex_u
            plus_items.append((nodes, lei, ~drop_plus[:, local_unit], tloc))
            minus_items.append((nodes, lei, ~drop_minus[:, local_unit], tloc))
        plus = _evaluate(model, x, plus_items, max_batch_nodes)
        minus = _evaluate(model, x, minus_items, max_batch_nodes)
    result = _finish(p0, y, plus, minus)
    if plain:
        result["plain"] = plain_fidelity(
            model,
            data,
            explanation_edge_mask,
            target=target,
            undirected=undirected,
            num_hops=num_hops,
            max_batch_nodes=max_batch_nodes,
        )
    result.update(alpha1=float(alpha1), alpha2=float(alpha2), samples=samples)
    return result


# ------------------------------------------------------------------------ explainers


class EdgeWeightGCN(nn.Module):
    """A :class:`~sciml.graph.gnn.GCN` called as ``model(edge_index, x, edge_weight=None)``
    (the argument order of :func:`robust_fidelity`), differentiable in the edge weights.

    Uses the GCN's own convolutions' weights (``conv.linear``, ``conv.bias``) with the
    weighted normalisation ``out[v] = Σ_{e: u→v} w_e h_u / sqrt(d_u d_v) + h_v / d_v``,
    d_v = 1 + Σ_{e: ·→v} w_e (PyG's ``gcn_norm``; with unit weights the GCN's own Â).
    On CPU the products go through :class:`~sciml.graph.sparse_ops.EdgeProduct`
    (O(E d) backward); elsewhere through ``index_add``. ReLU between layers; no dropout
    (explanations and fidelity use the trained model in eval mode).

    Args:
        gcn: a trained GCN (any module with ``convs``, each with ``linear`` and ``bias``).
    """

    def __init__(self, gcn: nn.Module):
        super().__init__()
        if not hasattr(gcn, "convs"):
            raise ValueError("gcn must be a sciml.graph.gnn.GCN (a module with .convs)")
        self.gcn = gcn

    def forward(self, edge_index: Tensor, x: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """edge_index (2, E) int64, x (n, F), edge_weight (E,) >= 0 or None -> (n, C)."""
        n = x.shape[0]
        ei = torch.as_tensor(edge_index, dtype=torch.int64, device=x.device)
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise ValueError(f"edge_index must have shape (2, E), got {tuple(ei.shape)}")
        w = torch.ones(ei.shape[1], dtype=x.dtype, device=x.device)
        if edge_weight is not None:
            if edge_weight.shape != (ei.shape[1],):
                raise ValueError(
                    f"edge_weight must have shape ({ei.shape[1]},), got {tuple(edge_weight.shape)}"
                )
            w = edge_weight.to(x.dtype)
        loops = torch.arange(n, device=x.device)
        src = torch.cat([ei[0], loops])
        dst = torch.cat([ei[1], loops])
        w = torch.cat([w, torch.ones(n, dtype=x.dtype, device=x.device)])
        deg = torch.zeros(n, dtype=x.dtype, device=x.device).index_add(0, dst, w)
        dinv = deg.clamp_min(1e-12).rsqrt()
        norm = dinv[src] * w * dinv[dst]
        if x.device.type == "cpu":
            product = EdgeProduct(dst, src, n)

            def propagate(h: Tensor) -> Tensor:
                return product(norm, h)
        else:

            def propagate(h: Tensor) -> Tensor:
                return torch.zeros_like(h).index_add(0, dst, norm[:, None] * h[src])

        h = x
        convs = list(self.gcn.convs)
        for i, conv in enumerate(convs):
            h = propagate(conv.linear(h))
            if conv.bias is not None:
                h = h + conv.bias
            if i < len(convs) - 1:
                h = torch.relu(h)
        return h


def _explain_targets(model, data, target, num_hops, undirected):
    g, x, groups, n_units, subs = _prepare(model, data, target, undirected, num_hops)
    with _EvalMode(model):
        _, y = _originals(model, g, x, subs, target, 200_000)
    return g, x, groups, n_units, subs, y


def _stack(subs: _Subgraphs, x: Tensor, rows: list[int]):
    """Disjoint copies of the targets' (sub)graphs: stacked edge_index, x, the target
    rows, and per copy the slice of the stacked columns and the global columns."""
    eis, xs, at, spans, colsets, sizes = [], [], [], [], [], []
    offset = ecount = 0
    for i in rows:
        nodes, cols, lei, tloc = subs.get(i)
        k = x.shape[0] if nodes is None else nodes.size
        eis.append(lei + offset)
        xs.append(x if nodes is None else x[torch.from_numpy(nodes).to(x.device)])
        at.append(offset + tloc)
        spans.append((ecount, ecount + lei.shape[1]))
        colsets.append(cols)
        sizes.append(k)
        offset += k
        ecount += lei.shape[1]
    ei = torch.from_numpy(np.hstack(eis)).to(x.device)
    at_t = torch.as_tensor(at, device=x.device)
    return ei, torch.cat(xs), at_t, spans, colsets, sizes


def _batches(subs: _Subgraphs, t: int, n: int, max_nodes: int) -> list[list[int]]:
    out: list[list[int]] = [[]]
    used = 0
    for i in range(t):
        nodes = subs.get(i)[0]
        k = n if nodes is None else nodes.size
        if out[-1] and used + k > max_nodes:
            out.append([])
            used = 0
        out[-1].append(i)
        used += k
    return out


def _symmetrise(scores: np.ndarray, groups: np.ndarray, n_units: int) -> np.ndarray:
    """Each column's score -> the mean over its unit's columns."""
    out = np.empty_like(scores)
    counts = np.bincount(groups, minlength=n_units)
    for r in range(scores.shape[0]):
        out[r] = (np.bincount(groups, weights=scores[r], minlength=n_units) / counts)[groups]
    return out


def saliency_explanation(
    model: Callable[..., Tensor],
    data: Any,
    *,
    target: str = "prediction",
    undirected: bool = True,
    num_hops: int | None = None,
    max_batch_nodes: int = 200_000,
) -> np.ndarray:
    """Gradient saliency of the edges: ``|∂ log p_c(v) / ∂ w_e|`` at unit edge weights, for
    each target v (c its predicted class, or its label with ``target="label"``).

    Targets are stacked as disjoint copies with their own weights, so one backward pass
    gives every target's gradients. ``model`` must accept
    ``model(edge_index, x, edge_weight=w)`` (:class:`EdgeWeightGCN`).

    Returns:
        (T, E) float64 scores >= 0 over the columns of ``edge_index`` (0 outside the
        target's subgraph with ``num_hops``); with ``undirected`` both directions of an
        edge get the mean of their scores.
    """
    g, x, groups, n_units, subs, y = _explain_targets(model, data, target, num_hops, undirected)
    scores = np.zeros((g.index.size, g.e))
    was = bool(getattr(model, "training", False))
    if isinstance(model, nn.Module):
        model.eval()
    try:
        for rows in _batches(subs, g.index.size, g.n, max_batch_nodes):
            ei, xs, at, spans, colsets, _ = _stack(subs, x, rows)
            w = torch.ones(ei.shape[1], dtype=x.dtype, device=x.device, requires_grad=True)
            logp = torch.log_softmax(model(ei, xs, edge_weight=w)[at], dim=1)
            cls = torch.as_tensor(y[rows], device=logp.device)
            objective = logp.gather(1, cls[:, None]).sum()
            if objective.requires_grad:
                (g_w,) = torch.autograd.grad(objective, w, allow_unused=True)
            else:  # the model does not read the edge weights at all
                g_w = None
            g_w = torch.zeros_like(w) if g_w is None else g_w
            grad = g_w.abs().detach().cpu().double().numpy()
            for r, (a, b), cols in zip(rows, spans, colsets, strict=True):
                if cols is None:
                    scores[r] = grad[a:b]
                else:
                    scores[r, cols] = grad[a:b]
    finally:
        if isinstance(model, nn.Module):
            model.train(was)
    return _symmetrise(scores, groups, n_units) if undirected else scores


def gnnexplainer_explanation(
    model: Callable[..., Tensor],
    data: Any,
    epochs: int = 100,
    lr: float = 0.01,
    size_coef: float = 0.005,
    entropy_coef: float = 1.0,
    seed: int | None = None,
    *,
    target: str = "prediction",
    undirected: bool = True,
    num_hops: int | None = None,
    max_batch_nodes: int = 200_000,
) -> np.ndarray:
    """GNNExplainer-style edge masks (Ying et al., NeurIPS 2019), one per target.

    Per target v and class c (its prediction, or label with ``target="label"``), mask
    logits θ (one per undirected edge with ``undirected``, else per column; initialised
    N(1, σ) with σ = sqrt(2) · sqrt(2 / (2 n_v)) as in PyG, n_v the nodes of the graph
    evaluated) minimise, with Adam for ``epochs`` steps,
    ``−log p_c(v | w = sigmoid θ) + size_coef · Σ m + entropy_coef · mean H(m)``,
    H the binary entropy. Targets are optimised together as disjoint copies (the loss is a
    sum of independent terms). ``model`` must accept ``model(edge_index, x, edge_weight=w)``.

    Args:
        epochs: Adam steps (>= 1); lr: its learning rate.
        size_coef, entropy_coef: the regulariser weights (PyG's defaults).
        seed: torch seed of the initialisation (global RNG state restored).

    Returns:
        (T, E) float64 mask values in (0, 1) over the columns of ``edge_index`` (0
        outside the target's subgraph with ``num_hops``).
    """
    epochs = check_int(epochs, "epochs", 1)
    g, x, groups, _, subs, y = _explain_targets(model, data, target, num_hops, undirected)
    unit_of = groups if undirected else np.arange(g.e)
    scores = np.zeros((g.index.size, g.e))
    was = bool(getattr(model, "training", False))
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    flags = [p.requires_grad for p in params]
    if isinstance(model, nn.Module):
        model.eval()
    for p in params:
        p.requires_grad_(False)
    try:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            for rows in _batches(subs, g.index.size, g.n, max_batch_nodes):
                ei, xs, at, spans, colsets, sizes = _stack(subs, x, rows)
                # one logit per (copy, unit present in the copy)
                unit_cols, thetas, counts = [], [], []
                for cols, k in zip(colsets, sizes, strict=True):
                    u = unit_of if cols is None else unit_of[cols]
                    units, inv = np.unique(u, return_inverse=True)
                    std = float(nn.init.calculate_gain("relu") * np.sqrt(2.0 / (2 * max(k, 1))))
                    thetas.append(1.0 + std * torch.randn(units.size, dtype=x.dtype))
                    unit_cols.append(inv)
                    counts.append(units.size)
                theta = torch.cat(thetas).to(x.device).requires_grad_(True)
                starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
                gather = torch.from_numpy(
                    np.concatenate([s + inv for s, inv in zip(starts, unit_cols, strict=True)])
                ).to(x.device)
                copy_of_unit = torch.from_numpy(np.repeat(np.arange(len(rows)), counts)).to(
                    x.device
                )
                cls = torch.as_tensor(y[rows], device=x.device)
                opt = torch.optim.Adam([theta], lr=lr)
                for _ in range(epochs):
                    opt.zero_grad()
                    m = torch.sigmoid(theta)
                    logp = torch.log_softmax(model(ei, xs, edge_weight=m[gather])[at], dim=1)
                    loss = -logp.gather(1, cls[:, None]).sum()
                    ent = -m * torch.log(m + 1e-15) - (1 - m) * torch.log(1 - m + 1e-15)
                    per_copy = torch.zeros(len(rows), dtype=m.dtype, device=m.device)
                    ent_mean = per_copy.index_add(0, copy_of_unit, ent) / torch.as_tensor(
                        counts, dtype=m.dtype, device=m.device
                    )
                    loss = loss + size_coef * m.sum() + entropy_coef * ent_mean.sum()
                    loss.backward()
                    opt.step()
                m = torch.sigmoid(theta.detach())[gather].cpu().double().numpy()
                for r, (a, b), cols in zip(rows, spans, colsets, strict=True):
                    if cols is None:
                        scores[r] = m[a:b]
                    else:
                        scores[r, cols] = m[a:b]
    finally:
        for p, f in zip(params, flags, strict=True):
            p.requires_grad_(f)
        if isinstance(model, nn.Module):
            model.train(was)
    return scores


def top_k_edges(scores: Any, edge_index: Any, k: int, undirected: bool = True) -> np.ndarray:
    """The ``k`` highest-scoring edges as a bool mask over the columns of ``edge_index``.

    Args:
        scores: (E,) or (T, E) real scores (rows: targets).
        edge_index: (2, E) integer ids.
        k: edges per row, >= 1 (undirected edges with ``undirected``, both directions
            marked; columns otherwise); capped at the number available. Ties: the
            lower unit id (pair order) first.
        undirected: rank units by their mean score over their columns.

    Returns:
        bool mask, the shape of ``scores``.
    """
    k = check_int(k, "k", 1)
    s = _numpy(scores, "scores").astype(np.float64)
    ei = _numpy(edge_index, "edge_index")
    if ei.ndim != 2 or ei.shape[0] != 2 or s.shape[-1] != ei.shape[1] or s.ndim not in (1, 2):
        raise ValueError(
            f"scores must be (E,) or (T, E) with E = edge_index.shape[1], got {s.shape} and "
            f"{ei.shape}"
        )
    if not np.isfinite(s).all():
        raise ValueError("scores has NaN or infinite values")
    rows = s[None] if s.ndim == 1 else s
    groups = edge_groups(ei) if undirected else np.arange(ei.shape[1])
    n_units = int(groups.max()) + 1 if groups.size else 0
    counts = np.bincount(groups, minlength=n_units)
    out = np.zeros(rows.shape, dtype=bool)
    for r in range(rows.shape[0]):
        unit_score = np.bincount(groups, weights=rows[r], minlength=n_units) / counts
        best = np.argsort(-unit_score, kind="stable")[: min(k, n_units)]
        chosen = np.zeros(n_units, dtype=bool)
        chosen[best] = True
        out[r] = chosen[groups]
    return out[0] if s.ndim == 1 else out
