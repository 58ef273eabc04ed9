"""SheafRec: recommendations by sheaf diffusion on the user-item graph (Sheaf4Rec).

Purificato, Cassarà, Liò and Silvestri, "Sheaf Neural Networks for Graph-based
Recommender Systems" (code antoniopurificato/Sheaf4Rec, ``models.py``). Every node has a
1-dimensional stalk; layer l learns, for each directed edge e = (i -> j), the restriction
map ``F_e = tanh(w_l^T [x_i || x_j])`` and builds the sheaf Laplacian

    L[i, i] = D_i = sum_{e = (i -> j)} F_e^2,    L[i, j] = -F_{i->j} F_{j->i},

normalised as in the reference, ``(D + I)^-1/2 L (D + I)^-1/2``; the layer updates
``x <- x - step * L (W_l x + b_l)`` (step 1). The output is the mean of the embeddings
of all layers (the initial one included), scored by dot products and trained with BPR
(:mod:`sciml.graph.bpr`). Defaults are the reference's: 64 dimensions, 10 layers,
batch 1024, L2 1e-4, learning rate 5e-3; validation every epoch, since at that rate the
validation recall peaks within about ten epochs and then falls (on the generated "small"
set: 0.314 at epoch 8; a 10x lower rate or 10x stronger L2 peaked at 0.30 or lower).

Unlike the reference (a dense n x n adjacency and a hard-coded node count), everything
here is per edge and sparse: memory O(E d) and time O(E d + N d^2) per layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from sciml.graph.backbone import Graph
from sciml.graph.bpr import BPRRecommender, BPRSettings, EmbeddingNetwork
from sciml.graph.sparse_ops import EdgeProduct


def reverse_edges(adjacency: sp.csr_array) -> np.ndarray:
    """For a canonical CSR matrix with a symmetric pattern, the position of edge (j, i)
    for every edge (i, j) in storage order (int64 (nnz,))."""
    position = sp.csr_array(
        (np.arange(adjacency.nnz, dtype=np.float64), adjacency.indices, adjacency.indptr),
        shape=adjacency.shape,
    )
    transposed = sp.csr_array(position.T)
    transposed.sort_indices()
    if not (
        np.array_equal(transposed.indptr, adjacency.indptr)
        and np.array_equal(transposed.indices, adjacency.indices)
    ):
        raise ValueError("the graph must be undirected (a symmetric pattern)")
    return transposed.data.astype(np.int64)


class SheafLayer(nn.Module):
    """One sheaf diffusion step with learned scalar restriction maps (see the module
    docstring).

    Args:
        dim: d.
        step: the diffusion step size (1 in the reference).
    """

    def __init__(self, dim: int, step: float = 1.0):
        super().__init__()
        self.map_source = nn.Linear(dim, 1, bias=False)
        self.map_target = nn.Linear(dim, 1, bias=False)
        self.linear = nn.Linear(dim, dim)
        self.step = step

    def forward(
        self, x: Tensor, edges: tuple[Tensor, Tensor, Tensor], product: EdgeProduct
    ) -> Tensor:
        """x (N, d) -> (N, d); ``edges`` = (src, dst, reverse), int64 (E,) each, with
        both directions of every edge; ``product`` their :class:`EdgeProduct`."""
        src, dst, rev = edges
        n = x.shape[0]
        # w^T [x_i || x_j] = w_s^T x_i + w_t^T x_j: two (N,) products, gathered per edge
        maps = torch.tanh(self.map_source(x)[:, 0][src] + self.map_target(x)[:, 0][dst])
        diag = torch.zeros(n, dtype=x.dtype).index_add_(0, src, maps * maps)
        inv_sqrt = (diag + 1.0).rsqrt()
        off = -maps * maps[rev] * inv_sqrt[src] * inv_sqrt[dst]
        y = self.linear(x)
        ly = (diag * inv_sqrt * inv_sqrt)[:, None] * y + product(off, y)
        return x - self.step * ly


class SheafRecNetwork(EmbeddingNetwork):
    """Ego embeddings (N, d) through ``layers`` sheaf layers, averaged over the layers."""

    def __init__(self, graph: Graph, dim: int, layers: int):
        super().__init__(graph, dim)
        self.layers = nn.ModuleList(SheafLayer(dim) for _ in range(layers))
        self.set_graph(graph)

    def set_graph(self, graph: Graph) -> None:
        """Diffuse over ``graph`` (undirected, same nodes) from now on."""
        self.check_graph(graph)
        a = graph.adjacency
        src = np.repeat(np.arange(a.shape[0], dtype=np.int64), np.diff(a.indptr))
        self.edges = (
            torch.from_numpy(src),
            torch.from_numpy(a.indices.astype(np.int64)),
            torch.from_numpy(reverse_edges(a)),
        )
        self.product = EdgeProduct(self.edges[0], self.edges[1], a.shape[0])

    def forward(self) -> tuple[Tensor, Tensor]:
        """``(E_0, E)``, both (N, d)."""
        x = self.embedding
        total = x
        for layer in self.layers:
            x = layer(x, self.edges, self.product)
            total = total + x
        return self.embedding, total / (len(self.layers) + 1)


class SheafRec(BPRRecommender):
    """Sheaf4Rec recommendations: ``SheafRec().fit(R).recommend(users, k=20)``.

    Args:
        embedding_dim: d (64 in the reference).
        layers: sheaf layers (10 in the reference).
        **settings: training settings, :class:`sciml.graph.bpr.BPRSettings`.

    Example:
        >>> from sciml.data import implicit_feedback, split_per_user
        >>> train, test = split_per_user(implicit_feedback(300, 200, 3000, seed=0))
        >>> SheafRec(layers=2, epochs=2, progress=False).fit(train).recommend([0], k=5).shape
        (1, 5)
    """

    defaults = BPRSettings(batch_size=1024, lr=5e-3, l2=1e-4, validate_every=1)

    def __init__(self, embedding_dim: int = 64, layers: int = 10, **settings: Any) -> None:
        super().__init__(embedding_dim, layers, **settings)

    def _network(self, graph: Graph, n_users: int, n_items: int) -> nn.Module:
        return SheafRecNetwork(graph, self.embedding_dim, self.layers)
