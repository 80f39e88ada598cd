"""Figure 12: how often each kind of verdict says "better", on simulated comparisons with a known truth
(foodcnn.calibration): test images 99 / 500 / 2,750, seed standard deviation 0 / 1 / 2 accuracy points, 1 / 3 / 5
trained models per side; with no true difference (false "better"), then with B 5 points better (power). Then why
the procedure verdict is a t interval and needs 3 seeds: the two-level percentile bootstrap (seeds within each
side, then the test images, shared) measured on the same simulations, and 2 seeds per side.

Markdown tables, as docs/comparing.md and bench/RESULTS.md show them. One comparison at a time: no Holm.
"""

import time
from math import sqrt

import numpy as np
import torch

from foodcnn.calibration import Scenario, batches, procedure_rates, trained_models_rates
from foodcnn.procedures import MIN_SEEDS, p_values, procedure_test
from foodcnn.statistics import Resampling, percentile_interval

IMAGES = (99, 500, 2750)
SEED_SDS = (0.0, 0.01, 0.02)
SEEDS = (1, 3, 5)
POWER_DIFFERENCE = 0.05


def percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f}"


def grid_table(simulations: int, difference: float, resamples: int) -> list[str]:
    """One row per test-set size, seed spread and seed count: the share of "better" verdicts of each kind (with a
    true difference, the share of "B better"), and the procedure interval's coverage."""
    words = "any “better”" if difference == 0 else "“B better”"
    lines = [
        f"| test images | seed sd (points) | seeds per side | {words}: verdict on these trained models % | "
        f"{words}: verdict on the procedures % | procedure interval covers the truth % |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for images in IMAGES:
        for seed_sd in SEED_SDS:
            for seeds in SEEDS:
                scenario = Scenario(images, seed_sd, seeds, difference)
                models = trained_models_rates(scenario, simulations, seed=11, resamples=resamples)
                procedures = procedure_rates(scenario, simulations, seed=11) if seeds >= MIN_SEEDS else None
                shown = (
                    [models.either, procedures and procedures.either]
                    if difference == 0
                    else [models.b_better, procedures and procedures.b_better]
                )
                lines.append(
                    f"| {images:,} | {100 * seed_sd:.0f} | {seeds} | {percent(shown[0])} | "
                    f"{percent(shown[1])} | {percent(procedures and procedures.coverage)} |"
                )
    return lines


def two_level_bootstrap_better(correct_a: np.ndarray, correct_b: np.ndarray, resamples: int, seed: int) -> bool:
    """The two-level percentile bootstrap: seeds drawn with replacement within each side, the test images drawn
    once for both; "better" when its 95 % interval misses 0."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.cat(list(Resampling(correct_a.shape[1], resamples, seed).chunks())).double()
    means = []
    for correct in (correct_a, correct_b):
        seeds = len(correct)
        drawn = torch.randint(0, seeds, (resamples, seeds), generator=generator)
        weights = torch.zeros(resamples, seeds, dtype=torch.float64).scatter_add_(
            1, drawn, torch.ones(resamples, seeds, dtype=torch.float64)
        )
        means.append(((weights @ torch.from_numpy(correct).double()) * images).sum(1) / (seeds * images.sum(1)))
    low, high = percentile_interval(means[1] - means[0])
    return low > 0 or high < 0


def method_table(simulations: int, resamples: int) -> list[str]:
    """False "better" of the two-level bootstrap and of the t interval on the same simulated comparisons, and
    the t interval's power with 2 seeds per side against 3."""
    lines = [
        "| scenario | two-level bootstrap: any “better” % | t interval: any “better” % | "
        "t interval: “B better” at +5 points % |",
        "|---|---:|---:|---:|",
    ]
    for images, seeds, interaction in (
        (99, 3, 0.0),
        (2750, 3, 0.0),
        (2750, 5, 0.0),
        (99, 3, 1.0),
        (500, 2, 0.0),
        (500, 3, 0.0),
    ):
        scenario = Scenario(images, 0.02, seeds, interaction=interaction)
        bootstrap = [
            two_level_bootstrap_better(a, b, resamples, number)
            for correct_a, correct_b in batches(scenario, simulations, seed=12)
            for number, (a, b) in enumerate(zip(correct_a, correct_b, strict=True))
        ]
        t_better = []
        for difference in (0.0, POWER_DIFFERENCE):
            shifted = Scenario(images, 0.02, seeds, difference, interaction)
            tests = [procedure_test(a, b, paired=True) for a, b in batches(shifted, simulations, seed=12)]
            t_better.append(np.mean(np.concatenate([p_values(test) < 0.05 for test in tests])))
        kind = ", procedures equal on average, not per image" if interaction else ""
        lines.append(
            f"| {images:,} images, seed sd 2 points, {seeds} seeds per side{kind} | "
            f"{percent(float(np.mean(bootstrap)))} | {percent(float(t_better[0]))} | "
            f"{percent(float(t_better[1]))} |"
        )
    return lines


def measure(simulations: int, resamples: int) -> None:
    """The three tables, with the Monte Carlo error of a 5 % rate at this many simulations."""
    start = time.perf_counter()
    error = 1.96 * sqrt(0.05 * 0.95 / simulations)
    print(
        f"\n11. calibration: {simulations} simulated comparisons per row (95 % Monte Carlo error of a 5 % rate: "
        f"±{100 * error:.1f} points), {resamples} bootstrap resamples each"
    )
    print("\nNo true difference (B and A the same procedure):\n")
    print("\n".join(grid_table(simulations, 0.0, resamples)))
    print(f"\nB better by {100 * POWER_DIFFERENCE:.0f} points over all images and seeds:\n")
    print("\n".join(grid_table(simulations, POWER_DIFFERENCE, resamples)))
    print("\nWhy a t interval, and 3 seeds:\n")
    print("\n".join(method_table(simulations, resamples)))
    print(f"\n   ({time.perf_counter() - start:.0f} s)")
