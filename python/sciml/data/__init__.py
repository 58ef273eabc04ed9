"""Data-set generators and loaders, generated locally (nothing is downloaded).

tensile2d    plane-strain plates of random wavy shape under tension (MMGP's Tensile2d)
plate        the random plate shapes and their gmsh meshes
elasticity   the scikit-fem plane-strain solver behind tensile2d
icu_timeseries   irregular, multi-resolution ICU-like series with a binary outcome
physionet2012    a loader for the PhysioNet/CinC 2012 layout in a local folder
recsys       implicit-feedback users x items data (communities, power-law popularity), split
ba_shapes    the GNNExplainer benchmark graph (house motifs on a Barabási–Albert graph)
graph_shift  shifted copies of a graph (feature noise, rewiring, class priors)
graphs       stochastic block models sampled in O(E), contextual SBMs with features
real_graphs  small real networks shipped in the package (karate club, Les Misérables)

The mesh data need the ``data`` extra (gmsh, scikit-fem, meshio); they are imported when
first used.
"""

from sciml.data.ba_shapes import BAShapes, ba_shapes
from sciml.data.elasticity import TensileSolution, solve_tension, von_mises_plane_strain
from sciml.data.graph_shift import contextual_sbm_from_means, shift_graph, shifted_family
from sciml.data.graphs import (
    ContextualSBM,
    NodeData,
    contextual_sbm,
    planted_partition,
    stochastic_block_model,
)
from sciml.data.icu_timeseries import icu_timeseries
from sciml.data.physionet2012 import load_physionet2012
from sciml.data.plate import PlateMesh, PlateShape, gmsh_session, mesh_plate, random_plate
from sciml.data.real_graphs import Network, karate_club, les_miserables
from sciml.data.recsys import implicit_feedback, implicit_feedback_preset, split_per_user
from sciml.data.tensile2d import (
    DEFAULT_MESH_SIZE,
    Tensile2dDataset,
    default_cache_dir,
    tensile2d,
    tensile2d_sample,
)

__all__ = [
    "DEFAULT_MESH_SIZE",
    "BAShapes",
    "ContextualSBM",
    "Network",
    "NodeData",
    "PlateMesh",
    "PlateShape",
    "Tensile2dDataset",
    "TensileSolution",
    "ba_shapes",
    "contextual_sbm",
    "contextual_sbm_from_means",
    "default_cache_dir",
    "gmsh_session",
    "icu_timeseries",
    "implicit_feedback",
    "implicit_feedback_preset",
    "karate_club",
    "les_miserables",
    "load_physionet2012",
    "mesh_plate",
    "planted_partition",
    "random_plate",
    "shift_graph",
    "shifted_family",
    "solve_tension",
    "split_per_user",
    "stochastic_block_model",
    "tensile2d",
    "tensile2d_sample",
    "von_mises_plane_strain",
]
