"""Solve a Poisson problem with trainable Gaussians and write a picture.

    -Δu = 2π² sin(πx) sin(πy)  on [-1, 1]²,   u = 0 on the boundary,
    exact solution u = sin(πx) sin(πy).

u is represented directly as a sum of Gaussians, u(x) = Σ_k w_k G_k(x), and the PDE
residual uses the Laplacian that sciml's Rust kernel returns in closed form (no nested
autograd). Means, widths and weights all train.

    python examples/poisson_gaussians.py --steps 1500 --out out/poisson
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from sciml.ops import GaussianEmbedding


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x) = sin(πx₀) sin(πx₁), (N, 2) -> (N,)."""
    return torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])


def boundary_points(n: int, generator: torch.Generator) -> torch.Tensor:
    """n points on the boundary of [-1, 1]², (n, 2)."""
    t = torch.rand(n, generator=generator) * 2 - 1
    side = torch.randint(0, 4, (n,), generator=generator)
    fixed = torch.where(side % 2 == 0, -1.0, 1.0)
    return torch.where((side < 2)[:, None], torch.stack([fixed, t], 1), torch.stack([t, fixed], 1))


def solve(steps: int, num_gaussians: int = 400, seed: int = 0, log_every: int = 250):
    """Trains the Gaussians; returns the model and the relative L2 error history."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = GaussianEmbedding(
        num_gaussians, 2, channels=1, per_channel=False, sigma0=0.15, weight_std=0.1, generator=g
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.999)
    grid = torch.cartesian_prod(torch.linspace(-1, 1, 101), torch.linspace(-1, 1, 101))
    u_grid = exact(grid)
    history = []
    for step in range(steps + 1):
        if step % 100 == 0:  # resample collocation points
            interior = torch.rand(2000, 2, generator=g) * 2 - 1
            boundary = boundary_points(400, g)
            source = 2 * math.pi**2 * exact(interior)
        optimizer.zero_grad()
        _, _, d2u = model(interior, order=2)
        residual = -d2u.sum(1)[:, 0] - source
        (u_b,) = model(boundary)
        loss = (residual**2).mean() / (2 * math.pi**2) ** 2 + 10.0 * (u_b**2).mean()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                (u,) = model(grid)
                rel = ((u[:, 0] - u_grid).norm() / u_grid.norm()).item()
            history.append((step, loss.item(), rel))
            print(f"step {step:5d}  loss {loss.item():.3e}  rel L2 {rel:.3e}", flush=True)
    return model, grid, history


def save_picture(model, grid: torch.Tensor, path: Path) -> None:
    """Prediction, exact solution and error side by side, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with torch.no_grad():
        (u,) = model(grid)
    side = round(math.sqrt(len(grid)))
    pred = u[:, 0].reshape(side, side).T.numpy()
    ref = exact(grid).reshape(side, side).T.numpy()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, data, title in zip(
        axes, (pred, ref, abs(pred - ref)), ("Gaussians", "exact", "|error|"), strict=True
    ):
        im = ax.imshow(data, origin="lower", extent=(-1, 1, -1, 1), cmap="viridis")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--gaussians", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/poisson"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model, grid, history = solve(args.steps, args.gaussians, args.seed)
    torch.save(model.state_dict(), args.out / "model.pt")  # saved before anything can fail
    with open(args.out / "error_curve.csv", "w") as f:
        f.write("step,loss,rel_l2\n")
        f.writelines(f"{s},{loss:.6e},{rel:.6e}\n" for s, loss, rel in history)
    save_picture(model, grid, args.out / "prediction.png")
    rel = history[-1][2]
    print(f"relative L2 error {rel:.3e} in {time.perf_counter() - start:.1f} s; wrote {args.out}/")
    return rel


if __name__ == "__main__":
    main()
