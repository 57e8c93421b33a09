"""README's setup command works on every Python the README promises.

For each promised version, pip resolves requirements.txt as a dry run with wheels
only (`--only-binary=:all:`: no source build could rescue a missing wheel on a
learner's machine) for that Python on this machine's platform, installing nothing.
Each takes pip about 20 s of CPU (it weighs some 120,000 wheel links), so the
version running the tests, which README's command has just installed for real, is
not resolved again; the others run side by side. It needs the package index:
the tests are skipped only when the index cannot be reached at all (no network);
any other failure of pip fails them, with pip's own last lines.
"""

import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INDEX = "https://pypi.org/simple/"


def promised_pythons() -> list[str]:
    """The versions in README's setup sentence ("On a fresh machine with Python
    3.11, 3.12 or 3.13 ...")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"^On a fresh machine with Python ([^(]*)", readme, re.M)
    assert sentence, "README has no 'On a fresh machine with Python ...' sentence"
    return re.findall(r"3\.\d+", sentence.group(1))


PYTHONS = promised_pythons()
# the Python running the tests has just installed requirements.txt for real (README's
# setup command): only the other promised versions need pip's dry run
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
OTHERS = [version for version in PYTHONS if version != RUNNING]


def pins() -> list[str]:
    """requirements.txt's `name==version` lines (extras kept), without `-e .`."""
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if "==" in line and not line.startswith("#")]


def test_readme_and_pyproject_promise_the_same_pythons():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    lowest = re.search(r'^requires-python = ">=(3\.\d+)"$', text, re.M)
    assert lowest, 'pyproject.toml has no requires-python = ">=3.x"'
    assert PYTHONS and PYTHONS[0] == lowest.group(1), (PYTHONS, lowest.group(1))
    assert PYTHONS == sorted(PYTHONS, key=lambda v: int(v.split(".")[1]))


def reach_index() -> None:
    """Skip the calling test if the package index cannot be reached at all."""
    try:
        urllib.request.urlopen(INDEX + "pip/", timeout=15).close()
    except urllib.error.HTTPError:
        pass  # the index answered: pip's own run decides
    except (urllib.error.URLError, OSError) as error:  # DNS, refused, timed out
        pytest.skip(f"no network: the package index {INDEX} cannot be reached: {error}")


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory):
    """One `pip install --dry-run` process per promised Python, all started at once."""
    reach_index()
    folder = tmp_path_factory.mktemp("requirements")
    requirements = folder / "requirements.txt"
    requirements.write_text("\n".join(pins()) + "\n", encoding="utf-8")
    processes = {}
    for version in OTHERS:
        command = [sys.executable, "-m", "pip", "install", "--dry-run"]
        command += ["--ignore-installed", "--only-binary=:all:", "--no-input"]
        command += ["--disable-pip-version-check", "--python-version", version]
        command += ["--target", str(folder / version), "-r", str(requirements)]
        processes[version] = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    yield processes
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def normalize(name: str) -> str:
    """A distribution's name as the package index compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("version", OTHERS)
def test_requirements_resolve_to_the_pinned_wheels(resolutions, version):
    output, _ = resolutions[version].communicate(timeout=900)
    tail = "\n".join(output.splitlines()[-15:])
    assert resolutions[version].returncode == 0, f"Python {version}:\n{tail}"
    (line,) = [line for line in output.splitlines() if line.startswith("Would install")]
    chosen = set()
    for wheel in line.split()[2:]:  # name-version
        name, _, number = wheel.rpartition("-")
        chosen.add(f"{normalize(name)}=={number}")
    pinned = set()
    for pin in pins():
        name, number = pin.split("==")
        pinned.add(f"{normalize(name.split('[')[0])}=={number}")  # extras dropped
    assert pinned <= chosen, f"Python {version}: not chosen: {sorted(pinned - chosen)}"
