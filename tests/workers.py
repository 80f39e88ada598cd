"""The suite on several pytest-xdist workers (pyproject.toml: `-n auto --dist loadgroup`).

Most of the suite's time is a few modules that build a tiny study with `dvc repro` and then change it, on one
core at a time (a stage is one process on one thread): side by side they use the machine. A module's tests
share its study (module-scoped fixtures), so each module runs whole on one worker; the team tests of
tests/team.py share the session's trained team, so their modules run on one worker together. The groups that run the
most end-to-end (slow) tests start first, so that a long one does not start last.
"""

from collections import Counter

import pytest

from foodcnn.schedule import usable_cores

# Each worker is a Python process with torch loaded, and its study's `dvc repro` another with each stage's
# command (about 1.5 GiB at peak together); the longest group is a fifth of the suite, so beyond four workers it
# sets the time, and more only take memory.
MOST_WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return min(usable_cores(), MOST_WORKERS)


def module(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    teams = {module(item) for item in items if "team" in item.fixturenames}
    groups = {item: "team" if module(item) in teams else module(item) for item in items}
    slow = Counter(groups[item] for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: (-slow[groups[item]], groups[item]))  # stable: each module's order is kept
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item]))
