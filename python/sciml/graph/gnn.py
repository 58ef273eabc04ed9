"""Graph neural networks on sparse products: GCN, GraphSAGE, GIN and GAT, full batch or on
neighbour-sampled mini-batches, and a node-classification trainer.

Conventions are PyTorch Geometric's: edge e of an ``edge_index`` (2, E) carries a message from
its source ``j = edge_index[0, e]`` to its target ``i = edge_index[1, e]``; in a
:class:`~sciml.graph.Graph`, S[j, i] is that edge's weight (duplicate edges add up to a
weight, which every layer below reads as a multiplicity, so an ``edge_index`` with repeated
edges gives what PyG gives). The layers, each ``conv(x, graph)`` -> (n, out):

- :class:`GCNConv` (Kipf and Welling, ICLR 2017): ``Â X W + b`` with
  ``Â = D̃^-1/2 (S^T + I) D̃^-1/2``, D̃ the weighted in-degrees + 1. PyG adds a self-loop only
  to nodes without one, so the two differ on graphs that have self-loops.
- :class:`SAGEConv` (Hamilton et al., NeurIPS 2017), mean aggregator with root weight (PyG's
  defaults): ``x_i' = W_1 mean_{j -> i} x_j + b + W_2 x_i``, the mean weighted by S[j, i]
  (0 for a node without in-edges).
- :class:`GINConv` (Xu et al., ICLR 2019): ``x_i' = MLP((1 + eps) x_i + sum_{j -> i} S[j, i] x_j)``,
  eps fixed or trained.
- :class:`GATConv` (Veličković et al., ICLR 2018): per head, with h = W x,
  ``e_ij = LeakyReLU_0.2(a_dst · h_i + a_src · h_j)`` and
  ``alpha_ij = S[j, i] exp(e_ij) / sum_k S[k, i] exp(e_ik)`` over the in-edges of i after
  removing self-loops and adding one per node (as PyG); dropout on alpha;
  ``x_i' = sum_j alpha_ij h_j``; heads concatenated or averaged; + b. The softmax is a segment
  softmax over each node's in-edges (max-subtracted), the aggregation an
  :class:`~sciml.graph.sparse_ops.EdgeProduct`: memory O(E · heads), never an (E, d) message
  tensor nor an n x n matrix.

Everything runs on ``torch.sparse.mm``, ``index_add`` and ``scatter_reduce``: no pyg-lib,
torch-scatter or torch-sparse.

The models :class:`GCN`, :class:`GraphSAGE`, :class:`GIN` and :class:`GAT` stack ``layers``
convolutions with dropout before each and a nonlinearity between them, and share one protocol,
which :func:`train_node_classifier` relies on: ``model.prepare_graph(graph, num_nodes)`` turns
a :class:`~sciml.graph.Graph`, an ``edge_index``, a :class:`Block` or a list of blocks into
what ``model(x, prepared)`` consumes (a :class:`Propagation`: for GCN the normalised Â), so
the trainer converts the graph once, not per epoch. GCN also takes Â itself as a torch sparse
tensor (:func:`gcn_adjacency`).

Mini-batches (graphs whose activations do not fit): :class:`NeighborSampler` draws, for a batch
of seed nodes, up to ``fanouts[l]`` in-neighbours per node and layer (GraphSAGE's sampling)
and returns one bipartite :class:`Block` per layer; ``model(x[blocks[0].nodes], blocks)`` is
then the seeds' logits. With fan-outs at least the largest in-degree this equals the
full-batch output on the seeds. :func:`train_node_classifier` trains this way when given
``batch_size``.
"""

from __future__ import annotations

import copy
import itertools
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from sciml._checks import check_int
from sciml.graph.backbone import Graph, as_numpy, is_networkx
from sciml.graph.sparse_ops import EdgeProduct

# --- graphs ---------------------------------------------------------------------------------


def as_graph(graph: Any, num_nodes: int | None = None) -> Graph:
    """``graph`` as a :class:`Graph`, checked to have ``num_nodes`` nodes when given.

    Args:
        graph: a :class:`Graph` (as is), a scipy.sparse adjacency S (n, n), a networkx graph,
            or an ``edge_index`` (2, E) integer array/tensor (src -> dst, ids in
            [0, num_nodes)).
        num_nodes: n; required for an ``edge_index`` (isolated nodes have no edge).

    Raises:
        TypeError: an object that is none of these; an ``edge_index`` of non-integers.
        ValueError: an ``edge_index`` without ``num_nodes``, of the wrong shape or with ids
            outside [0, num_nodes); a graph with another number of nodes.
    """
    if isinstance(graph, Graph):
        g = graph
    elif sp.issparse(graph):
        g = Graph.from_scipy(graph)
    elif is_networkx(graph):
        g = Graph.from_networkx(graph)
    else:
        if isinstance(graph, torch.Tensor) and graph.layout != torch.strided:
            raise TypeError(
                "a sparse tensor is not an edge_index; pass a Graph, a scipy.sparse matrix or "
                "an edge_index (2, E)"
            )
        if not isinstance(graph, (np.ndarray, torch.Tensor, list, tuple)):
            raise TypeError(
                "graph must be a Graph, a scipy.sparse matrix, a networkx graph or an "
                f"edge_index (2, E), got {type(graph).__name__}"
            )
        if num_nodes is None:
            raise ValueError("num_nodes is required with an edge_index")
        g = Graph.from_edge_index(graph, num_nodes=num_nodes)
    if num_nodes is not None and g.num_nodes != num_nodes:
        raise ValueError(f"the graph has {g.num_nodes} nodes, expected num_nodes = {num_nodes}")
    return g


