"""Atomic checkpoint files: a crash never leaves a half-written one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save_atomic(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj, path)`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint written by :func:`save_atomic`, onto the CPU.

    Checkpoints hold tensors, numbers, strings and containers of them only, so they load
    with ``weights_only=True`` (no code runs on load).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a checkpoint torch can read (truncated, foreign).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, foreign or not a torch file at all
        raise ValueError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e})") from e
