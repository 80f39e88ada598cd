"""Two revisions' study models compared: differences with 95 % intervals, p-values and verdicts in words.

Paired when both revisions scored the same test images (the same paths with the same classes): one bootstrap
draw of images serves both sides, and McNemar's exact test counts the images only one side got right. When the
test images differ, each side is resampled on its own and the p-value comes from that bootstrap; images that
differ are never paired. Several roles are several tests: Holm's step-down adjustment keeps the chance of any
false "better" at 5 %, and the verdict reads the adjusted p-value.
"""

from dataclasses import dataclass

import torch

from foodcnn.diff.revisions import RoleRun, Side
from foodcnn.statistics import (
    accuracies, each_once, macro_f1s, mcnemar_exact, percentile_interval, resample_draws,
)

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Encoded:
    """A role's predictions as class indices: labels (images,) and predictions (seeds, images)."""

    labels: torch.Tensor
    predictions: torch.Tensor
    seeds: tuple[int, ...]


def same_test_images(a: RoleRun, b: RoleRun) -> bool:
    """Whether both scored exactly the same images with the same classes (in any order)."""
    return len(a.paths) == len(b.paths) and dict(zip(a.paths, a.actual)) == dict(zip(b.paths, b.actual))


def encode(run: RoleRun, classes: dict[str, int], order: tuple[str, ...] | None = None) -> Encoded:
    """Class indices of a role's labels and predictions, its images put in `order` when given."""
    where = {path: i for i, path in enumerate(run.paths)}
    positions = range(len(run.paths)) if order is None else [where[path] for path in order]
    labels = torch.tensor([classes[run.actual[i]] for i in positions])
    predictions = torch.tensor([[classes[seed_predictions[i]] for i in positions]
                                for seed_predictions in run.predicted.values()])
    return Encoded(labels, predictions, tuple(run.predicted))


def seed_pairs(a: tuple[int, ...], b: tuple[int, ...]) -> list[tuple[int, int]]:
    """Runs compared one to one: the same seed on both sides when the seed lists agree, else in list order."""
    return [(seed, seed) for seed in a] if sorted(a) == sorted(b) else list(zip(a, b))


def bootstrap_p_value(observed: float, resampled: torch.Tensor) -> float:
    """Two-sided p-value of a difference from its bootstrap distribution shifted to the null of no difference."""
    extreme = int(((resampled - observed).abs() >= abs(observed) - 1e-12).sum())
    return min(1.0, (extreme + 1) / (len(resampled) + 1))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def significant(p_value: float) -> float:
    """A p-value to three significant digits: small ones keep their size instead of rounding to 0."""
    return float(f"{p_value:.3g}")


def verdict(difference: float, adjusted_p: float) -> str:
    if adjusted_p >= SIGNIFICANCE or difference == 0:
        return "no evidence either way"
    return "B better" if difference > 0 else "A better"


def seed_accuracy(encoded: Encoded) -> dict[int, float]:
    correct = (encoded.predictions == encoded.labels).double().mean(1)
    return dict(zip(encoded.seeds, correct.tolist()))


def win_probability(accuracy_a: dict[int, float], accuracy_b: dict[int, float]) -> float:
    """P(a B run beats an A run): the share of all (A run, B run) pairs where B is more accurate, ties half."""
    wins = [1.0 if b > a else 0.5 if b == a else 0.0 for a in accuracy_a.values() for b in accuracy_b.values()]
    return round(sum(wins) / len(wins), 4)


def seed_rows(encoded_a: Encoded, encoded_b: Encoded, accuracy_a: dict[int, float], accuracy_b: dict[int, float],
              paired: bool) -> list[dict]:
    """Each seed pair's accuracy difference, with McNemar's p-value when the test images are the same."""
    rows = []
    for seed_a, seed_b in seed_pairs(encoded_a.seeds, encoded_b.seeds):
        row = {"seed_a": seed_a, "seed_b": seed_b, "difference": round(accuracy_b[seed_b] - accuracy_a[seed_a], 4)}
        if paired:
            correct_a = encoded_a.predictions[encoded_a.seeds.index(seed_a)] == encoded_a.labels
            correct_b = encoded_b.predictions[encoded_b.seeds.index(seed_b)] == encoded_b.labels
            row["p_value"] = significant(mcnemar_exact(correct_a, correct_b))
        rows.append(row)
    return rows


