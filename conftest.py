"""Test-run settings: notebooks run on their smoke budgets, TensorFlow stays quiet
and runs one thread per process, and one XLA compilation cache serves the whole run.

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
# pytest-xdist runs a test process per core, and each may start kernels, scripts and
# training workers: TensorFlow's thread pools on top of that (a thread per core each)
# only make them wait on each other. One thread each, as the training workers have.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
if "TF_XLA_FLAGS" not in os.environ:
    # One XLA compilation cache for the whole test run (this process, pytest-xdist's
    # workers, notebook kernels, training workers and scripts inherit it): an agent
    # compiled once, in any of them, is loaded, not compiled, by the next. Loading
    # gives the same program, so the same numbers, bit for bit.
    XLA_CACHE = tempfile.mkdtemp(prefix="dqn-course-xla-cache-")
    os.environ["TF_XLA_FLAGS"] = f"--tf_xla_persistent_cache_directory={XLA_CACHE}"
    atexit.register(shutil.rmtree, XLA_CACHE, ignore_errors=True)


# the heaviest first, so that no long file is left running alone at the end: every
# notebook (the later notebooks train more), then every plain-script copy, which
# loads what its notebook's run compiled from the XLA cache, then the rest
def weight(item) -> int:
    found = re.search(r"notebooks/(\d\d)_|TestScript(\d\d)", item.nodeid)
    if not found:
        return 0
    if found.group(1):
        return 100 + int(found.group(1))
    return int(found.group(2))


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: -weight(item))  # stable: cells keep their order
