"""Graph models on one sparse backbone: FastRP node embeddings; GTE, LightGCN and SheafRec
recommendations; top-k recommendation metrics; topological concentration of links;
NetInfoF's usable information; IRWE identity and position
embeddings; TinvNN's invariant point representations; GNN layers (GCN, GraphSAGE, GIN,
GAT) with neighbour sampling; Mowst; robust fidelity of explanations."""

from sciml.graph.backbone import Graph
from sciml.graph.concentration import (
    approx_topological_concentration,
    tc_edge_weights,
    topological_concentration,
)
from sciml.graph.fastrp import FastRP, as_csr, random_projection
from sciml.graph.fidelity import (
    fidelity,
    gnnexplainer_explanation,
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
from sciml.graph.gte import GTE, gte_polynomial
from sciml.graph.irwe import IRWE, IRWEEmbeddings
from sciml.graph.lightgcn import LightGCN
from sciml.graph.metrics import hit_rate_at_k, ndcg_at_k, recall_at_k
from sciml.graph.mowst import Mowst
from sciml.graph.netinfof import NetInfoF, netinfof_score
from sciml.graph.reference import (
    fastrp_reference,
    gte_reference,
    top_k_reference,
    topological_concentration_reference,
)
from sciml.graph.sheafrec import SheafRec
from sciml.graph.tinv import tinv_mds, tinv_mds_batch, tinv_mds_from_distances

__all__ = [
    "GAT",
    "GCN",
    "GIN",
    "GTE",
    "IRWE",
    "FastRP",
    "GATConv",
    "GCNConv",
    "GINConv",
    "Graph",
    "GraphSAGE",
    "IRWEEmbeddings",
    "LightGCN",
    "Mowst",
    "NeighborSampler",
    "NetInfoF",
    "NodeClassifierResult",
    "SAGEConv",
    "SheafRec",
    "approx_topological_concentration",
    "as_csr",
    "fastrp_reference",
    "fidelity",
    "gcn_adjacency",
    "gnnexplainer_explanation",
    "gte_polynomial",
    "gte_reference",
    "hit_rate_at_k",
    "ndcg_at_k",
    "netinfof_score",
    "node_accuracy",
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
