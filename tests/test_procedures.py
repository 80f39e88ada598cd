"""The procedure comparison's moments, interval and p-value, on small tables checked by hand or by brute force."""

import numpy as np
import pytest
from scipy import stats

from foodcnn.calibration import Scenario, simulate
from foodcnn.procedures import ProcedureTest, intervals, p_values, procedure_test, side_moments


def table(rng: np.random.Generator, seeds: int, images: int, accuracy: float = 0.6) -> np.ndarray:
    return rng.random((seeds, images)) < accuracy


def test_side_moments_are_the_two_way_anova_of_the_seeds_by_images_table():
    correct = table(np.random.default_rng(0), 4, 30)
    values = correct.astype(float)
    moments = side_moments(correct)
    per_model, per_image = values.mean(1), values.mean(0)
    residuals = values - per_model[:, None] - per_image[None, :] + values.mean()
    assert moments.accuracy == pytest.approx(values.mean())
    assert moments.seed_variance == pytest.approx(per_model.var(ddof=1) / 4)
    assert moments.noise == pytest.approx((residuals**2).sum() / (3 * 29))
    assert moments.per_image == pytest.approx(per_image)


def test_identical_sides_without_any_spread_differ_by_zero_for_certain():
    correct = np.tile(table(np.random.default_rng(1), 1, 20), (3, 1))  # three models, the same predictions
    test = procedure_test(correct, correct, paired=True)
    assert test.difference == 0 and test.variance == 0 and p_values(test) == 1.0
    assert [float(end) for end in intervals(test)] == [0.0, 0.0]
    better = procedure_test(np.zeros_like(correct), np.ones_like(correct), paired=True)  # every image, every seed
    assert better.difference == 1 and p_values(better) == 0.0


def test_without_an_image_term_the_test_is_welchs_t_test_on_the_models_accuracies():
    rng = np.random.default_rng(2)
    # Models whose accuracies differ by seed far beyond their per-image luck, every image independent.
    a = rng.random((3, 50)) < np.array([[0.3], [0.5], [0.6]])
    b = rng.random((5, 50)) < np.array([[0.6], [0.9], [0.7], [0.5], [0.8]])
    test = procedure_test(a, b, paired=True)
    moments_a, moments_b = side_moments(a), side_moments(b)
    spread = (moments_b.per_image - moments_a.per_image).var(ddof=1) - moments_a.noise / 3 - moments_b.noise / 5
    assert spread < 0  # independent draws: the per-image differences are all luck, so the image term is 0
    welch = stats.ttest_ind(b.mean(1), a.mean(1), equal_var=False)
    assert p_values(test) == pytest.approx(welch.pvalue)
    assert test.difference == pytest.approx(b.mean() - a.mean())


def test_seeds_of_equal_accuracy_do_not_make_a_difference_certain():
    # Three models per side, each right on one image of 11, other images by seed: every accuracy 1/11 on A's
    # side and 2/11 on B's, so the accuracies alone vary by nothing; the models' per-image luck still does.
    a = np.eye(11, dtype=bool)[:3]
    b = np.eye(11, dtype=bool)[3:6] | np.eye(11, dtype=bool)[6:9]
    test = procedure_test(a, b, paired=True)
    assert test.difference == pytest.approx(1 / 11)
    assert side_moments(a).seed_variance == pytest.approx(0, abs=1e-12) == side_moments(b).seed_variance
    assert test.variance == pytest.approx(side_moments(a).noise / 33 + side_moments(b).noise / 33)
    assert p_values(test) > 0.05


def test_p_is_005_at_the_ends_of_the_interval():
    test = ProcedureTest(np.array(0.04), np.array(0.0004), np.array(4.0))
    low, high = intervals(test)
    assert high - 0.04 == pytest.approx(stats.t.ppf(0.975, 4) * 0.02)
    for end in (low, high):
        assert p_values(ProcedureTest(test.difference - end, test.variance, test.degrees_of_freedom)) == pytest.approx(
            0.05
        )


@pytest.mark.parametrize("paired", [True, False])
def test_the_estimated_variance_is_the_variance_of_the_difference_over_seeds_and_images(paired):
    """Over many simulated comparisons, the variance each one estimates averages to the variance of the
    differences: neither seeds nor images left out (per-image differences between the procedures included)."""
    scenario = Scenario(images=200, seed_sd=0.02, seeds=4, interaction=1.5)
    rng = np.random.default_rng(3)
    a, b = simulate(scenario, 6000, rng)
    if not paired:
        a, _ = simulate(scenario, 6000, rng)  # A scored other images
    test = procedure_test(a, b, paired)
    assert test.variance.mean() == pytest.approx(test.difference.var(), rel=0.06)


def test_unequal_seeds_and_image_counts_unpaired():
    rng = np.random.default_rng(4)
    test = procedure_test(table(rng, 3, 40), table(rng, 6, 70), paired=False)
    assert test.variance > 0 and 2 <= test.degrees_of_freedom <= 2 + 5 + 39 + 69
