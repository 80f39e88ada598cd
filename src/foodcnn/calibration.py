"""Simulated comparisons with a known truth: how often each kind of verdict says "better" (tests/test_calibration.py
checks the error rates, bench figure 12 tabulates them for docs/comparing.md).

A test image has a difficulty, a logit drawn around 60 % accuracy with a spread of 1.5 (some images nearly
always right, some nearly never); a trained model adds an offset of its own, drawn per seed, whose spread makes
its accuracy over all images vary by `seed_sd` between seeds; each image is then right or wrong by itself,
with the logistic of the sum. Procedure B's logit is shifted so that its accuracy over all images and seeds is
`difference` above A's, and `interaction` gives the two procedures per-image differences that cancel on
average (another architecture gets other images right). Every simulated comparison draws new test images and
new seeds, so the test images vary as well as the seeds.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, partial

import numpy as np
import torch

from foodcnn.comparison import Scored, accuracy_of, trained_models_p_value, verdict
from foodcnn.procedures import MIN_SEEDS, intervals, p_values, procedure_test
from foodcnn.statistics import Resampling, over_resamples

CENTRE = math.log(0.6 / 0.4)  # logit of the average image's accuracy
SPREAD = 1.5  # standard deviation of the images' logits
NAMES = ("A", "B")


@dataclass(frozen=True)
class Scenario:
    images: int
    seed_sd: float  # standard deviation over seeds of a trained model's accuracy over all images (0.02: 2 points)
    seeds: int  # trained models per side
    difference: float = 0.0  # B's accuracy minus A's, over all images and seeds
    interaction: float = 0.0  # standard deviation (logits) of the per-image differences between the procedures


@dataclass(frozen=True)
class Rates:
    """Shares of simulated comparisons with a "B better" and with an "A better" verdict, and for procedure
    verdicts how often the interval held the true difference."""

    b_better: float
    a_better: float
    coverage: float | None = None

    @property
    def either(self) -> float:
        """Any "better": with no true difference, the false-positive rate."""
        return self.b_better + self.a_better


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-values))


@cache
def population() -> np.ndarray:
    """Many images' difficulties: what accuracies "over all images" are computed on."""
    return np.random.default_rng(0).normal(CENTRE, SPREAD, 200_000)


@cache
def offset_spread(seed_sd: float) -> float:
    """The spread (logits) of a model's offset that makes its accuracy over all images vary by seed_sd: the
    accuracy moves by the mean slope of the logistic per logit."""
    probabilities = sigmoid(population())
    return seed_sd / float(np.mean(probabilities * (1 - probabilities)))


@cache
def shift_for(difference: float) -> float:
    """The logit shift that raises the accuracy over all images by `difference` (bisection)."""
    base, low, high = sigmoid(population()).mean(), -5.0, 5.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if sigmoid(population() + middle).mean() - base < difference else (low, middle)
    return (low + high) / 2


def simulate(scenario: Scenario, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` comparisons' tables of correct predictions, (count, seeds, images) per side, on shared images."""
    shape = (count, scenario.seeds, scenario.images)
    difficulty = rng.normal(CENTRE, SPREAD, (count, 1, scenario.images))
    apart = rng.normal(0, scenario.interaction, (count, 1, scenario.images)) / 2
    spread = offset_spread(scenario.seed_sd)
    logits_a = difficulty - apart + rng.normal(0, spread, (count, scenario.seeds, 1))
    logits_b = difficulty + apart + shift_for(scenario.difference) + rng.normal(0, spread, (count, scenario.seeds, 1))
    return rng.random(shape) < sigmoid(logits_a), rng.random(shape) < sigmoid(logits_b)


def scored(correct: np.ndarray) -> Scored:
    """A side whose predictions are right where `correct` (seeds, images) says: label 0, prediction 0 or 1."""
    return Scored(
        torch.zeros(correct.shape[1], dtype=torch.long), torch.from_numpy(~correct).long(), tuple(range(len(correct)))
    )


def trained_models_verdicts(correct_a: np.ndarray, correct_b: np.ndarray, resamples: int) -> list[str]:
    """The verdict on these trained models of each simulated comparison, as comparison.trained_models gives it."""
    verdicts = []
    for number, (table_a, table_b) in enumerate(zip(correct_a, correct_b, strict=True)):
        a, b = scored(table_a), scored(table_b)
        observed = float(table_b.mean() - table_a.mean())
        resampled = torch.zeros(0)  # McNemar's test, for one model per side, needs no resamples
        if len(a.seeds) > 1:
            accuracy_a, accuracy_b = over_resamples(
                [partial(accuracy_of, a), partial(accuracy_of, b)], Resampling(len(a.labels), resamples, number)
            )
            resampled = accuracy_b - accuracy_a
        _, p_value = trained_models_p_value(a, b, True, observed, resampled)
        verdicts.append(verdict("trained_models", observed, p_value, NAMES))
    return verdicts


def batches(
    scenario: Scenario, simulations: int, seed: int, size: int = 500
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The simulated comparisons drawn from `seed`, `size` at a time: the same ones for every kind of verdict."""
    rng = np.random.default_rng(seed)
    for start in range(0, simulations, size):
        yield simulate(scenario, min(size, simulations - start), rng)


def rates(verdicts: list[str], kind: str, coverage: float | None = None) -> Rates:
    b_better, a_better = (verdicts.count(verdict(kind, sign, 0.0, NAMES)) / len(verdicts) for sign in (1.0, -1.0))
    return Rates(b_better, a_better, coverage)


def trained_models_rates(scenario: Scenario, simulations: int, seed: int, resamples: int = 200) -> Rates:
    """How often the verdict on these trained models says "better" (one comparison at a time: no Holm)."""
    verdicts = []
    for correct_a, correct_b in batches(scenario, simulations, seed):
        verdicts += trained_models_verdicts(correct_a, correct_b, resamples)
    return rates(verdicts, "trained_models")


def procedure_rates(scenario: Scenario, simulations: int, seed: int) -> Rates:
    """How often the verdict on the procedures says "better", and its interval's coverage; scenario.seeds must
    be at least MIN_SEEDS."""
    assert scenario.seeds >= MIN_SEEDS, "fewer seeds give no procedure verdict"
    verdicts, covered = [], 0
    for correct_a, correct_b in batches(scenario, simulations, seed):
        test = procedure_test(correct_a, correct_b, paired=True)
        low, high = intervals(test)
        covered += int(((low <= scenario.difference) & (scenario.difference <= high)).sum())
        verdicts += [
            verdict("procedures", float(d), float(p), NAMES)
            for d, p in zip(test.difference, p_values(test), strict=True)
        ]
    return rates(verdicts, "procedures", covered / simulations)
