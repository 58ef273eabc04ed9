"""Full-batch graph neural networks on sparse products, and a node-classification trainer.

:class:`GCN` is Kipf and Welling's graph convolutional network ("Semi-Supervised
Classification with Graph Convolutional Networks", ICLR 2017): each layer is
``H' = Â H W + b`` with ``Â = D̃^-1/2 (A + I) D̃^-1/2``, D̃ the degrees of A + I, ReLU and
dropout between layers (dropout also on the input, as the authors' and PyG's examples).
Â is built once by the sparse backbone (:meth:`sciml.graph.Graph.to_torch_sparse` with the
``"sym"`` normalisation) and applied with ``torch.sparse.mm``: no per-edge messages and no
dense n x n matrix. For a directed graph S (S[src, dst]) messages flow src -> dst, as in
PyG: ``Â = D̃_in^-1/2 (S^T + I) D̃_in^-1/2`` (the same as above when S is symmetric).

Models here share one protocol, which :func:`train_node_classifier` relies on:
``model.prepare_graph(graph, num_nodes)`` turns a :class:`~sciml.graph.Graph`, an
``edge_index`` or a ready operator into what ``model(x, prepared)`` consumes (for GCN the
normalised sparse Â), so the trainer converts the graph once, not per epoch.
"""

from __future__ import annotations

import copy
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from sciml._checks import check_int
from sciml.graph.backbone import Graph, as_numpy


def gcn_adjacency(
    graph: Any, num_nodes: int | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """GCN's propagation matrix ``Â = D̃^-1/2 (S^T + I) D̃^-1/2`` as a coalesced torch
    sparse COO tensor (n, n).

    Args:
        graph: a :class:`Graph`, a scipy.sparse adjacency S (n, n), or an ``edge_index``
            (2, E) integer array/tensor (src -> dst, ids in [0, num_nodes)).
        num_nodes: n; required for an ``edge_index`` (isolated nodes have no edge).
        dtype: the tensor's floating dtype.
    """
    if isinstance(graph, Graph):
        s = graph.adjacency
    elif sp.issparse(graph):
        s = Graph.from_scipy(graph).adjacency
    else:
        if num_nodes is None:
            raise ValueError("num_nodes is required with an edge_index")
        s = Graph.from_edge_index(graph, num_nodes=num_nodes).adjacency
    n = s.shape[0]
    if num_nodes is not None and num_nodes != n:
        raise ValueError(f"the graph has {n} nodes, expected num_nodes = {num_nodes}")
    a = sp.csr_array(s.T, dtype=np.float64) + sp.eye_array(n, format="csr")
    return Graph(sp.csr_array(a)).to_torch_sparse("sym", dtype=dtype)


class GCNConv(nn.Module):
    """One graph convolution ``Â X W + b`` (Â precomputed, :func:`gcn_adjacency`).

    Args:
        in_dim: input features.
        out_dim: output features.
        bias: add a learned bias after the propagation.
    """

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True):
        super().__init__()
        self.linear = nn.Linear(
            check_int(in_dim, "in_dim", 1), check_int(out_dim, "out_dim", 1), bias=False
        )
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None
        nn.init.xavier_uniform_(self.linear.weight)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """(n, in_dim), sparse Â (n, n) -> (n, out_dim)."""
        out = torch.sparse.mm(adjacency, self.linear(x))
        return out + self.bias if self.bias is not None else out


