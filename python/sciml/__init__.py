"""sciml: scientific machine learning for PDE and physics surrogates, with Rust kernels.

Subpackages:
    ops   torch operators over the Rust kernels (Gaussian feature embedding)
    pde   PDE problems, PIG and PINN models, the trainer, reference solvers
    gp    Gaussian-process surrogates on gpytorch (exact multi-output regression, metrics)
    graph graph embeddings (FastRP)
    pfn   prior-data fitted networks: GP-like regression in one forward pass, shipped models
    nn    transformer building blocks shared by the trained models
    train the training loop shared by the trained models (checkpoints, resume, DDP)
    data  data-set generators (tensile2d: plates of random shape under tension)
    viz   offscreen pictures (pyvista)
    cli   the ``sciml`` command (``sciml solve helmholtz``, ``sciml pfn train``)

Threads: the Rust kernels run on their own pool of ``SCIML_NUM_THREADS`` threads (else
``RAYON_NUM_THREADS``, else one per CPU); change it at run time with
:func:`set_num_threads`. Results are identical whatever the thread count.
"""

from sciml._core import __version__, get_num_threads, set_num_threads

__all__ = ["__version__", "get_num_threads", "set_num_threads"]
