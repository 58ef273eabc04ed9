"""A prior-data fitted network against the exact GP posterior on one 1-D data set.

    python examples/pfn_gp.py                              # the shipped gp-rbf-1d model
    python examples/pfn_gp.py --model out/my_pfn --context 20

Draws one data set from the model's own prior (a GP; for the gp-hyper prior, one with a
single feature), gives the PFN its first ``--context`` points, and compares its predictive
distribution on a grid over [0, 1] with the exact GP posterior under the true
hyperparameters (what the PFN approximates). Writes OUT/pfn_gp.csv and OUT/pfn_gp.png and
returns the mean NLL of both on 200 held-out points of the same draw.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from sciml.gp import gp_posterior_reference
from sciml.pfn import PRETRAINED, PFNRegressor
from sciml.pfn.priors import prior_from_config

Z90 = 1.6448536269514722  # the standard normal's 0.95-quantile
N_HELD_OUT = 200


def draw_1d(prior, n_points: int, generator: torch.Generator):
    """x (n,), y (n,) and the true hyperparameters of one data set with one feature."""
    for _ in range(100):  # a hyper-prior draws d per data set: keep the first with d = 1
        b = prior.sample(8, n_points, generator)
        hits = torch.nonzero(b.n_features == 1).flatten()
        if len(hits):
            i = int(hits[0])
            x = b.x[i, :, 0].double().numpy() / b.x.shape[-1]  # undo the padding's scaling
            hp = {k: v[i].double().numpy() for k, v in b.hyperparameters.items()}
            return x, b.y[i].double().numpy(), hp
    raise ValueError("the model's prior draws no data sets with one feature")


def exact_gp(xc, yc, xq, hp):
    """Mean and std of y (noise included) at xq under the GP with the true hyperparameters."""
    s, noise = float(hp["outputscale"]), float(hp["noise"])
    if len(xc) == 0:
        return np.zeros(len(xq)), np.full(len(xq), math.sqrt(s + noise))
    mean, var = gp_posterior_reference(
        xc[:, None], yc, xq[:, None], lengthscales=hp["lengthscale"][:1], outputscale=s,
        noise=noise, mean=0.0, kernel="rbf",
    )  # fmt: skip
    return mean, np.sqrt(np.maximum(var, 0.0) + noise)


def gaussian_nll(y, mean, std) -> float:
    return float(np.mean(0.5 * ((y - mean) / std) ** 2 + np.log(std) + 0.5 * math.log(2 * math.pi)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="gp-rbf-1d", help="pretrained name or directory")
    parser.add_argument("--context", type=int, default=12, help="data set size n")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/pfn_gp")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.model in PRETRAINED:
        reg = PFNRegressor.pretrained(args.model)
    else:
        reg = PFNRegressor.from_checkpoint(args.model)
    prior = prior_from_config(reg.prior)
    generator = torch.Generator().manual_seed(args.seed)
    x, y, hp = draw_1d(prior, args.context + N_HELD_OUT, generator)
    n = args.context
    xc, yc, xh, yh = x[:n], y[:n], x[n:], y[n:]

    # The PFN: "fit" stores the data set; one forward pass gives the predictive at all queries.
    reg.fit(xc[:, None], yc)
    grid = np.linspace(0.0, 1.0, 300)
    dist = reg.predict_distribution(grid[:, None])
    pfn_mean, pfn_lo, pfn_hi = dist.mean, dist.quantile(0.05), dist.quantile(0.95)
    gp_mean, gp_std = exact_gp(xc, yc, grid, hp)
    gp_lo, gp_hi = gp_mean - Z90 * gp_std, gp_mean + Z90 * gp_std

    table = np.column_stack([grid, pfn_mean, pfn_lo, pfn_hi, gp_mean, gp_lo, gp_hi])
    header = "x,pfn_mean,pfn_lo,pfn_hi,gp_mean,gp_lo,gp_hi"
    np.savetxt(out / "pfn_gp.csv", table, delimiter=",", header=header, comments="", fmt="%.6g")

    scores = {
        "n_context": n,
        "pfn_nll": float(np.mean(-reg.predict_distribution(xh[:, None]).log_prob(yh))),
        "gp_nll": gaussian_nll(yh, *exact_gp(xc, yc, xh, hp)),
    }
    pfn_nll, gp_nll = scores["pfn_nll"], scores["gp_nll"]
    print(f"held-out NLL ({N_HELD_OUT} points): PFN {pfn_nll:.4f}, exact GP {gp_nll:.4f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.fill_between(grid, pfn_lo, pfn_hi, color="C0", alpha=0.25, label="PFN 90% band")
    ax.plot(grid, pfn_mean, color="C0", label="PFN mean")
    ax.plot(grid, gp_mean, "--", color="C3", label="exact GP mean")
    ax.plot(grid, gp_lo, "--", color="C3", lw=0.8, label="exact GP 90% band")
    ax.plot(grid, gp_hi, "--", color="C3", lw=0.8)
    ax.plot(xc, yc, "ko", ms=5, label=f"data (n={n})")
    name = args.model if args.model in PRETRAINED else Path(args.model).name
    ax.set(xlabel="x", ylabel="y", title=f"PFN ({name}) vs exact GP posterior, n = {n}")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "pfn_gp.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'pfn_gp.csv'} and {out / 'pfn_gp.png'}")
    return scores


if __name__ == "__main__":
    main()
