"""Test-run settings: notebooks run on their smoke budgets, TensorFlow stays quiet,
and one XLA compilation cache serves the whole run.

nbval's kernels inherit this process's environment, so setting it here covers both
the unit tests and every notebook.
"""

import atexit
import os
import re
import shutil
import tempfile

os.environ["SMOKE_TEST"] = "1"  # notebooks shrink their budget lines
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no C++ log lines on stderr
if "TF_XLA_FLAGS" not in os.environ:
    # One XLA compilation cache for the whole test run (this process, pytest-xdist's
    # workers, notebook kernels, training workers and scripts inherit it): an agent
    # compiled once, in any of them, is loaded, not compiled, by the next. Loading
    # gives the same program, so the same numbers, bit for bit.
    XLA_CACHE = tempfile.mkdtemp(prefix="dqn-course-xla-cache-")
    os.environ["TF_XLA_FLAGS"] = f"--tf_xla_persistent_cache_directory={XLA_CACHE}"
    atexit.register(shutil.rmtree, XLA_CACHE, ignore_errors=True)


# the heaviest first, so that no long file is left running alone at the end: every
# notebook and its plain-script copy (the later notebooks train more), then the rest
def weight(item) -> int:
    found = re.search(r"notebooks/(\d\d)_|TestScript(\d\d)", item.nodeid)
    return int(found.group(1) or found.group(2)) if found else 0


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: -weight(item))  # stable: cells keep their order
