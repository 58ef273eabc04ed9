"""LightGCN: collaborative filtering by parameter-free propagation of learned embeddings.

He, Deng, Wang, Li, Zhang and Wang, "LightGCN: Simplifying and Powering Graph Convolution
Network for Recommendation" (SIGIR 2020). On the user-item graph with A the symmetric
normalised adjacency D^-1/2 [[0, R], [R^T, 0]] D^-1/2 (no self-loops), the embeddings
E_0 (free parameters, N(0, 0.1^2) as in the authors' code) are propagated
``E_{l+1} = A E_l`` and averaged, ``E = (E_0 + ... + E_L) / (L + 1)``; a user's score of
an item is the dot product of their rows of E. Trained with BPR (:mod:`sciml.graph.bpr`),
by default at the paper's settings: 64 dimensions, 3 layers, batch 2048, L2 1e-4,
learning rate 1e-3.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sciml.graph.backbone import Graph
from sciml.graph.bpr import BPRRecommender, BPRSettings, EmbeddingNetwork


class LightGCNNetwork(EmbeddingNetwork):
    """E_0 (N, d) propagated over a normalised graph and averaged over the layers.

    Args:
        graph: the user-item graph (N nodes).
        dim: d.
        layers: L >= 1.
    """

    def __init__(self, graph: Graph, dim: int, layers: int):
        super().__init__(graph, dim)
        self.layers = layers
        self.set_graph(graph)

    def set_graph(self, graph: Graph) -> None:
        """Propagate over ``graph`` (same nodes) from now on."""
        self.check_graph(graph)
        self.adjacency = graph.to_torch_sparse("sym", dtype=self.embedding.dtype)

    def forward(self) -> tuple[Tensor, Tensor]:
        """``(E_0, E)``, both (N, d)."""
        e = self.embedding
        total = e
        for _ in range(self.layers):
            e = torch.sparse.mm(self.adjacency, e)
            total = total + e
        return self.embedding, total / (self.layers + 1)


class LightGCN(BPRRecommender):
    """LightGCN recommendations: ``LightGCN().fit(R).recommend(users, k=20)``.

    Args:
        embedding_dim: d (64 in the paper).
        layers: propagation layers L (3 in the paper).
        **settings: training settings, :class:`sciml.graph.bpr.BPRSettings` (epochs,
            batch_size, lr, l2, validation_fraction, validate_every, patience, k,
            random_state, progress).

    Example:
        >>> from sciml.data import implicit_feedback, split_per_user
        >>> train, test = split_per_user(implicit_feedback(300, 200, 3000, seed=0))
        >>> model = LightGCN(epochs=2, progress=False).fit(train)
        >>> model.recommend([0, 1], k=5).shape
        (2, 5)
    """

    defaults = BPRSettings(batch_size=2048, lr=1e-3, l2=1e-4)

    def __init__(self, embedding_dim: int = 64, layers: int = 3, **settings: Any) -> None:
        super().__init__(embedding_dim, layers, **settings)

    def _network(self, graph: Graph, n_users: int, n_items: int) -> nn.Module:
        return LightGCNNetwork(graph, self.embedding_dim, self.layers)
