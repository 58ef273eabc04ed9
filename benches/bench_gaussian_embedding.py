"""Benchmark: the Gaussian embedding kernel against dense torch peers, in one process.

    python benches/bench_gaussian_embedding.py --json

For each case (N points uniform in [-1, 1]², K Gaussians with uniform means and constant
sigma, F = 4 channels, float32, order 2), one forward + backward of a loss over phi, dphi
and d2phi, with gradients for mu, sigma and w, by:

- ``sciml``: the Rust kernel (torch custom op), default cutoff;
- ``dense``: the dense torch reference with closed-form derivatives, autograd backward;
- ``dense_compiled``: the same under ``torch.compile`` (inductor; compile time excluded);
- ``dense_autograd``: derivatives by nested autograd, as the PIG paper's code does.

Prints one JSON object per case: median milliseconds (and runs) of each, speedups of sciml
over each peer, point-Gaussian pairs per second (N*K / time), peak memory above the
starting RSS (sampled every millisecond), and the max error of each against a float64
exact reference on a subset of points. A dense peer whose run would not fit in memory is
measured on a fraction of the points (``measured_at_n``) and its time and memory scaled
up linearly (dense methods are exactly linear in N). Ratios, not absolute times, are the
figures to read: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import threading
import time

import torch

import sciml
from sciml.ops import gaussian_embedding, gaussian_embedding_autograd, gaussian_embedding_reference

ERROR_POINTS = 2048


class PeakRSS:
    """Samples the resident set size in a thread; ``peak`` is the maximum above start.

    Freed heap memory is first handed back to the OS (glibc ``malloc_trim``), so that
    memory freed by earlier runs does not hide this run's allocations.
    """

    def __init__(self, interval: float = 1e-3) -> None:
        self.interval = interval
        self.peak = 0

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    def __enter__(self):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        self.start = self.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss() - self.start)
            time.sleep(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss() - self.start)


def make_case(n: int, k: int, sigma: float, f: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g) * 2 - 1
    mu = torch.rand(k, 2, generator=g) * 2 - 1
    s = torch.full((k, 2), sigma)
    w = 0.1 * torch.randn(k, f, generator=g)
    up = (
        torch.randn(n, f, generator=g),
        torch.randn(n, 2, f, generator=g),
        torch.randn(n, 2, f, generator=g),
    )
    return x, mu, s, w, up


def step(embed, x, mu, s, w, up):
    """Forward + backward; returns the outputs and the gradients of (mu, sigma, w)."""
    params = [t.detach().clone().requires_grad_(True) for t in (mu, s, w)]
    outs = embed(x, *params)
    loss = sum((o * u).sum() for o, u in zip(outs, up, strict=True))
    grads = torch.autograd.grad(loss, params)
    return [o.detach() for o in outs], list(grads)


def timed(embed, args, repeats: int, slow_after: float):
    """Median milliseconds over up to ``repeats`` runs (1 run if the first exceeds
    ``slow_after`` seconds), and the peak memory of one run."""
    times = []
    with PeakRSS() as mem:
        t = time.perf_counter()
        step(embed, *args)
        times.append(time.perf_counter() - t)
    while len(times) < repeats and times[0] < slow_after:
        t = time.perf_counter()
        step(embed, *args)
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times), len(times), mem.peak


def max_errors(embed, x, mu, s, w, up):
    """Max |error| / max |reference| of outputs and gradients, against float64 exact."""
    sub = (x[:ERROR_POINTS], mu, s, w, tuple(u[:ERROR_POINTS] for u in up))
    got_o, got_g = step(embed, *sub)
    ref_o, ref_g = step(
        lambda *a: gaussian_embedding_reference(*a, order=2),
        *(t.double() for t in sub[:4]),
        tuple(u.double() for u in sub[4]),
    )
    names = ["phi", "dphi", "d2phi", "grad_mu", "grad_sigma", "grad_w"]
    return {
        n: float((a.double() - b).abs().max() / b.abs().max())
        for n, a, b in zip(names, got_o + got_g, ref_o + ref_g, strict=True)
    }


def available_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def affordable_fraction(embed, args, memory_share: float) -> int:
    """The smallest power-of-two divisor f of N such that one run on N/f points is
    predicted (from a pilot on N/16 points; dense methods are linear in N) to fit in
    ``memory_share`` of the available memory."""
    x, mu, s, w, up = args
    pilot = len(x) // 16
    with PeakRSS() as mem:
        step(embed, x[:pilot], mu, s, w, tuple(u[:pilot] for u in up))
    budget = memory_share * available_bytes()
    factor = 1
    while mem.peak * 16 / factor > budget and factor < 16:
        factor *= 2
    return factor


def run_case(n, k, sigma, f, repeats, slow_after, compiled, memory_share):
    x, mu, s, w, up = make_case(n, k, sigma, f)
    args = (x, mu, s, w, up)
    impls = {
        "sciml": lambda x, *p: gaussian_embedding(x, *p, order=2),
        "dense": lambda x, *p: gaussian_embedding_reference(x, *p, order=2),
        "dense_compiled": compiled,
        "dense_autograd": lambda x, *p: gaussian_embedding_autograd(x, *p, order=2),
    }
    result = {
        "case": {"N": n, "K": k, "sigma": sigma, "F": f, "d": 2, "dtype": "float32", "order": 2},
        "threads": {"sciml": sciml.get_num_threads(), "torch": torch.get_num_threads()},
        "ms": {},
        "runs": {},
        "peak_mib": {},
        "measured_at_n": {},
        "pairs_per_s": {},
        "max_rel_error": {},
    }
    for name, embed in impls.items():
        # Dense peers that would not fit in memory run on N/factor points; their time and
        # memory are scaled back up by the factor (both are linear in N for them).
        factor = 1 if name == "sciml" else affordable_fraction(embed, args, memory_share)
        sub = len(x) // factor
        sub_args = (x[:sub], mu, s, w, tuple(u[:sub] for u in up))
        step(embed, *sub_args)  # warm up: thread pool, op registration, compilation
        ms, runs, peak = timed(embed, sub_args, repeats, slow_after)
        result["ms"][name] = round(ms * factor, 2)
        result["runs"][name] = runs
        result["peak_mib"][name] = round(peak * factor / 2**20, 1)
        result["measured_at_n"][name] = sub
        result["pairs_per_s"][name] = float(f"{n * k / (ms * factor / 1e3):.4g}")
        if name in ("sciml", "dense_compiled"):
            result["max_rel_error"][name] = max_errors(embed, *args)
    result["speedup_of_sciml"] = {
        peer: round(result["ms"][peer] / result["ms"]["sciml"], 1)
        for peer in ("dense", "dense_compiled", "dense_autograd")
    }
    result["memory_ratio_autograd_over_sciml"] = round(
        result["peak_mib"]["dense_autograd"] / max(result["peak_mib"]["sciml"], 1e-3), 1
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only JSON lines")
    parser.add_argument("--n", type=int, default=16384)
    parser.add_argument("--k", type=int, nargs="+", default=[4096, 1024])
    parser.add_argument("--sigma", type=float, nargs="+", default=[0.1, 0.03])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-after", type=float, default=20.0, help="seconds; slower runs once")
    parser.add_argument(
        "--memory-share", type=float, default=0.4, help="of the available memory, per peer run"
    )
    args = parser.parse_args()
    compiled_reference = torch.compile(lambda x, *p: gaussian_embedding_reference(x, *p, order=2))
    for k in args.k:
        for sigma in args.sigma:
            result = run_case(
                args.n,
                k,
                sigma,
                4,
                args.repeats,
                args.slow_after,
                compiled_reference,
                args.memory_share,
            )
            print(json.dumps(result) if args.json else json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main()
