"""Building blocks shared by the trained models: attention with masks, transformer layers, MLPs.

Tensors are batch-first: (B, L, D) for B sequences of L tokens of width D.
"""

from sciml.nn.attention import MultiheadAttention, context_query_mask
from sciml.nn.mlp import mlp
from sciml.nn.transformer import TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "MultiheadAttention",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "context_query_mask",
    "mlp",
]
