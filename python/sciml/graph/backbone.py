"""The sparse graph container the graph models share: conversions, normalisations, products.

A :class:`Graph` holds a square adjacency S (n, n) in canonical CSR form (no duplicates,
no explicit zeros, finite weights >= 0), row i holding the edges out of node i, and the
labels of its nodes (``node_ids``, row order). It is built from

- ``edge_index`` (2, E) integers, PyG's convention: edge e goes from ``edge_index[0, e]``
  to ``edge_index[1, e]`` (S[src, dst]); node ids may have gaps (they are then remapped to
  0..n-1 in sorted order) unless ``num_nodes`` is given;
- a scipy.sparse matrix or array (n, n);
- a networkx graph (rows in ``list(G.nodes)`` order, any hashable labels, edge attribute
  ``"weight"`` where present, else 1; a directed graph gives its out-edges).

Duplicate edges add up. CSC and normalisations are computed once and cached; the
container never builds a dense n x n matrix or per-edge messages.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Sequence
from functools import cached_property
from typing import Any, Literal, TypeAlias

import numpy as np
import scipy.sparse as sp

Normalization: TypeAlias = Literal["sym", "rw"] | None
MAX_NODES = 2**62
"""The largest node count (scipy's int64 indices)."""


def as_numpy(x: Any, name: str) -> np.ndarray:
    """A numpy view of a torch tensor (detached, on the CPU) or of an array-like."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # pragma: no cover - numpy's own message is clear enough
        raise TypeError(f"{name} must be a tensor or array, got {type(x).__name__}") from e


def is_networkx(graph: Any) -> bool:
    """Whether ``graph`` is a networkx graph (checked without importing networkx)."""
    return type(graph).__module__.split(".")[0] == "networkx"


def _edge_arrays(
    edge_index: Any, edge_weight: Any, num_nodes: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray | None]:
    """Checked src, dst (int64), weights, n, and the sorted node ids when remapped."""
    ei = as_numpy(edge_index, "edge_index")
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {ei.shape}")
    if ei.size and not np.issubdtype(ei.dtype, np.integer):
        raise TypeError(f"edge_index must hold integers, got dtype {ei.dtype}")
    ei = ei.astype(np.int64, copy=False)
    e = ei.shape[1]
    ids: np.ndarray | None = None
    if num_nodes is None:
        ids, inverse = np.unique(ei, return_inverse=True)
        ei = inverse.reshape(2, e).astype(np.int64)
        n = ids.size
    else:
        try:
            n = operator.index(num_nodes)
        except TypeError:
            raise TypeError(f"num_nodes must be an int, got {type(num_nodes).__name__}") from None
        if not 0 <= n <= MAX_NODES:
            raise ValueError(f"num_nodes must be in [0, {MAX_NODES}], got {n}")
        if e and (ei.min() < 0 or ei.max() >= n):
            raise ValueError(
                f"edge_index values must be in [0, num_nodes = {n}); got [{ei.min()}, {ei.max()}]"
            )
    if edge_weight is not None:
        w = as_numpy(edge_weight, "edge_weight")
        if w.shape != (e,):
            raise ValueError(f"edge_weight must have shape ({e},), got {w.shape}")
        if w.dtype == np.bool_ or np.issubdtype(w.dtype, np.integer):
            w = w.astype(np.float64)
        elif not np.issubdtype(w.dtype, np.floating):
            raise TypeError(f"edge_weight must hold real numbers, got dtype {w.dtype}")
    else:
        w = np.ones(e, dtype=np.float32)
    return ei[0], ei[1], w, n, ids


def canonical_adjacency(s: Any) -> sp.csr_array:
    """``s`` (scipy.sparse, (n, n)) as a canonical float csr_array with finite weights >= 0.

    Bool and integer weights become float64; float32 stays float32. Duplicates are summed
    and explicit zeros dropped.

    Raises:
        TypeError: weights that are not real numbers.
        ValueError: a non-square matrix; NaN, infinite or negative weights.
    """
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"graph must be a square (n, n) matrix, got shape {s.shape}")
    if not (np.issubdtype(s.dtype, np.floating) or np.issubdtype(s.dtype, np.integer)) and (
        s.dtype != np.bool_
    ):
        raise TypeError(f"graph weights must be real numbers, got dtype {s.dtype}")
    s = sp.csr_array(s)
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    data = s.data
    if data.size:
        if not np.isfinite(data).all():
            raise ValueError("graph weights must be finite; found NaN or infinite entries")
        if (data < 0).any():
            i = int(np.argmax(data < 0))
            row = int(np.searchsorted(s.indptr, i, side="right") - 1)
            raise ValueError(f"graph weights must be >= 0; S[{row}, {s.indices[i]}] = {data[i]}")
    if not s.has_canonical_format:
        s = s.copy()
        s.sum_duplicates()
    if s.data.size and (s.data == 0).any():
        s = s.copy()
        s.eliminate_zeros()
    return s


def _inverse_power(degree: np.ndarray, p: float) -> np.ndarray:
    """degree**-p where degree > 0, else 0 (zero-degree rows stay zero)."""
    out = np.zeros_like(degree, dtype=np.float64)
    pos = degree > 0
    out[pos] = degree[pos] ** -p
    return out


class Graph:
    """A graph on n nodes: canonical CSR adjacency S (n, n) and node labels.

    Build it with :meth:`from_edge_index`, :meth:`from_scipy`, :meth:`from_networkx` or
    :meth:`from_any`. Treat it as immutable: derived matrices are cached.

    Attributes:
        adjacency: ``scipy.sparse.csr_array`` (n, n), float32 or float64, weights > 0.
        node_ids: the label of each row: an int64 array for ``edge_index`` and scipy
            inputs (``arange(n)`` unless ids were remapped), a list for networkx.
    """

    def __init__(self, adjacency: Any, node_ids: Sequence[Hashable] | np.ndarray | None = None):
        """Wraps a square scipy.sparse adjacency (checked and made canonical) with optional
        node labels (one per row; default ``arange(n)``)."""
        if not sp.issparse(adjacency):
            raise TypeError(f"adjacency must be scipy.sparse, got {type(adjacency).__name__}")
        self.adjacency: sp.csr_array = canonical_adjacency(adjacency)
        n = self.adjacency.shape[0]
        if node_ids is None:
            node_ids = np.arange(n, dtype=np.int64)
        if len(node_ids) != n:
            raise ValueError(f"node_ids must have n = {n} labels, got {len(node_ids)}")
        self.node_ids: np.ndarray | list[Hashable] = node_ids  # type: ignore[assignment]

    # --- constructors -------------------------------------------------------------------

    @classmethod
    def from_edge_index(
        cls, edge_index: Any, edge_weight: Any = None, num_nodes: int | None = None
    ) -> Graph:
        """From ``edge_index`` (2, E) integers (numpy or torch), src -> dst.

        Args:
            edge_index: (2, E) integer array or tensor.
            edge_weight: (E,) weights (bool, int or float; finite, >= 0), default 1.
            num_nodes: n; node ids must then lie in [0, n). None: the nodes are the
                distinct ids present, remapped to 0..n-1 in increasing order
                (``node_ids`` maps back).
        """
        src, dst, w, n, ids = _edge_arrays(edge_index, edge_weight, num_nodes)
        s = sp.coo_array((w, (src, dst)), shape=(n, n)).tocsr()
        return cls(s, ids)

    @classmethod
    def from_scipy(cls, matrix: Any) -> Graph:
        """From a square scipy.sparse matrix or array (n, n); S[i, j] is the edge i -> j."""
        if not sp.issparse(matrix):
            raise TypeError(f"matrix must be scipy.sparse, got {type(matrix).__name__}")
        return cls(matrix)

    @classmethod
    def from_networkx(cls, graph: Any, weight: str = "weight") -> Graph:
        """From a networkx graph: rows in ``list(graph.nodes)`` order (labels kept in
        ``node_ids``), edge attribute ``weight`` (default 1); undirected edges both ways."""
        if not is_networkx(graph):
            raise TypeError(f"graph must be a networkx graph, got {type(graph).__name__}")
        import networkx as nx

        nodes = list(graph.nodes)
        if nodes:
            s = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=weight, format="csr")
        else:  # networkx refuses to convert a graph without nodes
            s = sp.csr_array((0, 0))
        return cls(s, nodes)

    @classmethod
    def from_any(cls, graph: Any) -> Graph:
        """A :class:`Graph` as is; a scipy.sparse matrix; a networkx graph; or a tuple
        ``(edge_index, num_nodes)`` / ``(edge_index, num_nodes, edge_weight)``."""
        if isinstance(graph, Graph):
            return graph
        if sp.issparse(graph):
            return cls.from_scipy(graph)
        if is_networkx(graph):
            return cls.from_networkx(graph)
        if isinstance(graph, tuple):
            if len(graph) not in (2, 3):
                raise TypeError(
                    "a graph tuple must be (edge_index, num_nodes) or (edge_index, num_nodes, "
                    f"edge_weight), got a tuple of {len(graph)} items"
                )
            if graph[1] is None:
                raise TypeError("num_nodes must be an int, got NoneType")
            weight = graph[2] if len(graph) == 3 else None
            return cls.from_edge_index(graph[0], weight, graph[1])
        raise TypeError(
            "graph must be a scipy.sparse matrix, a networkx graph or (edge_index, "
            f"num_nodes), got {type(graph).__name__}"
        )

    # --- views --------------------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        """n."""
        return int(self.adjacency.shape[0])

    @property
    def num_edges(self) -> int:
        """The number of stored (directed) edges, nnz(S)."""
        return int(self.adjacency.nnz)

    @cached_property
    def csc(self) -> sp.csc_array:
        """S in CSC form (column j: the edges into node j)."""
        return sp.csc_array(self.adjacency)

    @cached_property
    def out_degree(self) -> np.ndarray:
        """Weighted out-degrees (row sums of S), float64 (n,)."""
        return np.asarray(self.adjacency.sum(axis=1), dtype=np.float64).ravel()

    @cached_property
    def in_degree(self) -> np.ndarray:
        """Weighted in-degrees (column sums of S), float64 (n,)."""
        return np.asarray(self.adjacency.sum(axis=0), dtype=np.float64).ravel()

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edge_index, edge_weight)``: (2, E) int64 in row-major order and (E,) weights,
        in row indices 0..n-1 (map back with ``node_ids``)."""
        coo = self.adjacency.tocoo()
        ei = np.vstack([coo.row.astype(np.int64), coo.col.astype(np.int64)])
        return ei, coo.data.copy()

    def index_of(self, labels: Sequence[Hashable]) -> np.ndarray:
        """The row indices (int64) of node labels; KeyError for an unknown label."""
        lookup = {label: i for i, label in enumerate(self._label_list)}
        return np.array([lookup[label] for label in labels], dtype=np.int64)

    @cached_property
    def _label_list(self) -> list[Hashable]:
        ids = self.node_ids
        return ids.tolist() if isinstance(ids, np.ndarray) else list(ids)

    def symmetrized(self) -> Graph:
        """The undirected graph max(S, S^T), same node labels."""
        s = self.adjacency
        return Graph(sp.csr_array(s.maximum(s.T)), self.node_ids)

    # --- normalisations and products ----------------------------------------------------

    @cached_property
    def _sym(self) -> sp.csr_array:
        d = _inverse_power(self.out_degree, 0.5)
        a = sp.csr_array(self.adjacency, dtype=np.float64)
        return sp.csr_array(sp.diags_array(d) @ a @ sp.diags_array(d))

    @cached_property
    def _rw(self) -> sp.csr_array:
        d = _inverse_power(self.out_degree, 1.0)
        a = sp.csr_array(self.adjacency, dtype=np.float64)
        return sp.csr_array(sp.diags_array(d) @ a)

    def symmetric_normalized(self) -> sp.csr_array:
        """D^-1/2 S D^-1/2 (float64 csr), D = diag(out-degrees); the entries of zero-degree
        rows and columns are 0. For an undirected graph, GCN's normalisation."""
        return self._sym

    def random_walk_normalized(self) -> sp.csr_array:
        """D^-1 S (float64 csr): the transition matrix, rows summing to 1; zero-degree
        rows stay zero."""
        return self._rw

    def normalized(self, normalization: Normalization = None) -> sp.csr_array:
        """S (None), D^-1/2 S D^-1/2 (``"sym"``) or D^-1 S (``"rw"``)."""
        if normalization is None:
            return self.adjacency
        if normalization == "sym":
            return self._sym
        if normalization == "rw":
            return self._rw
        raise ValueError(f"normalization must be None, 'sym' or 'rw', got {normalization!r}")

    def spmm(self, dense: Any, normalization: Normalization = None) -> np.ndarray:
        """The product A @ dense with A = :meth:`normalized` (sparse x dense, scipy).

        Args:
            dense: (n,) or (n, d) real array.
            normalization: None, ``"sym"`` or ``"rw"``.

        Returns:
            (n,) or (n, d) float64 (float32 when both S and dense are float32).
        """
        x = as_numpy(dense, "dense")
        if x.ndim not in (1, 2) or x.shape[0] != self.num_nodes:
            raise ValueError(
                f"dense must have shape ({self.num_nodes},) or ({self.num_nodes}, d), got {x.shape}"
            )
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise TypeError(f"dense must hold real numbers, got dtype {x.dtype}")
        return np.asarray(self.normalized(normalization) @ x)

    def to_torch_sparse(self, normalization: Normalization = None, dtype: Any = None) -> Any:
        """A coalesced ``torch.sparse_coo_tensor`` (n, n) of :meth:`normalized`, for
        ``torch.sparse.mm(A, X)`` with autograd through X. ``dtype`` default float32."""
        import torch

        a = self.normalized(normalization).tocoo()
        indices = torch.from_numpy(np.vstack([a.row, a.col]).astype(np.int64))
        values = torch.from_numpy(np.ascontiguousarray(a.data))
        values = values.to(torch.float32 if dtype is None else dtype)
        n = self.num_nodes
        # the indices come from a canonical CSR matrix: valid and already sorted
        t = torch.sparse_coo_tensor(indices, values, (n, n), check_invariants=False)
        return t.coalesce()

    def __repr__(self) -> str:
        return f"Graph(num_nodes={self.num_nodes}, num_edges={self.num_edges})"