def compare_role(a: RoleRun, b: RoleRun, resamples: int, seed: int) -> dict:
    """B minus A for one study model: accuracy and macro-F1 with 95 % intervals, p-value, per-seed rows."""
    names = {*a.actual, *b.actual, *(name for run in (a, b) for row in run.predicted.values() for name in row)}
    classes = {name: i for i, name in enumerate(sorted(names))}
    paired = same_test_images(a, b)
    encoded_a = encode(a, classes)
    encoded_b = encode(b, classes, a.paths if paired else None)
    draws_a = resample_draws(len(encoded_a.labels), resamples, seed)
    draws_b = draws_a if paired else resample_draws(len(encoded_b.labels), resamples, seed + 1)

    def metric(name: str, encoded: Encoded, draws: torch.Tensor) -> torch.Tensor:
        if name == "accuracy":
            return accuracies(encoded.labels, encoded.predictions, draws)
        return macro_f1s(encoded.labels, encoded.predictions, draws, len(classes))

    result: dict = {"paired": paired, "test_images": [len(a.paths), len(b.paths)]}
    for name in ("accuracy", "macro_f1"):
        value_a, value_b = (metric(name, encoded, each_once(len(encoded.labels))).item()
                            for encoded in (encoded_a, encoded_b))
        resampled = metric(name, encoded_b, draws_b) - metric(name, encoded_a, draws_a)
        result[name] = {"a": round(value_a, 4), "b": round(value_b, 4), "difference": round(value_b - value_a, 4),
                        "difference_ci95": list(percentile_interval(resampled))}
        if name == "accuracy" and not paired:
            result["p_value"] = bootstrap_p_value(value_b - value_a, resampled)
    accuracy_a, accuracy_b = seed_accuracy(encoded_a), seed_accuracy(encoded_b)
    result["seeds"] = seed_rows(encoded_a, encoded_b, accuracy_a, accuracy_b, paired)
    if paired:
        # Each seed pair is its own test of the same images; the least significant one speaks for all.
        result["p_value"] = max(row["p_value"] for row in result["seeds"])
    result["p_b_beats_a"] = win_probability(accuracy_a, accuracy_b)
    result["seed_variance"] = len(encoded_a.seeds) > 1 or len(encoded_b.seeds) > 1
    return result


def settings_changed(a: RoleRun, b: RoleRun) -> str:
    """What the two revisions chose differently for a role, e.g. 'lr 0.001 -> 0.01'."""
    return ", ".join(f"{key} {a.settings.get(key)} -> {b.settings.get(key)}"
                     for key in dict.fromkeys([*a.settings, *b.settings])
                     if a.settings.get(key) != b.settings.get(key))


def compare(a: Side, b: Side, resamples: int = 1000, seed: int = 0) -> dict:
    """Every study model present on both sides, B minus A, with Holm-adjusted p-values and verdicts."""
    shared = [role for role in a.roles if role in b.roles]
    roles = {role: {**compare_role(a.roles[role], b.roles[role], resamples, seed),
                    "changed": settings_changed(a.roles[role], b.roles[role])} for role in shared}
    for result, adjusted in zip(roles.values(), holm([result["p_value"] for result in roles.values()])):
        result["p_value"] = significant(result["p_value"])
        result["p_holm"] = significant(adjusted)
        result["verdict"] = verdict(result["accuracy"]["difference"], adjusted)
    return {"a": {"name": a.name, "commit": a.commit}, "b": {"name": b.name, "commit": b.commit},
            "roles": roles,
            "only_in_a": [role for role in a.roles if role not in b.roles],
            "only_in_b": [role for role in b.roles if role not in a.roles]}
