"""Graph models on one sparse backbone.

- Containers and products: :class:`Graph` (``edge_index``, scipy.sparse, networkx).
- Embeddings: FastRP; IRWE identity and position embeddings; TinvNN's invariant point
  representations (:func:`tinv_mds`).
- Recommendations: GTE (training-free), LightGCN and SheafRec (BPR); top-k metrics.
- Link structure: topological concentration (exact and ATC), TC edge reweighting.
- Usable information: NetInfoF.
- GNNs on sparse products: GCN, GraphSAGE, GIN, GAT with neighbour sampling and a
  node-classification trainer; Mowst; robust fidelity of explanations; LeBeD.

The numpy/scipy tools are imported with the package; the torch models (recommenders,
GNNs and what builds on them) are imported on first use, so ``import sciml.graph`` does
not load torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sciml.graph.backbone import Graph
from sciml.graph.concentration import (
    approx_topological_concentration,
    tc_edge_weights,
    topological_concentration,
)
from sciml.graph.fastrp import FastRP, as_csr, random_projection
from sciml.graph.gte import GTE, gte_polynomial
from sciml.graph.metrics import hit_rate_at_k, ndcg_at_k, recall_at_k
from sciml.graph.netinfof import NetInfoF, netinfof_score
from sciml.graph.reference import (
    fastrp_reference,
    gte_reference,
    top_k_reference,
    topological_concentration_reference,
)
from sciml.graph.tinv import tinv_mds, tinv_mds_batch, tinv_mds_from_distances

if TYPE_CHECKING:
    from sciml.graph.fidelity import (
        EdgeWeightGCN,
        gnnexplainer_explanation,
        plain_fidelity,
        robust_fidelity,
        saliency_explanation,
        top_k_edges,
    )
    from sciml.graph.gnn import (
        GAT,
        GCN,
        GIN,
        GATConv,
        GCNConv,
        GINConv,
        GraphSAGE,
        NeighborSampler,
        NodeClassifierResult,
        SAGEConv,
        gcn_adjacency,
        node_accuracy,
        train_node_classifier,
    )
    from sciml.graph.irwe import IRWE, IRWEEmbeddings
    from sciml.graph.lebed import LeBeD, TrainGraphStats
    from sciml.graph.lightgcn import LightGCN
    from sciml.graph.mowst import Mowst
    from sciml.graph.sheafrec import SheafRec

_LAZY = {
    "fidelity": (
        "EdgeWeightGCN",
        "plain_fidelity",
        "gnnexplainer_explanation",
        "robust_fidelity",
        "saliency_explanation",
        "top_k_edges",
    ),
    "gnn": (
        "GAT",
        "GCN",
        "GIN",
        "GATConv",
        "GCNConv",
        "GINConv",
        "GraphSAGE",
        "NeighborSampler",
        "NodeClassifierResult",
        "SAGEConv",
        "gcn_adjacency",
        "node_accuracy",
        "train_node_classifier",
    ),
    "irwe": ("IRWE", "IRWEEmbeddings"),
    "lebed": ("LeBeD", "TrainGraphStats"),
    "lightgcn": ("LightGCN",),
    "mowst": ("Mowst",),
    "sheafrec": ("SheafRec",),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sciml.graph' has no attribute {name!r}")
    value = getattr(import_module(f"sciml.graph.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "GAT",
    "GCN",
    "GIN",
    "GTE",
    "IRWE",
    "EdgeWeightGCN",
    "FastRP",
    "GATConv",
    "GCNConv",
    "GINConv",
    "Graph",
    "GraphSAGE",
    "IRWEEmbeddings",
    "LeBeD",
    "LightGCN",
    "Mowst",
    "NeighborSampler",
    "NetInfoF",
    "NodeClassifierResult",
    "SAGEConv",
    "SheafRec",
    "TrainGraphStats",
    "approx_topological_concentration",
    "as_csr",
    "fastrp_reference",
    "gcn_adjacency",
    "gnnexplainer_explanation",
    "gte_polynomial",
    "gte_reference",
    "hit_rate_at_k",
    "ndcg_at_k",
    "netinfof_score",
    "node_accuracy",
    "plain_fidelity",
    "random_projection",
    "recall_at_k",
    "robust_fidelity",
    "saliency_explanation",
    "tc_edge_weights",
    "tinv_mds",
    "tinv_mds_batch",
    "tinv_mds_from_distances",
    "top_k_edges",
    "top_k_reference",
    "topological_concentration",
    "topological_concentration_reference",
    "train_node_classifier",
]
