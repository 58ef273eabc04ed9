"""PDE solving: problems declared apart from models (PIG, PINN), and a trainer."""

from sciml.pde.domain import Box, Sampler
from sciml.pde.models import PIG, PINN
from sciml.pde.problem import Dirichlet, Fields, Initial, Neumann, Periodic, Problem
from sciml.pde.problems import get_problem, list_problems
from sciml.pde.trainer import (
    CheckpointError,
    Phase,
    Record,
    Trainer,
    TrainingDiverged,
    TrainResult,
    load_trainer_checkpoint,
    predict,
)

__all__ = [
    "PIG",
    "PINN",
    "Box",
    "CheckpointError",
    "Dirichlet",
    "Fields",
    "Initial",
    "Neumann",
    "Periodic",
    "Phase",
    "Problem",
    "Record",
    "Sampler",
    "TrainResult",
    "Trainer",
    "TrainingDiverged",
    "get_problem",
    "list_problems",
    "load_trainer_checkpoint",
    "predict",
]
