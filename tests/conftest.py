"""Test settings shared by every test file.

Hypothesis runs derandomized by default, so CI draws the same examples as a local run and
a result cannot depend on luck; ``SCIML_HYPOTHESIS_PROFILE=explore`` draws fresh random
examples (and more of them) for local bug hunting.
"""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("SCIML_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a whole module (``pytestmark =
    pytest.mark.usefixtures("one_torch_thread")``): tiny products run faster on one thread
    and are not slowed by a busy machine; module scope, so that module-scoped fixtures
    (e.g. a fitted model) are built on it too."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