class GCN(nn.Module):
    """A full-batch GCN: ``layers`` graph convolutions in_dim -> hidden -> ... -> out_dim.

    Args:
        in_dim: input features F.
        hidden: hidden width.
        out_dim: outputs (classes: logits).
        layers: graph convolutions, >= 1 (1: a single in_dim -> out_dim convolution).
        dropout: dropout probability before every convolution (training only).

    ``forward(x, graph)``: x (n, F) float tensor; graph a :class:`Graph`, an
    ``edge_index`` (2, E) (src -> dst, ids in [0, n)) or the sparse Â of
    :meth:`prepare_graph` (taken as is) -> logits (n, out_dim). Â of a Graph or
    edge_index is cached for the last graph object seen.
    """

    def __init__(
        self, in_dim: int, hidden: int, out_dim: int, layers: int = 2, dropout: float = 0.5
    ):
        super().__init__()
        layers = check_int(layers, "layers", 1)
        check_int(hidden, "hidden", 1)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.in_dim = check_int(in_dim, "in_dim", 1)
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.convs = nn.ModuleList(GCNConv(a, b) for a, b in itertools.pairwise(dims))
        self.dropout = float(dropout)
        self._cache: tuple[Any, torch.Tensor] | None = None

    def prepare_graph(self, graph: Any, num_nodes: int) -> torch.Tensor:
        """The sparse Â for ``graph`` (:func:`gcn_adjacency`) in the dtype of the model's
        parameters; a torch sparse tensor is returned as is (checked to be
        (num_nodes, num_nodes)). The last result is cached for the same graph object."""
        if isinstance(graph, torch.Tensor) and graph.layout in (torch.sparse_coo, torch.sparse_csr):
            if tuple(graph.shape) != (num_nodes, num_nodes):
                raise ValueError(
                    f"the sparse operator must be ({num_nodes}, {num_nodes}), got "
                    f"{tuple(graph.shape)}"
                )
            return graph
        dtype = next(self.parameters()).dtype
        if self._cache is not None and self._cache[0] is graph:
            a = self._cache[1]
            if a.shape[0] == num_nodes and a.dtype == dtype:
                return a
        a = gcn_adjacency(graph, num_nodes, dtype=dtype)
        self._cache = (graph, a)
        return a

    def forward(self, x: torch.Tensor, graph: Any) -> torch.Tensor:
        """Logits (n, out_dim) of x (n, in_dim) on ``graph`` (see the class docstring)."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (n, {self.in_dim}), got {tuple(x.shape)}")
        a = self.prepare_graph(graph, x.shape[0])
        a = a.to(device=x.device, dtype=x.dtype)
        h = x
        for i, conv in enumerate(self.convs):
            h = nn.functional.dropout(h, self.dropout, self.training)
            h = conv(h, a)
            if i < len(self.convs) - 1:
                h = torch.relu(h)
        return h


def _prepare(model: nn.Module, graph: Any, n: int) -> Any:
    """``model.prepare_graph(graph, n)`` where the model has one, else ``graph``."""
    prepare = getattr(model, "prepare_graph", None)
    return prepare(graph, n) if callable(prepare) else graph


@dataclass
class NodeClassifierResult:
    """What :func:`train_node_classifier` did.

    Attributes:
        best_epoch: the epoch (0-based) whose weights were restored.
        best_val_accuracy: its validation accuracy (nan without a validation set).
        epochs_run: epochs trained before stopping.
        seconds: wall time of the training loop.
        train_loss, val_accuracy: per-epoch history.
    """

    best_epoch: int
    best_val_accuracy: float
    epochs_run: int
    seconds: float
    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


def _tensor_mask(mask: Any, n: int, name: str, device: torch.device) -> torch.Tensor:
    m = as_numpy(mask, name)
    if m.dtype != np.bool_:
        raise ValueError(f"{name} must be a boolean array, got dtype {m.dtype}")
    if m.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {m.shape}")
    if not m.any():
        raise ValueError(f"{name} selects no node")
    return torch.as_tensor(m, device=device)


def train_node_classifier(
    model: nn.Module,
    x: Any,
    graph: Any,
    y: Any,
    train_mask: Any,
    val_mask: Any = None,
    *,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    patience: int = 50,
    seed: int = 0,
    progress: bool = False,
) -> NodeClassifierResult:
    """Full-batch training with Adam and cross-entropy on the training nodes, early
    stopping on validation accuracy, best weights restored.

    Every epoch: one step on the training nodes' loss, then the validation accuracy in
    eval mode. The weights of the epoch with the highest validation accuracy (ties: the
    lower validation loss, then the earlier epoch) are kept; training stops after
    ``patience`` epochs without a better one. Without ``val_mask`` all ``epochs`` run and
    the last weights stay. Dropout draws from a torch generator seeded with ``seed``
    (the global RNG state is restored afterwards); seed the model's initialisation
    yourself (``torch.manual_seed`` before building it).

    Args:
        model: a module with ``prepare_graph(graph, n)`` and ``forward(x, prepared)``
            returning logits (n, n_classes) (:class:`GCN`).
        x: (n, F) float features (tensor or array; cast to the model's dtype/device).
        graph: whatever ``model.prepare_graph`` accepts (Graph, edge_index, operator).
        y: (n,) integer labels in [0, n_classes); only the masked nodes' are read.
        train_mask, val_mask: (n,) bool masks (each non-empty).
        epochs: the most epochs, >= 1.
        lr, weight_decay: Adam's.
        patience: epochs without improvement before stopping, >= 1.
        seed: dropout seed.
        progress: show a tqdm bar.

    Returns:
        :class:`NodeClassifierResult`; the model holds the best weights, in eval mode.
    """
    epochs = check_int(epochs, "epochs", 1)
    patience = check_int(patience, "patience", 1)
    param = next(model.parameters())
    device, dtype = param.device, param.dtype
    xt = torch.as_tensor(as_numpy(x, "x") if not isinstance(x, torch.Tensor) else x)
    if xt.ndim != 2:
        raise ValueError(f"x must have shape (n, F), got {tuple(xt.shape)}")
    if not torch.is_floating_point(xt):
        xt = xt.to(torch.float64)
    if not torch.isfinite(xt).all():
        raise ValueError("x has NaN or infinite values")
    xt = xt.to(device=device, dtype=dtype)
    n = xt.shape[0]
    ya = as_numpy(y, "y")
    if ya.shape != (n,) or not np.issubdtype(ya.dtype, np.integer):
        raise ValueError(f"y must be ({n},) integer labels, got shape {ya.shape}, {ya.dtype}")
    yt = torch.as_tensor(ya.astype(np.int64), device=device)
    train = _tensor_mask(train_mask, n, "train_mask", device)
    val = None if val_mask is None else _tensor_mask(val_mask, n, "val_mask", device)
    prepared = _prepare(model, graph, n)
    with torch.no_grad():
        n_out = model.eval()(xt, prepared).shape[1]
    used = yt[train] if val is None else torch.cat([yt[train], yt[val]])
    if used.min() < 0 or used.max() >= n_out:
        raise ValueError(f"labels of the masked nodes must be in [0, {n_out})")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    result = NodeClassifierResult(-1, float("nan"), 0, 0.0)
    best_key = (-1.0, float("-inf"))
    best_state = None
    from tqdm.auto import tqdm

    start = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        bar = tqdm(range(epochs), desc="train", disable=not progress, leave=False)
        for epoch in bar:
            model.train()
            optimizer.zero_grad()
            logits = model(xt, prepared)
            loss = nn.functional.cross_entropy(logits[train], yt[train])
            loss.backward()
            optimizer.step()
            result.train_loss.append(float(loss.detach()))
            result.epochs_run = epoch + 1
            if val is None:
                continue
            model.eval()
            with torch.no_grad():
                out = model(xt, prepared)
                acc = float((out[val].argmax(1) == yt[val]).double().mean())
                val_loss = float(nn.functional.cross_entropy(out[val], yt[val]))
            result.val_accuracy.append(acc)
            if (acc, -val_loss) > best_key:
                best_key = (acc, -val_loss)
                best_state = copy.deepcopy(model.state_dict())
                result.best_epoch, result.best_val_accuracy = epoch, acc
            elif epoch - result.best_epoch >= patience:
                break
            if progress:
                bar.set_postfix(loss=f"{float(loss):.3f}", val=f"{acc:.3f}")
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.best_epoch = result.epochs_run - 1
    result.seconds = time.perf_counter() - start
    model.eval()
    return result


@torch.no_grad()
def node_accuracy(model: nn.Module, x: Any, graph: Any, y: Any, mask: Any) -> float:
    """The accuracy of ``model``'s argmax on the nodes of ``mask`` (eval mode)."""
    param = next(model.parameters())
    xt = torch.as_tensor(as_numpy(x, "x")).to(device=param.device, dtype=param.dtype)
    n = xt.shape[0]
    m = _tensor_mask(mask, n, "mask", param.device)
    yt = torch.as_tensor(as_numpy(y, "y").astype(np.int64), device=param.device)
    model.eval()
    prepared = _prepare(model, graph, n)
    out = model(xt, prepared)
    return float((out[m].argmax(1) == yt[m]).double().mean())
