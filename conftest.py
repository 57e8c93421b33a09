"""Test-run settings: notebooks run on their smoke budgets, TensorFlow stays quiet.

nbval's kernels inherit this process's environment, so setting it here covers both
the unit tests and every notebook.
"""

import os

os.environ["SMOKE_TEST"] = "1"  # notebooks shrink their budget lines
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no C++ log lines on stderr
