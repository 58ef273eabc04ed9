"""Smoke test of an installed sciml wheel, run by .ci/wheel inside a fresh venv without cargo.

Checks that sciml comes from site-packages with the abi3 extension, imports every module of the
package, runs ``sciml --version``, a Poisson solve of a few iterations writing its files, and
one prediction of a shipped PFN model. Run it from outside the source tree.

    python .ci/wheel_smoke.py [--no-skips]
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Third-party modules that only the optional extras bring; a module of sciml that needs one
# of them is skipped (and named) when it is missing, unless --no-skips.
OPTIONAL = {
    "gmsh",
    "gpytorch",
    "linear_operator",
    "matplotlib",
    "meshio",
    "networkx",
    "pyvista",
    "skfem",
    "sklearn",
    "sympy",
    "vtk",
}
SOLVE_FILES = ("checkpoint.pt", "error_curve.csv", "prediction.vtu", "prediction.png")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"wheel smoke test FAILED: {message}")


def check_installed() -> Path:
    import sciml
    import sciml._core

    package = Path(sciml.__file__).resolve().parent
    check("site-packages" in package.parts, f"sciml imported from {package}, not site-packages")
    core = Path(sciml._core.__file__).name
    check(core.endswith(".abi3.so"), f"the extension is {core}, not an abi3 build")
    weights = sorted(p.name for p in (package / "pfn" / "weights").iterdir())
    check({"gp-rbf-1d.pt", "gp-rbf-1d.json"} <= set(weights), f"pfn/weights holds {weights}")
    print(f"sciml {sciml.__version__} from {package} ({core}); weights {weights}")
    return package


def import_everything(package: Path, allow_skips: bool) -> None:
    names = ["sciml"] + [
        info.name for info in pkgutil.walk_packages([str(package)], prefix="sciml.")
    ]
    skipped = []
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            top = (e.name or "").split(".")[0]
            if top not in OPTIONAL or not allow_skips:
                raise
            skipped.append(f"{name} (needs {top})")
    print(f"imported {len(names) - len(skipped)} of {len(names)} modules")
    if skipped:
        print("skipped, an optional extra is not installed: " + ", ".join(skipped))


def run_cli(*args: str, timeout: float = 600) -> str:
    exe = shutil.which("sciml")
    check(exe is not None, "the sciml command is not on PATH")
    result = subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    check(
        result.returncode == 0,
        f"sciml {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}",
    )
    return result.stdout


def check_version() -> None:
    import sciml

    out = run_cli("--version").strip()
    check(out == f"sciml {sciml.__version__}", f"sciml --version printed {out!r}")
    print(out)


def check_poisson_solve(workdir: Path) -> None:
    out = workdir / "poisson"
    started = time.perf_counter()
    summary = run_cli("solve", "poisson", "--iters", "5", "--out", str(out), "--no-progress")
    missing = [name for name in SOLVE_FILES if not (out / name).is_file()]
    check(not missing, f"sciml solve poisson did not write {missing}:\n{summary}")
    check(all((out / name).stat().st_size > 0 for name in SOLVE_FILES), "an empty output file")
    print(f"sciml solve poisson --iters 5: {time.perf_counter() - started:.1f} s, wrote")
    print("  " + ", ".join(SOLVE_FILES))


def check_pfn_prediction() -> None:
    import numpy as np

    from sciml.pfn import PFNRegressor

    rng = np.random.default_rng(0)
    x = rng.random((5, 1))
    y = np.sin(6 * x[:, 0])
    queries = np.linspace(0, 1, 7)[:, None]
    reg = PFNRegressor.pretrained("gp-rbf-1d").fit(x, y)
    mean = np.asarray(reg.predict(queries))
    check(mean.shape == (7,), f"predict returned shape {mean.shape}, expected (7,)")
    check(bool(np.isfinite(mean).all()), f"predict returned {mean}")
    print(f"PFNRegressor.pretrained('gp-rbf-1d'), 5 points: mean on 7 queries {mean.round(3)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-skips", action="store_true", help="fail if any module cannot be imported"
    )
    args = parser.parse_args(argv)
    package = check_installed()
    import_everything(package, allow_skips=not args.no_skips)
    check_version()
    with tempfile.TemporaryDirectory(prefix="sciml-smoke-") as tmp:
        check_poisson_solve(Path(tmp))
    check_pfn_prediction()
    print(f"wheel smoke test passed on Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
