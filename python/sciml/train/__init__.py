"""One training loop for the trained models: AdamW, warmup + cosine, clipping, accumulation,
progress, atomic checkpoints with exact resume, seeding, and DDP under ``torchrun``.
"""

from sciml.train.checkpoint import load_checkpoint, save_atomic
from sciml.train.distributed import DistInfo, dist_info
from sciml.train.loop import TrainConfig, TrainResult, fit
from sciml.train.schedule import warmup_cosine

__all__ = [
    "DistInfo",
    "TrainConfig",
    "TrainResult",
    "dist_info",
    "fit",
    "load_checkpoint",
    "save_atomic",
    "warmup_cosine",
]
