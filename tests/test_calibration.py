"""The verdicts' error rates, measured on simulated comparisons with a known truth (foodcnn.calibration): with
enough seeds the procedure verdict says "better" for equal procedures at most 5 % of the time however much seeds
vary (and not much less), its power grows with seeds, and a verdict on trained models is no verdict on their
procedures.

Fixed seeds, so each rate is one number; the bounds allow 3 Monte Carlo standard errors beyond the rate claimed.
"""

from math import sqrt

import pytest

from foodcnn.calibration import Scenario, procedure_rates, trained_models_rates


def monte_carlo_error(rate: float, simulations: int) -> float:
    """Three standard errors of a rate measured on `simulations` comparisons."""
    return 3 * sqrt(rate * (1 - rate) / simulations)


@pytest.mark.parametrize("seed_sd", [0.01, 0.02])
def test_procedures_equal_on_average_get_a_false_better_at_most_5_percent_of_the_time(seed_sd):
    # Another architecture gets other images right (interaction), with the same accuracy over all images. The
    # test is a little conservative by design (4.1-4.2 % here): Welch's degrees of freedom, and a variance never
    # below the models' per-image luck.
    simulations = 8000
    rates = procedure_rates(Scenario(images=99, seed_sd=seed_sd, seeds=3, interaction=1.0), simulations, seed=1)
    assert 0.035 <= rates.either <= 0.05 + monte_carlo_error(0.05, simulations)
    assert rates.coverage >= 0.95 - monte_carlo_error(0.95, simulations)


@pytest.mark.parametrize("images", [99, 500])
def test_the_same_procedure_twice_gets_a_false_better_at_most_5_percent_of_the_time(images):
    simulations = 4000
    rates = procedure_rates(Scenario(images=images, seed_sd=0.02, seeds=3), simulations, seed=2)
    assert 0.03 <= rates.either <= 0.05 + monte_carlo_error(0.05, simulations)  # 3.4 and 4.0 %


def test_power_grows_with_seeds():
    power = [
        procedure_rates(Scenario(images=500, seed_sd=0.02, seeds=seeds, difference=0.05), 2000, seed=3).b_better
        for seeds in (3, 5, 8)
    ]
    assert power[0] + 0.2 < power[1] < power[2] - 0.05  # about 0.32, 0.70 and 0.90


def test_a_verdict_on_trained_models_is_no_verdict_on_their_procedures():
    # McNemar's test is right about models (sd 0: they differ by their per-image luck only), but one seed per side
    # of two equal procedures whose models vary by 2 points says "better" for 38 % of them on 2,750 images.
    simulations = 200
    models = trained_models_rates(Scenario(images=2750, seed_sd=0.0, seeds=1), simulations, seed=4)
    assert models.either <= 0.05 + monte_carlo_error(0.05, simulations)
    seeds_vary = trained_models_rates(Scenario(images=2750, seed_sd=0.02, seeds=1), simulations, seed=4)
    assert seeds_vary.either > 0.25  # 0.38 here