def gcn_adjacency(
    graph: Any, num_nodes: int | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """GCN's propagation matrix ``Â = D̃^-1/2 (S^T + I) D̃^-1/2`` as a coalesced torch
    sparse COO tensor (n, n).

    Args:
        graph: a :class:`Graph`, a scipy.sparse adjacency S (n, n), a networkx graph, or an
            ``edge_index`` (2, E) integer array/tensor (src -> dst, ids in [0, num_nodes)).
        num_nodes: n; required for an ``edge_index`` (isolated nodes have no edge).
        dtype: the tensor's floating dtype.
    """
    s = as_graph(graph, num_nodes).adjacency
    n = s.shape[0]
    a = sp.csr_array(s.T, dtype=np.float64) + sp.eye_array(n, format="csr")
    return Graph(sp.csr_array(a)).to_torch_sparse("sym", dtype=dtype)


@dataclass(frozen=True, eq=False)
class Block:
    """One layer's bipartite message-passing graph: messages from ``n_src`` source nodes to
    ``n_dst`` target nodes, the targets being the first ``n_dst`` sources (so a layer reads
    a target's own features at the same row of its input).

    Edges are sorted by (dst, src) without repeats. :func:`full_block` gives a whole graph's
    block; :class:`NeighborSampler` gives sampled ones.

    Attributes:
        nodes: (n_src,) int64 ids in the whole graph of the source nodes, targets first.
        n_dst: the number of targets.
        src: (E,) int64 local source of each edge, in [0, n_src).
        dst: (E,) int64 local target of each edge, in [0, n_dst).
        weight: (E,) float64 edge weights S[src, dst] of the whole graph.
        scale: (n_dst,) float64, for each target its number of in-edges in the whole graph
            over the number kept (1 where all are kept); sum aggregations (GCN, GIN)
            multiply by it, which makes them unbiased under uniform sampling.
        degree: (n_src,) float64 weighted in-degrees of the source nodes in the whole graph
            (GCN's normalisation).
    """

    nodes: Tensor
    n_dst: int
    src: Tensor
    dst: Tensor
    weight: Tensor
    scale: Tensor
    degree: Tensor

    @property
    def n_src(self) -> int:
        """The number of source nodes."""
        return int(self.nodes.numel())

    @property
    def num_edges(self) -> int:
        """E."""
        return int(self.src.numel())

    def __repr__(self) -> str:
        return f"Block(n_src={self.n_src}, n_dst={self.n_dst}, num_edges={self.num_edges})"


def full_block(graph: Any, num_nodes: int | None = None) -> Block:
    """The whole graph as one :class:`Block` (n_src = n_dst = n, every edge, scale 1);
    ``graph`` as :func:`as_graph` takes it."""
    g = as_graph(graph, num_nodes)
    csc = g.csc
    if not csc.has_sorted_indices:
        csc = csc.copy()
        csc.sort_indices()
    n = g.num_nodes
    dst = np.repeat(np.arange(n, dtype=np.int64), np.diff(csc.indptr))
    return Block(
        nodes=torch.arange(n),
        n_dst=n,
        src=torch.from_numpy(csc.indices.astype(np.int64)),
        dst=torch.from_numpy(dst),
        weight=torch.from_numpy(csc.data.astype(np.float64)),
        scale=torch.ones(n, dtype=torch.float64),
        degree=torch.from_numpy(g.in_degree),
    )


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``range(s, s + l)`` for each (s, l)."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)


def _check_fanouts(fanouts: Any) -> tuple[int, ...]:
    if isinstance(fanouts, (int, np.integer)) or not isinstance(fanouts, Sequence):
        raise TypeError(f"fanouts must be a sequence of ints, one per layer, got {fanouts!r}")
    out = tuple(check_int(f, "every fan-out") for f in fanouts)
    if not out:
        raise ValueError("fanouts must name at least one layer")
    if any(f == 0 or f < -1 for f in out):
        raise ValueError(f"fan-outs must be >= 1 or -1 (all neighbours), got {list(out)}")
    return out


class NeighborSampler:
    """GraphSAGE-style neighbour sampling into one bipartite :class:`Block` per layer.

    For a batch of seed nodes, the last layer keeps up to ``fanouts[-1]`` in-edges of every
    seed, drawn uniformly without replacement (all of them where a node has fewer, or where
    the fan-out is -1); the seeds and the sources of the kept edges are that layer's inputs
    and the previous layer's targets, and so on down to layer 0, whose sources are the nodes
    whose features the batch reads. No dense n x n, and the cost is
    O(sum of the in-degrees of each layer's targets).

    Args:
        graph: as :func:`as_graph` takes it (Graph, scipy.sparse, networkx, edge_index).
        fanouts: one per layer, the input layer first (DGL's order; PyG's ``num_neighbors``
            lists them from the seeds outwards, reversed): ints >= 1, or -1 for all
            in-neighbours.
        num_nodes: n, required for an ``edge_index``.
        seed: numpy seed; successive :meth:`sample` calls draw new neighbourhoods from it.
    """

    def __init__(
        self,
        graph: Any,
        fanouts: Sequence[int],
        num_nodes: int | None = None,
        seed: int | None = None,
    ):
        self.graph = as_graph(graph, num_nodes)
        self.fanouts = _check_fanouts(fanouts)
        csc = self.graph.csc
        self._indptr = csc.indptr.astype(np.int64)
        self._indices = csc.indices.astype(np.int64)
        self._data = csc.data.astype(np.float64)
        self._degree = self.graph.in_degree
        self.rng = np.random.default_rng(seed)

    @property
    def num_layers(self) -> int:
        """len(fanouts)."""
        return len(self.fanouts)

    def _in_edges(
        self, targets: np.ndarray, fanout: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions (in the CSC arrays) of the kept in-edges, target by target; the number
        kept and the number there are per target."""
        start = self._indptr[targets]
        deg = self._indptr[targets + 1] - start
        kept = deg if fanout < 0 else np.minimum(deg, fanout)
        pos = _ranges(start, deg)
        if (kept < deg).any():  # keep the `kept` smallest of uniform keys per target
            seg = np.repeat(np.arange(targets.size), deg)
            order = np.lexsort((rng.random(pos.size), seg))
            rank = np.arange(pos.size) - np.repeat(np.cumsum(deg) - deg, deg)
            pos = pos[order][rank < np.repeat(kept, deg)]
        return pos, kept, deg

    def sample(self, seeds: Any, rng: np.random.Generator | None = None) -> list[Block]:
        """The blocks (layer 0 first) of a mini-batch of ``seeds``.

        Args:
            seeds: (B,) distinct int node ids in [0, n) (array or tensor).
            rng: a numpy generator to draw from instead of the sampler's own.

        Returns:
            ``blocks``, one per layer: ``blocks[-1]``'s targets are the seeds in the given
            order, ``blocks[l].nodes[:blocks[l].n_dst]`` equals ``blocks[l + 1].nodes``, and
            ``blocks[0].nodes`` are the rows of x the batch reads.
        """
        s = as_numpy(seeds, "seeds")
        if s.ndim != 1 or s.size == 0:
            raise ValueError(
                f"seeds must be a non-empty 1-d array of node ids, got shape {s.shape}"
            )
        if not np.issubdtype(s.dtype, np.integer):
            raise TypeError(f"seeds must be integers, got dtype {s.dtype}")
        n = self.graph.num_nodes
        if s.min() < 0 or s.max() >= n:
            raise ValueError(f"seeds must be in [0, {n}), got [{s.min()}, {s.max()}]")
        if np.unique(s).size != s.size:
            raise ValueError("seeds must be distinct")
        rng = self.rng if rng is None else rng
        frontier = s.astype(np.int64)
        blocks = []
        for fanout in reversed(self.fanouts):
            pos, kept, deg = self._in_edges(frontier, fanout, rng)
            src_global = self._indices[pos]
            new = np.setdiff1d(src_global, frontier)  # sorted, not yet in the batch
            nodes = np.concatenate([frontier, new])
            order = np.argsort(nodes, kind="stable")
            src = order[np.searchsorted(nodes[order], src_global)]
            dst = np.repeat(np.arange(frontier.size, dtype=np.int64), kept)
            perm = np.lexsort((src, dst))
            scale = deg / np.maximum(kept, 1)
            scale[kept == 0] = 1.0
            blocks.append(
                Block(
                    nodes=torch.from_numpy(nodes),
                    n_dst=int(frontier.size),
                    src=torch.from_numpy(src[perm]),
                    dst=torch.from_numpy(dst[perm]),
                    weight=torch.from_numpy(self._data[pos][perm]),
                    scale=torch.from_numpy(scale.astype(np.float64)),
                    degree=torch.from_numpy(self._degree[nodes]),
                )
            )
            frontier = nodes
        blocks.reverse()
        return blocks


# --- prepared graphs ------------------------------------------------------------------------


def _move_product(p: EdgeProduct, device: torch.device) -> EdgeProduct:
    """The product's index tensors on ``device`` (they are built on the CPU)."""
    for name in ("order", "group", "crow", "col", "indices"):
        setattr(p, name, getattr(p, name).to(device))
    return p


@dataclass(eq=False)
class Propagation:
    """A graph prepared for one kind of layer: what ``prepare_graph`` of a layer or model
    returns (pass it back as is).

    Attributes:
        kind: ``"gcn"``, ``"sage"``, ``"gin"`` or ``"gat"``.
        n_dst: output rows; n_src: input rows (equal for a whole graph).
        matrix: the fixed sparse operator (n_dst, n_src), a coalesced COO tensor: gcn Â;
            sage the mean operator, row i holding S[j, i] / sum_k S[k, i]; gin S[j, i] times
            the target's :attr:`Block.scale`. None for gat.
        src, dst, weight: gat: (E',) the edges (self-loops removed, one added per target)
            and their multiplicities. None otherwise.

    The products use CSR copies of ``matrix`` and of its transpose (for the backward pass),
    made once per dtype and device: a transposed COO product would sort the entries anew on
    every backward pass.
    """

    kind: str
    n_dst: int
    n_src: int
    matrix: Tensor | None = None
    src: Tensor | None = None
    dst: Tensor | None = None
    weight: Tensor | None = None
    _products: dict[tuple[int, str], EdgeProduct] = field(default_factory=dict, repr=False)
    _csr: dict[tuple[bool, torch.dtype, str], Tensor] = field(default_factory=dict, repr=False)

    def csr(self, transpose: bool, dtype: torch.dtype, device: torch.device) -> Tensor:
        """``matrix`` (or its transpose) as a CSR tensor of ``dtype`` on ``device``."""
        key = (transpose, dtype, str(device))
        if key not in self._csr:
            assert self.matrix is not None
            rows, cols = self.matrix.indices()  # coalesced: sorted by (row, col)
            values = self.matrix.values().detach()
            shape = (self.n_dst, self.n_src)
            if transpose:  # a stable sort by column keeps the rows sorted within each
                cols, order = torch.sort(cols, stable=True)
                rows, values, shape = rows[order], values[order], (self.n_src, self.n_dst)
                rows, cols = cols, rows
            crow = torch.zeros(shape[0] + 1, dtype=torch.int64, device=rows.device)
            torch.cumsum(torch.bincount(rows, minlength=shape[0]), 0, out=crow[1:])
            with warnings.catch_warnings():  # "sparse CSR support is in beta state"
                warnings.simplefilter("ignore", UserWarning)
                self._csr[key] = torch.sparse_csr_tensor(
                    crow, cols, values, shape, check_invariants=False
                ).to(device=device, dtype=dtype)
        return self._csr[key]

    def product(self, heads: int, device: torch.device) -> EdgeProduct:
        """gat: the :class:`EdgeProduct` of the edges repeated per head (edge-major), from
        rows ``src * heads + h`` of the (n_src * heads, d) input to rows ``dst * heads + h``;
        built once per (heads, device)."""
        key = (heads, str(device))
        if key not in self._products:
            assert self.src is not None and self.dst is not None
            h = torch.arange(heads)
            rows = (self.dst[:, None] * heads + h).reshape(-1)
            cols = (self.src[:, None] * heads + h).reshape(-1)
            p = EdgeProduct(rows, cols, self.n_dst * heads, self.n_src * heads)
            self._products[key] = p if device.type == "cpu" else _move_product(p, device)
        return self._products[key]


class _SpMM(torch.autograd.Function):
    """``matrix @ x`` for a fixed sparse matrix, the backward by its cached transpose."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, op: Propagation) -> Tensor:
        ctx.op = op
        return op.csr(False, x.dtype, x.device) @ x.contiguous()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return ctx.op.csr(True, grad.dtype, grad.device) @ grad.contiguous(), None


def _sparse(
    rows: Tensor, cols: Tensor, values: Tensor, shape: tuple[int, int], dtype: Any
) -> Tensor:
    """A COO tensor of entries already sorted by (row, col) without repeats."""
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]),
        values.to(dtype),
        shape,
        is_coalesced=True,
        check_invariants=False,
    )


def _from_block(kind: str, b: Block, dtype: torch.dtype) -> Propagation:
    """A layer's operator on block ``b``."""
    shape = (b.n_dst, b.n_src)
    if kind == "gcn":
        loops = torch.arange(b.n_dst)
        a = torch.sparse_coo_tensor(
            torch.stack([torch.cat([b.dst, loops]), torch.cat([b.src, loops])]),
            torch.cat([b.weight * b.scale[b.dst], torch.ones(b.n_dst, dtype=torch.float64)]),
            shape,
            check_invariants=False,
        ).coalesce()
        rows, cols = a.indices()
        dinv = (b.degree + 1.0) ** -0.5
        m = _sparse(rows, cols, a.values() * dinv[rows] * dinv[cols], shape, dtype)
        return Propagation("gcn", b.n_dst, b.n_src, matrix=m)
    if kind == "sage":
        total = torch.zeros(b.n_dst, dtype=torch.float64).index_add_(0, b.dst, b.weight)
        m = _sparse(b.dst, b.src, b.weight / total[b.dst], shape, dtype)
        return Propagation("sage", b.n_dst, b.n_src, matrix=m)
    if kind == "gin":
        m = _sparse(b.dst, b.src, b.weight * b.scale[b.dst], shape, dtype)
        return Propagation("gin", b.n_dst, b.n_src, matrix=m)
    if kind == "gat":
        keep = b.src != b.dst
        loops = torch.arange(b.n_dst)
        return Propagation(
            "gat",
            b.n_dst,
            b.n_src,
            src=torch.cat([b.src[keep], loops]),
            dst=torch.cat([b.dst[keep], loops]),
            weight=torch.cat([b.weight[keep], torch.ones(b.n_dst, dtype=torch.float64)]),
        )
    raise ValueError(f"unknown layer kind {kind!r}")  # pragma: no cover


def _is_block_list(graph: Any) -> bool:
    return (
        isinstance(graph, (list, tuple))
        and len(graph) > 0
        and all(isinstance(g, (Block, Propagation)) for g in graph)
    )


def _shape(op: Propagation) -> tuple[int, int]:
    """(n_dst, n_src) of a prepared operator."""
    return op.n_dst, op.n_src


def _prepare(kind: str, graph: Any, num_nodes: int | None, dtype: torch.dtype) -> Any:
    """What a layer of ``kind`` consumes for ``graph`` (a list for a list of blocks)."""
    if _is_block_list(graph):
        ops = [_prepare(kind, g, None, dtype) for g in graph]
        for i in range(1, len(ops)):
            if _shape(ops[i])[1] != _shape(ops[i - 1])[0]:
                raise ValueError(
                    f"block {i} has {_shape(ops[i])[1]} sources, block {i - 1} "
                    f"{_shape(ops[i - 1])[0]} targets: they must chain"
                )
        if num_nodes is not None and _shape(ops[0])[1] != num_nodes:
            raise ValueError(
                f"the first block has {_shape(ops[0])[1]} source nodes, x has {num_nodes} rows"
            )
        return ops
    if isinstance(graph, Propagation):
        if graph.kind != kind:
            raise ValueError(f"this graph was prepared for a {graph.kind} layer, not {kind}")
        op: Any = graph
    elif isinstance(graph, torch.Tensor) and graph.layout in (torch.sparse_coo, torch.sparse_csr):
        if kind != "gcn":
            raise TypeError(
                f"a sparse tensor is read as GCN's Â only; a {kind} layer takes a Graph, an "
                "edge_index, a Block or what its prepare_graph returns"
            )
        if graph.ndim != 2 or (num_nodes is not None and graph.shape[1] != num_nodes):
            raise ValueError(
                f"the sparse operator must be ({num_nodes}, {num_nodes}) (a whole graph) or "
                f"(n_dst, {num_nodes}) (a block), got {tuple(graph.shape)}"
            )
        a = graph.to_sparse_coo() if graph.layout == torch.sparse_csr else graph
        op = Propagation("gcn", int(a.shape[0]), int(a.shape[1]), matrix=a.coalesce())
    elif isinstance(graph, Block):
        op = _from_block(kind, graph, dtype)
    else:
        g = as_graph(graph, num_nodes)
        if kind == "gcn":
            op = Propagation("gcn", g.num_nodes, g.num_nodes, matrix=gcn_adjacency(g, dtype=dtype))
        else:
            op = _from_block(kind, full_block(g), dtype)
    if num_nodes is not None and _shape(op)[1] != num_nodes:
        raise ValueError(f"the graph has {_shape(op)[1]} (source) nodes, x has {num_nodes} rows")
    return op


def _check_x(x: Any, in_dim: int, dtype: torch.dtype) -> Tensor:
    """x checked: a finite floating tensor (n, in_dim) of the parameters' dtype."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch tensor, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise TypeError(f"x must be a floating tensor, got dtype {x.dtype}")
    if x.dtype != dtype:
        raise TypeError(f"x has dtype {x.dtype} and the parameters {dtype}; cast one of them")
    if x.ndim != 2 or x.shape[1] != in_dim:
        raise ValueError(f"x must have shape (n, {in_dim}), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("x has NaN or infinite values")
    return x


# --- layers ---------------------------------------------------------------------------------


def _check_dropout(dropout: float, name: str = "dropout") -> float:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {dropout!r}")
    return float(dropout)


class _Conv(nn.Module):
    """A layer: ``forward(x, graph)`` checks x, prepares the graph and calls
    :meth:`propagate`, which the models call directly on hidden features."""

    kind = ""
    in_dim: int

    def _dtype(self) -> torch.dtype:
        for t in itertools.chain(self.parameters(), self.buffers()):
            return t.dtype
        return torch.get_default_dtype()  # pragma: no cover - every layer has a tensor

    def prepare_graph(self, graph: Any, num_nodes: int | None) -> Any:
        """What :meth:`propagate` takes for ``graph`` (a Graph, scipy.sparse, networkx,
        ``edge_index``, a :class:`Block`, a prepared graph) with ``num_nodes`` input rows."""
        return _prepare(self.kind, graph, num_nodes, self._dtype())

    def forward(self, x: Tensor, graph: Any) -> Tensor:
        """x (n_src, in_dim) on ``graph`` (see :meth:`prepare_graph`; a whole graph or one
        block) -> (n_dst, out): n_dst = n_src for a whole graph."""
        if _is_block_list(graph):
            raise ValueError("a layer takes one graph or block, not a list of blocks")
        x = _check_x(x, self.in_dim, self._dtype())
        op = self.prepare_graph(graph, x.shape[0])
        return self.propagate(x, op)

    def propagate(self, x: Tensor, op: Any) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def _spmm(op: Propagation, x: Tensor) -> Tensor:
    """``op.matrix @ x`` (n_dst, d), differentiable in x."""
    return _SpMM.apply(x, op)


class GCNConv(_Conv):
    """One graph convolution ``Â X W + b`` (Â: :func:`gcn_adjacency`; on a :class:`Block`
    the same entries with the whole graph's degrees, sampled edges scaled by
    :attr:`Block.scale`). Weights: ``linear.weight`` (out_dim, in_dim), ``bias``.

    Args:
        in_dim: input features.
        out_dim: output features.
        bias: add a learned bias after the propagation.
    """

    kind = "gcn"

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", 1)
        self.linear = nn.Linear(in_dim, check_int(out_dim, "out_dim", 1), bias=False)
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None
        nn.init.xavier_uniform_(self.linear.weight)

    def propagate(self, x: Tensor, op: Propagation) -> Tensor:
        """x (n_src, in_dim), the prepared Â (n_dst, n_src) -> (n_dst, out_dim)."""
        out = _spmm(op, self.linear(x))
        return out + self.bias if self.bias is not None else out


class SAGEConv(_Conv):
    """GraphSAGE's layer with the mean aggregator and a root weight (PyG's ``SAGEConv``
    defaults): ``x_i' = W_1 mean_{j -> i} x_j + b + W_2 x_i``.

    Weights: ``lin_neighbors`` (W_1, b; PyG's ``lin_l``) and ``lin_root`` (W_2, no bias;
    PyG's ``lin_r``). Where in_dim > out_dim, W_1 is applied before the aggregation (the
    same result, a cheaper product).

    Args:
        in_dim: input features.
        out_dim: output features.
        bias: b.
        root_weight: add W_2 x_i (False: the aggregation alone).
    """

    kind = "sage"

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, root_weight: bool = True):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", 1)
        out_dim = check_int(out_dim, "out_dim", 1)
        self.lin_neighbors = nn.Linear(in_dim, out_dim, bias=bias)
        self.lin_root = nn.Linear(in_dim, out_dim, bias=False) if root_weight else None

    def propagate(self, x: Tensor, op: Propagation) -> Tensor:
        """x (n_src, in_dim), the mean operator -> (n_dst, out_dim)."""
        assert op.matrix is not None
        lin = self.lin_neighbors
        if lin.in_features > lin.out_features:
            out = _spmm(op, x @ lin.weight.T)
            if lin.bias is not None:
                out = out + lin.bias
        else:
            out = lin(_spmm(op, x))
        if self.lin_root is not None:
            out = out + self.lin_root(x[: op.n_dst])
        return out


class GINConv(_Conv):
    """The graph isomorphism layer ``x_i' = MLP((1 + eps) x_i + sum_{j -> i} S[j, i] x_j)``
    (PyG's ``GINConv``; on a :class:`Block` the sum is scaled by :attr:`Block.scale`).

    Args:
        in_dim: input features.
        out_dim: output features.
        hidden: the default MLP's hidden width (default out_dim).
        eps: eps's (initial) value.
        train_eps: learn eps (a parameter) or keep it fixed (a buffer).
        mlp: the network applied after the aggregation, mapping in_dim to out_dim features
            (default ``Linear(in_dim, hidden), ReLU, Linear(hidden, out_dim)``).
    """

    kind = "gin"

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: int | None = None,
        eps: float = 0.0,
        train_eps: bool = False,
        mlp: nn.Module | None = None,
    ):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", 1)
        out_dim = check_int(out_dim, "out_dim", 1)
        hidden = out_dim if hidden is None else check_int(hidden, "hidden", 1)
        if mlp is None:
            mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))
        self.mlp = mlp
        e = torch.tensor(float(eps))
        if train_eps:
            self.eps = nn.Parameter(e)
        else:
            self.register_buffer("eps", e)

    def propagate(self, x: Tensor, op: Propagation) -> Tensor:
        """x (n_src, in_dim), the (scaled) sum operator -> (n_dst, out_dim)."""
        assert op.matrix is not None
        eps = self.eps.to(x.dtype)
        return self.mlp((1 + eps) * x[: op.n_dst] + _spmm(op, x))


def segment_softmax(
    scores: Tensor, index: Tensor, num_segments: int, weight: Tensor | None = None
) -> Tensor:
    """Softmax of ``scores`` over the entries that share a segment.

    ``out[e] = w[e] exp(s[e]) / sum_{f: index[f] = index[e]} w[f] exp(s[f])``, computed
    with each segment's maximum subtracted (stable for any finite scores); independently per
    trailing column.

    Args:
        scores: (E,) or (E, H) finite scores.
        index: (E,) int64 segment of each entry, in [0, num_segments).
        num_segments: the number of segments (empty ones are allowed).
        weight: (E,) multiplicities w > 0 (default 1).

    Returns:
        a tensor shaped like ``scores``, summing to 1 over each non-empty segment.
    """
    shape = (num_segments, *scores.shape[1:])
    idx = index.view(-1, *([1] * (scores.ndim - 1))).expand_as(scores)
    top = torch.full(shape, float("-inf"), dtype=scores.dtype, device=scores.device)
    top = top.scatter_reduce(0, idx, scores.detach(), "amax", include_self=True)
    z = torch.exp(scores - top[index])
    if weight is not None:
        z = z * weight.to(scores.dtype).view(-1, *([1] * (scores.ndim - 1)))
    total = torch.zeros(shape, dtype=scores.dtype, device=scores.device).index_add(0, index, z)
    return z / total[index]


class GATConv(_Conv):
    """Graph attention (PyG's ``GATConv`` with its defaults): multi-head attention by a
    segment softmax over each node's in-edges, self-loops replaced by one per node.

    Weights: ``linear.weight`` (heads * out_dim, in_dim), ``att_src`` and ``att_dst``
    (1, heads, out_dim), ``bias`` (heads * out_dim if concat else out_dim). After a forward
    pass in eval mode or with ``keep_attention = True``, ``attention`` holds the last
    coefficients alpha (E', heads) in the order of the prepared graph's ``src``/``dst``.

    Args:
        in_dim: input features.
        out_dim: features per head.
        heads: attention heads, >= 1.
        concat: concatenate the heads (output heads * out_dim) or average them (out_dim).
        negative_slope: LeakyReLU's slope (0.2).
        dropout: dropout probability on the attention coefficients (training only).
        bias: add a learned bias.
    """

    kind = "gat"

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        bias: bool = True,
    ):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", 1)
        self.out_dim = check_int(out_dim, "out_dim", 1)
        self.heads = check_int(heads, "heads", 1)
        self.dropout = _check_dropout(dropout)
        self.concat = bool(concat)
        self.negative_slope = float(negative_slope)
        self.linear = nn.Linear(in_dim, heads * out_dim, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_dim))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_dim))
        width = heads * out_dim if concat else out_dim
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)
        self.keep_attention = False
        self.attention: Tensor | None = None

    @property
    def out_features(self) -> int:
        """heads * out_dim if concat else out_dim."""
        return self.heads * self.out_dim if self.concat else self.out_dim

    def propagate(self, x: Tensor, op: Propagation) -> Tensor:
        """x (n_src, in_dim), the attention edges -> (n_dst, out_features)."""
        assert op.src is not None and op.dst is not None and op.weight is not None
        heads, c = self.heads, self.out_dim
        h = self.linear(x).view(-1, heads, c)
        a_src = (h * self.att_src).sum(-1)  # (n_src, heads)
        a_dst = (h[: op.n_dst] * self.att_dst).sum(-1)  # (n_dst, heads)
        src, dst = op.src.to(x.device), op.dst.to(x.device)
        scores = nn.functional.leaky_relu(a_src[src] + a_dst[dst], self.negative_slope)
        alpha = segment_softmax(scores, dst, op.n_dst, op.weight.to(x.device))
        if self.keep_attention or not self.training:
            self.attention = alpha.detach()
        alpha = nn.functional.dropout(alpha, self.dropout, self.training)
        product = op.product(heads, x.device)
        out = product(alpha.reshape(-1), h.reshape(-1, c)).view(op.n_dst, heads, c)
        out = out.reshape(op.n_dst, heads * c) if self.concat else out.mean(dim=1)
        return out + self.bias if self.bias is not None else out


# --- models ---------------------------------------------------------------------------------


class _GNN(nn.Module):
    """``layers`` convolutions with dropout before each and an activation between them."""

    kind = ""
    convs: nn.ModuleList

    def __init__(self, in_dim: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", 1)
        check_int(hidden, "hidden", 1)
        check_int(layers, "layers", 1)
        self.dropout = _check_dropout(dropout)
        self._cache: tuple[Any, Any, torch.dtype] | None = None

    @property
    def num_layers(self) -> int:
        """The number of convolutions (a mini-batch needs one block each)."""
        return len(self.convs)

    def _activation(self, h: Tensor) -> Tensor:
        return torch.relu(h)

    def prepare_graph(self, graph: Any, num_nodes: int | None) -> Any:
        """The prepared graph for ``graph`` with ``num_nodes`` input rows: for a Graph,
        scipy.sparse, networkx or ``edge_index`` the whole graph's operator in the dtype of
        the parameters (the last result cached for the same graph object); for a list of
        :class:`Block` (one per layer) a list of operators; a prepared graph as is (checked).
        """
        dtype = next(self.parameters()).dtype
        cacheable = not (isinstance(graph, (Block, Propagation)) or _is_block_list(graph))
        if cacheable and self._cache is not None and self._cache[0] is graph:
            op = self._cache[1]
            if self._cache[2] == dtype and (num_nodes is None or _shape(op)[1] == num_nodes):
                return op
        op = _prepare(self.kind, graph, num_nodes, dtype)
        if cacheable:
            self._cache = (graph, op, dtype)
        return op

    def forward(self, x: Tensor, graph: Any) -> Tensor:
        """Logits of x (n, in_dim) on ``graph``: a whole graph -> (n, out_dim); a list of
        blocks (``x`` the rows ``blocks[0].nodes``) -> (blocks[-1].n_dst, out_dim)."""
        x = _check_x(x, self.in_dim, next(self.parameters()).dtype)
        ops = self.prepare_graph(graph, x.shape[0])
        if isinstance(ops, list):
            if len(ops) != self.num_layers:
                raise ValueError(f"got {len(ops)} blocks for {self.num_layers} layers")
        else:
            ops = [ops] * self.num_layers
        h = x
        last = self.num_layers - 1
        for i, (conv, op) in enumerate(zip(self.convs, ops, strict=True)):
            h = nn.functional.dropout(h, self.dropout, self.training)
            h = cast(_Conv, conv).propagate(h, op)
            if i < last:
                h = self._activation(h)
        return h


def _dims(in_dim: int, hidden: int, out_dim: int, layers: int) -> list[int]:
    check_int(out_dim, "out_dim", 1)
    return [in_dim] + [hidden] * (check_int(layers, "layers", 1) - 1) + [out_dim]


class GCN(_GNN):
    """A GCN: ``layers`` graph convolutions in_dim -> hidden -> ... -> out_dim, ReLU between.

    Args:
        in_dim: input features F.
        hidden: hidden width.
        out_dim: outputs (classes: logits).
        layers: graph convolutions, >= 1 (1: a single in_dim -> out_dim convolution).
        dropout: dropout probability before every convolution (training only).

    ``forward(x, graph)``: x (n, F) float tensor; graph a :class:`Graph`, an
    ``edge_index`` (2, E) (src -> dst, ids in [0, n)), a sparse Â (:func:`gcn_adjacency`,
    taken as is), what :meth:`prepare_graph` returns, or a list of :class:`Block` ->
    logits (n, out_dim) (a list of blocks: (blocks[-1].n_dst, out_dim)). The prepared Â of
    a Graph, edge_index or sparse tensor is cached for the last graph object seen.
    """

    kind = "gcn"

    def __init__(
        self, in_dim: int, hidden: int, out_dim: int, layers: int = 2, dropout: float = 0.5
    ):
        super().__init__(in_dim, hidden, layers, dropout)
        dims = _dims(in_dim, hidden, out_dim, layers)
        self.convs = nn.ModuleList(GCNConv(a, b) for a, b in itertools.pairwise(dims))


class GraphSAGE(_GNN):
    """GraphSAGE with the mean aggregator: ``layers`` :class:`SAGEConv`, ReLU between.

    Args and ``forward`` as :class:`GCN` (the prepared graph is a :class:`Propagation`).
    """

    kind = "sage"

    def __init__(
        self, in_dim: int, hidden: int, out_dim: int, layers: int = 2, dropout: float = 0.5
    ):
        super().__init__(in_dim, hidden, layers, dropout)
        dims = _dims(in_dim, hidden, out_dim, layers)
        self.convs = nn.ModuleList(SAGEConv(a, b) for a, b in itertools.pairwise(dims))


class GIN(_GNN):
    """GIN: ``layers`` :class:`GINConv`, each with a two-layer MLP
    (``Linear(a, hidden), ReLU, Linear(hidden, b)``), ReLU between them.

    Args as :class:`GCN`, plus ``train_eps`` (learn each layer's eps, initially 0).
    """

    kind = "gin"

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        layers: int = 2,
        dropout: float = 0.5,
        train_eps: bool = False,
    ):
        super().__init__(in_dim, hidden, layers, dropout)
        dims = _dims(in_dim, hidden, out_dim, layers)
        self.convs = nn.ModuleList(
            GINConv(a, b, hidden=hidden, train_eps=train_eps) for a, b in itertools.pairwise(dims)
        )


class GAT(_GNN):
    """GAT (Veličković et al.'s node-classification setting): hidden layers of ``heads``
    attention heads of ``hidden`` features each, concatenated, ELU between layers; the last
    layer ``out_heads`` heads averaged into out_dim logits.

    Args:
        in_dim, hidden, out_dim, layers: as :class:`GCN` (``hidden`` per head).
        heads: heads of the hidden layers.
        out_heads: heads of the output layer (averaged).
        dropout: dropout on every layer's input features (training only).
        attention_dropout: dropout on the attention coefficients (training only).
    """

    kind = "gat"

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        layers: int = 2,
        heads: int = 8,
        out_heads: int = 1,
        dropout: float = 0.6,
        attention_dropout: float = 0.6,
    ):
        super().__init__(in_dim, hidden, layers, dropout)
        heads = check_int(heads, "heads", 1)
        out_heads = check_int(out_heads, "out_heads", 1)
        attention_dropout = _check_dropout(attention_dropout, "attention_dropout")
        check_int(out_dim, "out_dim", 1)
        convs: list[nn.Module] = []
        width = in_dim
        for _ in range(layers - 1):
            convs.append(GATConv(width, hidden, heads, True, dropout=attention_dropout))
            width = heads * hidden
        convs.append(GATConv(width, out_dim, out_heads, False, dropout=attention_dropout))
        self.convs = nn.ModuleList(convs)

    def _activation(self, h: Tensor) -> Tensor:
        return nn.functional.elu(h)


# --- training -------------------------------------------------------------------------------


def _prepare_model(model: nn.Module, graph: Any, n: int) -> Any:
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
        train_loss, val_accuracy: per-epoch history (mini-batches: the mean over the epoch's
            batches, weighted by their sizes).
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


def _features(x: Any, device: torch.device, dtype: torch.dtype) -> Tensor:
    """x (n, F) checked (finite, real) and cast to the model's device and dtype."""
    xt = x if isinstance(x, torch.Tensor) else torch.as_tensor(as_numpy(x, "x"))
    if xt.ndim != 2:
        raise ValueError(f"x must have shape (n, F), got {tuple(xt.shape)}")
    if xt.dtype == torch.bool or xt.is_complex():
        raise TypeError(f"x must hold real numbers, got dtype {xt.dtype}")
    if not torch.is_floating_point(xt):
        xt = xt.to(torch.float64)
    if not torch.isfinite(xt).all():
        raise ValueError("x has NaN or infinite values")
    return xt.to(device=device, dtype=dtype)


def _minibatch_setup(
    model: nn.Module, graph: Any, n: int, batch_size: Any, fanouts: Any, seed: int
) -> tuple[NeighborSampler, int]:
    batch_size = check_int(batch_size, "batch_size", 1)
    layers = getattr(model, "num_layers", None)
    if not isinstance(layers, int):
        raise ValueError("mini-batches need a model with num_layers (GCN, GraphSAGE, GIN, GAT)")
    if fanouts is None:
        fanouts = [-1] * layers
    sampler = NeighborSampler(graph, fanouts, num_nodes=n, seed=seed)
    if sampler.num_layers != layers:
        raise ValueError(f"fanouts has {sampler.num_layers} entries, the model {layers} layers")
    return sampler, batch_size


def _batched_logits(
    model: nn.Module,
    xt: Tensor,
    sampler: NeighborSampler,
    nodes: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
) -> Tensor:
    """The logits of ``nodes`` (in order), batch by batch (the model's mode as it is)."""
    out = []
    for i in range(0, nodes.size, batch_size):
        blocks = sampler.sample(nodes[i : i + batch_size], rng=rng)
        out.append(model(xt[blocks[0].nodes.to(xt.device)], blocks))
    return torch.cat(out)


@torch.no_grad()
def minibatch_logits(
    model: nn.Module,
    x: Any,
    graph: Any,
    nodes: Any,
    *,
    batch_size: int = 1024,
    fanouts: Sequence[int] | None = None,
    seed: int = 0,
) -> Tensor:
    """Eval-mode logits (len(nodes), C) of ``nodes`` from neighbour-sampled mini-batches.

    Args:
        model: a model with ``num_layers`` taking ``(x_batch, blocks)`` (:class:`GCN`,
            :class:`GraphSAGE`, :class:`GIN`, :class:`GAT`).
        x: (n, F) features; graph: as :func:`as_graph` takes it with n nodes.
        nodes: (B,) distinct node ids.
        batch_size: seeds per batch.
        fanouts: per layer (:class:`NeighborSampler`); default all neighbours (exact).
        seed: the sampler's seed.
    """
    param = next(model.parameters())
    xt = _features(x, param.device, param.dtype)
    sampler, batch_size = _minibatch_setup(model, graph, xt.shape[0], batch_size, fanouts, seed)
    idx = as_numpy(nodes, "nodes")
    model.eval()
    return _batched_logits(model, xt, sampler, idx, batch_size, sampler.rng)


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
    batch_size: int | None = None,
    fanouts: Sequence[int] | None = None,
) -> NodeClassifierResult:
    """Training with Adam and cross-entropy on the training nodes, early stopping on
    validation accuracy, best weights restored; full batch, or neighbour-sampled
    mini-batches with ``batch_size``.

    Every epoch: full batch, one step on the training nodes' loss; mini-batches, one step
    per batch of ``batch_size`` training nodes (shuffled) on the blocks a
    :class:`NeighborSampler` with ``fanouts`` draws around them. Then the validation
    accuracy in eval mode (mini-batches: on sampled blocks drawn from the same seed every
    epoch, so epochs are compared on the same neighbourhoods). The weights of the epoch with
    the highest validation accuracy (ties: the lower validation loss, then the earlier
    epoch) are kept; training stops after ``patience`` epochs without a better one. Without
    ``val_mask`` all ``epochs`` run and the last weights stay. Dropout, shuffling and
    sampling draw from ``seed`` (the global torch RNG state is restored afterwards); seed
    the model's initialisation yourself (``torch.manual_seed`` before building it).

    Args:
        model: a module with ``prepare_graph(graph, n)`` and ``forward(x, prepared)``
            returning logits (n, n_classes) (:class:`GCN`, :class:`GraphSAGE`,
            :class:`GIN`, :class:`GAT`); for mini-batches also ``num_layers`` and
            ``forward(x_batch, blocks)``.
        x: (n, F) float features (tensor or array; cast to the model's dtype/device).
        graph: whatever ``model.prepare_graph`` accepts (Graph, edge_index, operator); for
            mini-batches what :func:`as_graph` accepts.
        y: (n,) integer labels in [0, n_classes); only the masked nodes' are read.
        train_mask, val_mask: (n,) bool masks (each non-empty).
        epochs: the most epochs, >= 1.
        lr, weight_decay: Adam's.
        patience: epochs without improvement before stopping, >= 1.
        seed: dropout, shuffling and sampling seed.
        progress: show a tqdm bar.
        batch_size: training (and validation) nodes per mini-batch; None: full batch.
        fanouts: in-neighbours sampled per layer, input layer first, -1 for all
            (:class:`NeighborSampler`); default all. Only with ``batch_size``.

    Returns:
        :class:`NodeClassifierResult`; the model holds the best weights, in eval mode.
    """
    epochs = check_int(epochs, "epochs", 1)
    patience = check_int(patience, "patience", 1)
    if fanouts is not None and batch_size is None:
        raise ValueError("fanouts need batch_size (mini-batches)")
    param = next(model.parameters())
    device, dtype = param.device, param.dtype
    xt = _features(x, device, dtype)
    n = xt.shape[0]
    ya = as_numpy(y, "y")
    if ya.shape != (n,) or not np.issubdtype(ya.dtype, np.integer):
        raise ValueError(f"y must be ({n},) integer labels, got shape {ya.shape}, {ya.dtype}")
    yt = torch.as_tensor(ya.astype(np.int64), device=device)
    train = _tensor_mask(train_mask, n, "train_mask", device)
    val = None if val_mask is None else _tensor_mask(val_mask, n, "val_mask", device)
    train_idx = np.flatnonzero(as_numpy(train, "train_mask"))
    val_idx = None if val is None else np.flatnonzero(as_numpy(val, "val_mask"))
    if batch_size is None:
        prepared = _prepare_model(model, graph, n)
        with torch.no_grad():
            n_out = model.eval()(xt, prepared).shape[1]
    else:
        sampler, batch_size = _minibatch_setup(model, graph, n, batch_size, fanouts, seed)
        with torch.no_grad():
            first = sampler.sample(train_idx[:1], rng=np.random.default_rng(0))
            n_out = model.eval()(xt[first[0].nodes.to(device)], first).shape[1]
    used = yt[train] if val is None else torch.cat([yt[train], yt[val]])
    if used.min() < 0 or used.max() >= n_out:
        raise ValueError(f"labels of the masked nodes must be in [0, {n_out})")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    result = NodeClassifierResult(-1, float("nan"), 0, 0.0)
    best_key = (-1.0, float("-inf"))
    best_state = None
    shuffle = np.random.default_rng(seed)
    from tqdm.auto import tqdm

    start = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        bar = tqdm(range(epochs), desc="train", disable=not progress, leave=False)
        for epoch in bar:
            model.train()
            if batch_size is None:
                optimizer.zero_grad()
                logits = model(xt, prepared)
                loss_t = nn.functional.cross_entropy(logits[train], yt[train])
                loss_t.backward()
                optimizer.step()
                loss = float(loss_t.detach())
            else:
                total = 0.0
                order = shuffle.permutation(train_idx)
                for i in range(0, order.size, batch_size):
                    seeds = order[i : i + batch_size]
                    blocks = sampler.sample(seeds)
                    optimizer.zero_grad()
                    logits = model(xt[blocks[0].nodes.to(device)], blocks)
                    target = yt[torch.from_numpy(seeds).to(device)]
                    loss_t = nn.functional.cross_entropy(logits, target)
                    loss_t.backward()
                    optimizer.step()
                    total += float(loss_t.detach()) * seeds.size
                loss = total / order.size
            result.train_loss.append(loss)
            result.epochs_run = epoch + 1
            if val is None:
                continue
            model.eval()
            with torch.no_grad():
                if batch_size is None:
                    out = model(xt, prepared)[val]
                else:
                    assert val_idx is not None
                    rng = np.random.default_rng([seed, 1])
                    out = _batched_logits(model, xt, sampler, val_idx, batch_size, rng)
                acc = float((out.argmax(1) == yt[val]).double().mean())
                val_loss = float(nn.functional.cross_entropy(out, yt[val]))
            result.val_accuracy.append(acc)
            if (acc, -val_loss) > best_key:
                best_key = (acc, -val_loss)
                best_state = copy.deepcopy(model.state_dict())
                result.best_epoch, result.best_val_accuracy = epoch, acc
            elif epoch - result.best_epoch >= patience:
                break
            if progress:
                bar.set_postfix(loss=f"{loss:.3f}", val=f"{acc:.3f}")
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.best_epoch = result.epochs_run - 1
    result.seconds = time.perf_counter() - start
    model.eval()
    return result


@torch.no_grad()
def node_accuracy(
    model: nn.Module,
    x: Any,
    graph: Any,
    y: Any,
    mask: Any,
    *,
    batch_size: int | None = None,
    fanouts: Sequence[int] | None = None,
    seed: int = 0,
) -> float:
    """The accuracy of ``model``'s argmax on the nodes of ``mask`` (eval mode); full batch,
    or with ``batch_size`` on neighbour-sampled mini-batches (:func:`minibatch_logits`)."""
    param = next(model.parameters())
    xt = _features(x, param.device, param.dtype)
    n = xt.shape[0]
    m = _tensor_mask(mask, n, "mask", param.device)
    yt = torch.as_tensor(as_numpy(y, "y").astype(np.int64), device=param.device)
    model.eval()
    if batch_size is None:
        if fanouts is not None:
            raise ValueError("fanouts need batch_size (mini-batches)")
        out = model(xt, _prepare_model(model, graph, n))[m]
    else:
        idx = np.flatnonzero(as_numpy(m, "mask"))
        out = minibatch_logits(
            model, xt, graph, idx, batch_size=batch_size, fanouts=fanouts, seed=seed
        )
    return float((out.argmax(1) == yt[m]).double().mean())
