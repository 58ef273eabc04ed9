"""Building blocks shared by the trained models: masked attention, transformers, MLPs, pooling.

Tensors are batch-first: (B, L, D) for B sequences of L tokens of width D.
"""

from sciml.nn.attention import MultiheadAttention, context_query_mask
from sciml.nn.mlp import mlp
from sciml.nn.pooling import AttentionPooling
from sciml.nn.transformer import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "AttentionPooling",
    "MultiheadAttention",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "context_query_mask",
    "mlp",
]
