"""Thread pinning shared by the benches: import it before numpy and torch."""

from __future__ import annotations

import os
import sys


def pin_threads(default: str) -> str:
    """Reads ``--threads N`` (or ``--threads=N``) from the command line, else ``default``,
    and sets the OpenMP/BLAS pools to it (they read the variables when they load).

    Returns:
        the thread count, as a string.
    """
    threads = default
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            threads = sys.argv[i + 1]
        elif arg.startswith("--threads="):
            threads = arg.split("=", 1)[1]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads
    return threads
