"""Is one training procedure better than another? Both the training seeds and the test images vary.

A trained network is one draw from its procedure (the same settings with another seed, or the same seed on
another CPU, give other predictions), so a question about procedures ("does dropout help?") needs several
trained models per side, and its uncertainty has two sources. Each side is a crossed design, every trained
model scoring every test image: correct[s, i] = mean + seed effect s + image effect i + noise (s, i). The
difference of the two sides' mean accuracies (B minus A) then has the variance

    var(model accuracies) / seeds, per side        the seeds: what another seed would give, each model's own
                                                   luck on these images included
  + var(per-image difference of the sides) / images   the test images: what other images would give, less that
                                                   luck, already counted in the line above

each estimated by moments (the residual mean square of the seeds x images table estimates the noise), and
never below the part the models' per-image luck alone gives. The interval is a Student t interval with
Welch-Satterthwaite's degrees of freedom, so that few seeds give a wide interval, not a falsely sure one. With
MIN_SEEDS per side the false "better" rate stays at 5 % or a little below, where a two-level bootstrap (seeds,
then images) gave 11 % on 2,750 images: docs/comparing.md, bench figure 12.

Arrays may carry leading dimensions (many simulated comparisons at once): the last two are seeds x images.
"""

from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
# The fewest trained models per side for a verdict about procedures: with two, the seed variance rests on one
# difference per side, and equal procedures get "better" 6.3 % of the time (500 images, seeds varying by 2
# points), against 4.5 % with three (bench figure 12).
MIN_SEEDS = 3


@dataclass(frozen=True)
class ProcedureTest:
    """B minus A over seeds and images, its estimated variance and the variance's degrees of freedom."""

    difference: np.ndarray
    variance: np.ndarray
    degrees_of_freedom: np.ndarray  # nan where the variance is 0


@dataclass(frozen=True)
class SideMoments:
    """One side's mean accuracy, the variance of its mean over seeds, its per-image share right and the
    variance of a single model's per-image noise."""

    accuracy: np.ndarray
    seed_variance: np.ndarray
    per_image: np.ndarray
    noise: np.ndarray


def side_moments(correct: np.ndarray) -> SideMoments:
    """The moments of a (..., seeds, images) 0/1 table, seeds >= 2; sums of squares instead of a residual
    table, so that memory stays that of the input."""
    seeds, images = correct.shape[-2:]
    values = correct.astype(np.float64)
    accuracy = values.mean((-2, -1))
    per_model = values.mean(-1)
    per_image = values.mean(-2)
    total = (values**2).sum((-2, -1)) - seeds * images * accuracy**2
    between_models = images * ((per_model - accuracy[..., None]) ** 2).sum(-1)
    between_images = seeds * ((per_image - accuracy[..., None]) ** 2).sum(-1)
    noise = (total - between_models - between_images) / ((seeds - 1) * (images - 1))
    return SideMoments(accuracy, per_model.var(-1, ddof=1) / seeds, per_image, noise)


def procedure_test(correct_a: np.ndarray, correct_b: np.ndarray, paired: bool) -> ProcedureTest:
    """B minus A, from each side's (..., seeds, images) table of correct predictions; `paired`: both scored
    the same images in the same order, so that the image term is of the per-image difference."""
    a, b = side_moments(correct_a), side_moments(correct_b)
    seeds_a, seeds_b = correct_a.shape[-2], correct_b.shape[-2]
    terms = [(a.seed_variance, seeds_a - 1), (b.seed_variance, seeds_b - 1)]
    if paired:
        spread = (b.per_image - a.per_image).var(-1, ddof=1) - a.noise / seeds_a - b.noise / seeds_b
        terms.append((np.maximum(spread, 0.0) / correct_a.shape[-1], correct_a.shape[-1] - 1))
    else:
        for side, correct in ((a, correct_a), (b, correct_b)):
            spread = side.per_image.var(-1, ddof=1) - side.noise / correct.shape[-2]
            terms.append((np.maximum(spread, 0.0) / correct.shape[-1], correct.shape[-1] - 1))
    variance = sum(term for term, _ in terms)
    with np.errstate(divide="ignore", invalid="ignore"):
        freedom = variance**2 / sum(term**2 / dof for term, dof in terms)
    # Each model's own per-image luck alone makes the difference vary this much, whatever the seeds and images
    # do; a few seeds of equal accuracy (likely on a small test set) would otherwise make it certain.
    luck = a.noise / (seeds_a * correct_a.shape[-1]) + b.noise / (seeds_b * correct_b.shape[-1])
    floored = variance < luck
    variance = np.where(floored, luck, variance)
    freedom = np.where(
        floored, (seeds_a - 1) * (correct_a.shape[-1] - 1) + (seeds_b - 1) * (correct_b.shape[-1] - 1), freedom
    )
    return ProcedureTest(b.accuracy - a.accuracy, variance, np.where(variance > 0, freedom, np.nan))


def p_values(test: ProcedureTest) -> np.ndarray:
    """Two-sided p-values of "no difference"; a difference without any variance is certain either way."""
    from scipy.special import stdtr  # here: only comparisons with enough seeds pay for its import

    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.abs(test.difference) / np.sqrt(test.variance)
        p = 2 * stdtr(test.degrees_of_freedom, -statistic)
    return np.where(test.variance > 0, p, np.where(test.difference == 0, 1.0, 0.0))


def intervals(test: ProcedureTest) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % t intervals of the differences."""
    from scipy.special import stdtrit

    with np.errstate(invalid="ignore"):
        half = stdtrit(test.degrees_of_freedom, (1 + CONFIDENCE) / 2) * np.sqrt(test.variance)
    half = np.where(test.variance > 0, half, 0.0)
    return test.difference - half, test.difference + half
