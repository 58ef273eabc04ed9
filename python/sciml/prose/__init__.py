"""PROSE: predicting ODE solutions and their symbolic equations with multimodal transformers.

Liu, Zhang, Schaeffer, "PROSE: Predicting Multiple Operators and Symbolic Expressions using
multimodal transformers", Neural Networks 2024. :class:`ExpressionTokenizer` writes systems of
sympy expressions as prefix tokens and reads them back; :mod:`sciml.prose.systems` holds the
ODE systems of the paper and :func:`generate` draws their noisy trajectories;
:func:`skeleton_noise` makes the noisy equation skeletons the model may take as input.
:class:`ProseNetwork` is the multimodal transformer, trained by :func:`train_prose`;
:class:`ProseModel` predicts trajectories and equations with a trained one.
"""

from sciml.prose import systems
from sciml.prose.batch import ProseBatch, make_batch
from sciml.prose.decoding import decode_symbols
from sciml.prose.estimator import ProseModel
from sciml.prose.integrate import rk4
from sciml.prose.model import ProseConfig, ProseNetwork, ProseOutput, prose_loss
from sciml.prose.skeleton import skeleton_noise
from sciml.prose.systems import ODESystem, Trajectories, generate
from sciml.prose.tokenizer import PLACEHOLDER, ExpressionTokenizer, round_significant, variables
from sciml.prose.training import ProseData, train_prose

__all__ = [
    "PLACEHOLDER",
    "ExpressionTokenizer",
    "ODESystem",
    "ProseBatch",
    "ProseConfig",
    "ProseData",
    "ProseModel",
    "ProseNetwork",
    "ProseOutput",
    "Trajectories",
    "decode_symbols",
    "generate",
    "make_batch",
    "prose_loss",
    "rk4",
    "round_significant",
    "skeleton_noise",
    "systems",
    "train_prose",
    "variables",
]
