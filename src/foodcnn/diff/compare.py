"""Two revisions' study models compared with foodcnn.comparison: about these trained models and, with enough
seeds per side, about the procedures that trained them.

Paired on the test images both revisions scored (the same path with the same class): one bootstrap draw of
images serves both sides. A missing or extra row leaves those images out of the pairing, and the result says how
many; when the two test sets share less than half of either's images (another split, source or size), each side
is resampled on its own: the images that differ are never paired.
"""

import torch

from foodcnn.comparison import Scored, add_verdicts, compare_scored
from foodcnn.diff.revisions import RoleRun, Side


def shared_images(a: RoleRun, b: RoleRun) -> tuple[str, ...]:
    """The paths both scored with the same class, in A's order."""
    classes_b = dict(zip(b.paths, b.actual, strict=True))
    return tuple(path for path, actual in zip(a.paths, a.actual, strict=True) if classes_b.get(path) == actual)


def pairing(a: RoleRun, b: RoleRun) -> tuple[str, ...] | None:
    """The images to pair on: the shared ones when they are at least half of each side's, else None (unpaired).

    Pairing cancels image difficulty out of a difference, but on a subset; a new split shares about a sixth of
    its test images by chance, where all of them unpaired say more.
    """
    shared = shared_images(a, b)
    return shared if 2 * len(shared) >= max(len(a.paths), len(b.paths)) else None


def encode(run: RoleRun, classes: dict[str, int], order: tuple[str, ...] | None = None) -> Scored:
    """Class indices of a role's labels and predictions, its images put in `order` (a subset) when given."""
    where = {path: i for i, path in enumerate(run.paths)}
    positions = range(len(run.paths)) if order is None else [where[path] for path in order]
    labels = torch.tensor([classes[run.actual[i]] for i in positions])
    predictions = torch.tensor(
        [[classes[seed_predictions[i]] for i in positions] for seed_predictions in run.predicted.values()]
    )
    return Scored(labels, predictions, tuple(run.predicted))


def compare_role(a: RoleRun, b: RoleRun, resamples: int, seed: int) -> dict:
    """B minus A for one study model: both kinds of comparison, the test images each side has and how many of
    them the pairing left out."""
    names = {*a.actual, *b.actual, *(name for run in (a, b) for row in run.predicted.values() for name in row)}
    classes = {name: i for i, name in enumerate(sorted(names))}
    shared = pairing(a, b)
    result = compare_scored(
        encode(a, classes, shared), encode(b, classes, shared), shared is not None, len(classes), resamples, seed
    )
    left_out = [len(a.paths) - len(shared), len(b.paths) - len(shared)] if shared is not None else [0, 0]
    return {**result, "test_images": [len(a.paths), len(b.paths)], "left_out": left_out}


def settings_changed(a: RoleRun, b: RoleRun) -> str | None:
    """What the two revisions chose differently for a role, e.g. 'lr 0.001 -> 0.01'; None when a side's
    choices are not at hand."""
    if a.settings is None or b.settings is None:
        return None
    return ", ".join(
        f"{key} {a.settings.get(key)} -> {b.settings.get(key)}"
        for key in dict.fromkeys([*a.settings, *b.settings])
        if a.settings.get(key) != b.settings.get(key)
    )


def compare(a: Side, b: Side, resamples: int = 1000, seed: int = 0) -> dict:
    """Every study model present on both sides, B minus A, with Holm-adjusted p-values and verdicts."""
    shared = [role for role in a.roles if role in b.roles]
    roles = {
        role: {
            **compare_role(a.roles[role], b.roles[role], resamples, seed),
            "changed": settings_changed(a.roles[role], b.roles[role]),
        }
        for role in shared
    }
    add_verdicts(list(roles.values()), [("A", "B")] * len(roles))
    return {
        "a": {"name": a.name, "commit": a.commit, "missing": list(a.missing)},
        "b": {"name": b.name, "commit": b.commit, "missing": list(b.missing)},
        "roles": roles,
        "only_in_a": [role for role in a.roles if role not in b.roles],
        "only_in_b": [role for role in b.roles if role not in a.roles],
    }
