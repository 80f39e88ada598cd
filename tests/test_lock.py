"""The environment is the lock: every installed distribution is pinned, at the version installed, and the locks
(requirements*.txt, compiled from requirements*.in by `make lock`) agree with each other."""

import importlib.metadata
import re

import pytest

from tests.conftest import REPO

STUDY, TEST = "requirements.txt", "requirements-remote-test.txt"
EXTRAS = ("requirements-s3.txt", "requirements-ssh.txt")
PROJECT = "foodcnn"  # installed from the working tree (`pip install --no-deps -e .`), not from the lock
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def normal(name: str) -> str:
    """A distribution's name as package indexes compare them (PEP 503): case, '.', '_' and '-' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    return {normal(name): version for name, version in PIN.findall((REPO / lock).read_text())}


def installed() -> dict[str, str]:
    return {normal(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()}


def differences(found: dict[str, str], locked: dict[str, str]) -> list[str]:
    """One line per installed distribution that the lock does not pin at its version."""
    return [
        f"{name} {version}: " + (f"the lock pins {locked[name]}" if name in locked else "not in the lock")
        for name, version in sorted(found.items())
        if name != PROJECT and locked.get(name) != version
    ]


def test_a_version_other_than_the_locks_or_a_package_it_lacks_is_a_difference():
    locked = {"numpy": "2.4.6", "torch": "2.14.1"}
    assert differences({"numpy": "2.4.6", "torch": "2.14.1", PROJECT: "0.1.0"}, locked) == []
    assert differences({"numpy": "2.5.0", "torch": "2.14.1", "rich": "15.0.0"}, locked) == [
        "numpy 2.5.0: the lock pins 2.4.6",
        "rich 15.0.0: not in the lock",
    ]


def test_every_installed_distribution_is_pinned_at_its_version():
    """Installed by the Makefile from a lock, the environment is that lock's, a subset of the test lock's: a
    package installed without the lock, or upgraded past it, shows here."""
    assert differences(installed(), pins(TEST)) == []


def test_the_study_lock_is_installed_whole():
    found = installed()
    assert {name: version for name, version in pins(STUDY).items() if found.get(name) != version} == {}


@pytest.mark.parametrize("lock", [STUDY, *EXTRAS])
def test_each_lock_pins_the_test_locks_versions(lock):
    """The same version of a package wherever it is installed: the test lock holds every other lock."""
    test = pins(TEST)
    assert {name: version for name, version in pins(lock).items() if test.get(name) != version} == {}


@pytest.mark.parametrize("lock", EXTRAS)
def test_each_remote_lock_is_the_study_lock_and_more(lock):
    study, extra = pins(STUDY), pins(lock)
    assert {name: version for name, version in study.items() if extra.get(name) != version} == {}


@pytest.mark.parametrize("lock", [STUDY, *EXTRAS, TEST])
def test_every_pin_carries_hashes(lock):
    """pip installs a hashed lock in hash-checking mode, where a pin without hashes would stop the install."""
    blocks = re.split(r"^(?=[A-Za-z0-9])", (REPO / lock).read_text(), flags=re.MULTILINE)[1:]
    assert blocks and [block.split()[0] for block in blocks if "--hash=sha256:" not in block] == []
