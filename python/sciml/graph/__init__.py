"""Graph models on one sparse backbone: FastRP node embeddings; GTE, LightGCN and SheafRec
recommendations; top-k recommendation metrics; topological concentration of links;
NetInfoF's usable information; GCN node classification; IRWE identity and position
embeddings; TinvNN's invariant point representations."""

from sciml.graph.backbone import Graph
from sciml.graph.concentration import (
    approx_topological_concentration,
    tc_edge_weights,
    topological_concentration,
)
from sciml.graph.fastrp import FastRP, as_csr, random_projection
from sciml.graph.gnn import GCN, GCNConv, NodeClassifierResult, gcn_adjacency, train_node_classifier
from sciml.graph.gte import GTE, gte_polynomial
from sciml.graph.irwe import IRWE, IRWEEmbeddings
from sciml.graph.lightgcn import LightGCN
from sciml.graph.metrics import hit_rate_at_k, ndcg_at_k, recall_at_k
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
    "GCN",
    "GTE",
    "IRWE",
    "FastRP",
    "GCNConv",
    "Graph",
    "IRWEEmbeddings",
    "LightGCN",
    "NetInfoF",
    "NodeClassifierResult",
    "SheafRec",
    "approx_topological_concentration",
    "as_csr",
    "fastrp_reference",
    "gcn_adjacency",
    "gte_polynomial",
    "gte_reference",
    "hit_rate_at_k",
    "ndcg_at_k",
    "netinfof_score",
    "random_projection",
    "recall_at_k",
    "tc_edge_weights",
    "tinv_mds",
    "tinv_mds_batch",
    "tinv_mds_from_distances",
    "top_k_reference",
    "topological_concentration",
    "topological_concentration_reference",
    "train_node_classifier",
]
