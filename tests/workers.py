"""The suite on several pytest-xdist workers (pyproject.toml: `-n auto`).

Most of the suite's time is a few modules that build a tiny study with `dvc repro` and then change it, on one
core at a time (a stage is one process on one thread): side by side they use the machine. A module's tests
share its study (module-scoped fixtures), so each module runs whole on one worker; the modules of TEAM share
the session's trained team (tests/team.py), so they run on one worker together. The groups that run the most
end-to-end (slow) tests start first, so that a long one does not start last.
"""

from collections import Counter

import pytest
from xdist.scheduler import LoadScopeScheduling

from foodcnn.schedule import usable_cores

# Each worker is a Python process with torch loaded, and its study's `dvc repro` another with each stage's
# command (about 1.5 GiB at peak together); the longest group (the team's) is about a quarter of the suite, so
# beyond four workers it sets the time, and more only take memory.
MOST_WORKERS = 4
# One worker more than the cores: some tests wait rather than compute (the remotes' timeouts, about a minute for
# S3's endpoint that never answers; Dask's processes starting; a study that another worker is building), and
# the extra worker's tests use the cores meanwhile. On 2 cores, 2 workers left 8 % of the CPU time idle.
WAITING_WORKERS = 1
TEAM = ("tests/test_registry.py", "tests/test_remotes.py", "tests/test_team.py")


def module(nodeid: str) -> str:
    return nodeid.split("::")[0]


def group(nodeid: str) -> str:
    return "team" if module(nodeid) in TEAM else module(nodeid)


class GroupScheduling(LoadScopeScheduling):
    """pytest-xdist's scheduling by scope, whose scope is the group: each group's tests in a row on one worker,
    the groups in the order of collection."""

    def _split_scope(self, nodeid: str) -> str:
        return group(nodeid)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own choice
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> GroupScheduling | None:
    """The groups, unless another `--dist` than the default is asked for."""
    return GroupScheduling(config, log) if config.getvalue("dist") == "load" else None


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return min(usable_cores() + WAITING_WORKERS, MOST_WORKERS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    strays = {module(item.nodeid) for item in items if "team" in item.fixturenames} - set(TEAM)
    if strays:
        raise pytest.UsageError(f"{sorted(strays)} use the team fixture: add them to TEAM in tests/workers.py")
    slow = Counter(group(item.nodeid) for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: (-slow[group(item.nodeid)], group(item.nodeid)))  # stable: a module's order kept
