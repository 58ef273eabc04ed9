"""MMGP: Gaussian-process surrogates of fields on meshes of varying shape, by mesh morphing."""

from sciml.mmgp.metrics import field_rel_rmse, nodal_coverage, scalar_rel_rmse
from sciml.mmgp.model import MMGP, Prediction

__all__ = ["MMGP", "Prediction", "field_rel_rmse", "nodal_coverage", "scalar_rel_rmse"]
