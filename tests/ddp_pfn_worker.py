"""Run by tests/test_train.py under torchrun: a tiny PFN trained by DDP on gloo; each rank
writes its final weights to OUT/rank{RANK}.pt. Not a test module itself."""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

from sciml.pfn import GPPrior, PFNConfig, train_pfn
from sciml.train import TrainConfig

torch.set_num_threads(1)


def main(out: str, steps: int) -> None:
    model = train_pfn(
        GPPrior(dim=1),
        out,
        model_config=PFNConfig(emsize=16, nlayers=1, nhead=2, nhid=32, n_buckets=20),
        train_config=TrainConfig(steps=steps, checkpoint_every=2, progress=False, lr=1e-3),
        max_context=10,
        n_queries=5,
        batch_size=4,
    )
    torch.save(model.state_dict(), os.path.join(out, f"rank{dist.get_rank()}.pt"))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
