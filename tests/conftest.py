"""Test settings shared by every test file.

Hypothesis runs derandomized by default, so CI draws the same examples as a local run and
a result cannot depend on luck; ``SCIML_HYPOTHESIS_PROFILE=explore`` draws fresh random
examples (and more of them) for local bug hunting.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("SCIML_HYPOTHESIS_PROFILE", "ci"))
