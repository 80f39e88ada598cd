"""foodcnn.comparison, the one implementation behind the report's comparisons and `foodcnn diff`: both kinds of
verdict, every seed of both sides, Holm per kind."""

import pytest
import torch

from foodcnn.comparison import Scored, add_verdicts, compare_scored

IMAGES = 200


def side(*accuracies: float, seed: int = 0, shared: torch.Tensor | None = None) -> Scored:
    """One trained model per accuracy, label 0 on every image, each right on about that share of the images;
    `shared`: per-image luck common to every model (images some procedure finds easy)."""
    generator = torch.Generator().manual_seed(seed)
    luck = (
        torch.rand(len(accuracies), IMAGES, generator=generator)
        if shared is None
        else shared.expand(len(accuracies), IMAGES)
    )
    wrong = luck >= torch.tensor(accuracies).view(-1, 1)
    return Scored(torch.zeros(IMAGES, dtype=torch.long), wrong.long(), tuple(range(42, 42 + len(accuracies))))


def compare(a: Scored, b: Scored, paired: bool = True) -> dict:
    result = compare_scored(a, b, paired, 2, resamples=500, seed=0)
    add_verdicts([result], [("A", "B")])
    return result


def test_identical_predictions_differ_by_nothing_and_mcnemar_says_p_one():
    a = side(0.6)
    result = compare(a, a)
    assert result["accuracy"]["difference"] == 0 and result["trained_models"]["accuracy_ci95"] == [0.0, 0.0]
    assert result["trained_models"]["test"] == "McNemar exact" and result["trained_models"]["p_value"] == 1.0
    assert result["trained_models"]["verdict"] == "no evidence either way"


def test_one_model_per_side_gets_a_verdict_on_these_models_and_none_on_procedures():
    result = compare(side(0.4), side(0.8))
    assert result["trained_models"]["verdict"] == "B better (these models)"
    assert result["procedures"] == {"seeds_needed": 3, "verdict": "none: needs 3 seeds per side (A has 1, B 1)"}


def test_every_seed_of_unequal_lists_takes_part():
    # The old pairing zipped A [42] with B [42, 43, 44] and read one row; the mean is over all of them.
    a, b = side(0.8), side(0.3, 0.4, 0.5, seed=1)
    result = compare(a, b)
    accuracy_b = (b.correct.double().mean(1)).tolist()
    assert result["seeds"] == [1, 3] and result["accuracy"]["b"] == pytest.approx(sum(accuracy_b) / 3, abs=1e-4)
    assert list(result["seed_accuracy"]["b"]) == [42, 43, 44]
    assert (
        result["trained_models"]["test"] == "bootstrap"
        and result["trained_models"]["verdict"] == "A better (these models)"
    )
    assert result["procedures"]["verdict"] == "none: needs 3 seeds per side (A has 1, B 3)"


def test_seeds_that_disagree_on_the_direction_give_no_procedure_verdict():
    # B's models beat A's by +27, -13 and +5 points seed by seed: these models differ, the procedures may not.
    shared = torch.rand(IMAGES, generator=torch.Generator().manual_seed(2))
    a, b = side(0.40, 0.50, 0.45, shared=shared), side(0.67, 0.37, 0.50, shared=shared)
    result = compare(a, b)
    assert result["accuracy"]["difference"] == pytest.approx(0.0633, abs=0.01)
    assert result["procedures"]["verdict"] == "no evidence either way"
    low, high = result["procedures"]["accuracy_ci95"]
    assert low < 0 < high and high - low > 0.3  # about 6 degrees of freedom' worth of spread


def test_a_consistent_gain_over_three_seeds_is_a_procedure_verdict():
    a, b = side(0.50, 0.52, 0.48, seed=3), side(0.80, 0.79, 0.82, seed=4)
    result = compare(a, b)
    assert result["procedures"]["verdict"] == "B better (procedure)" and result["procedures"]["p_holm"] < 0.01
    low, high = result["procedures"]["accuracy_ci95"]
    assert low < result["accuracy"]["difference"] < high and low > 0.2


def test_unpaired_sides_are_resampled_each_on_its_own():
    a, b = side(0.5, seed=5), side(0.5, seed=6)
    result = compare(a, b, paired=False)
    assert not result["paired"] and result["trained_models"]["test"] == "bootstrap"
    low, high = result["trained_models"]["accuracy_ci95"]
    assert low < 0 < high


def test_holm_adjusts_each_kind_over_the_comparisons_that_have_it():
    strong = compare_scored(side(0.3, 0.32, 0.28), side(0.9, 0.88, 0.91, seed=1), True, 2, 500, 0)
    single = compare_scored(side(0.5, seed=2), side(0.58, seed=3), True, 2, 500, 0)
    results = [strong, single]
    add_verdicts(results, [("basic", "residual"), ("A", "B")])
    assert strong["procedures"]["p_holm"] == strong["procedures"]["p_value"]  # the only one with procedures
    assert strong["trained_models"]["p_holm"] == pytest.approx(2 * strong["trained_models"]["p_value"], rel=0.01)
    assert strong["procedures"]["verdict"] == "residual better (procedure)"
    assert single["procedures"]["verdict"].startswith("none: needs 3 seeds")
