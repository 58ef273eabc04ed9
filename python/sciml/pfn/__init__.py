"""Prior-data fitted networks (PFNs): transformers trained on data sets drawn from a prior,
which then give the posterior predictive of new points in one forward pass.

Müller, Hollmann, Pineda Arango, Grabocka, Hutter, "Transformers Can Do Bayesian
Inference", ICLR 2022. :class:`PFNRegressor` is the estimator (``pretrained`` models ship
in the package); :mod:`sciml.pfn.priors` the priors; :mod:`sciml.pfn.bar` the Riemann
distribution; :func:`train_pfn` and ``sciml pfn train`` train a model again.
"""

from sciml.pfn.bar import RiemannDistribution, borders_from_samples
from sciml.pfn.evaluate import nll_gap_table
from sciml.pfn.model import PFN, PFNConfig
from sciml.pfn.priors import GPHyperPrior, GPPrior, Prior, PriorBatch
from sciml.pfn.regressor import PRETRAINED, PFNRegressor, PredictiveDistribution
from sciml.pfn.training import RECIPES, Recipe, train_pfn

__all__ = [
    "PFN",
    "PRETRAINED",
    "RECIPES",
    "GPHyperPrior",
    "GPPrior",
    "PFNConfig",
    "PFNRegressor",
    "PredictiveDistribution",
    "Prior",
    "PriorBatch",
    "Recipe",
    "RiemannDistribution",
    "borders_from_samples",
    "nll_gap_table",
    "train_pfn",
]
