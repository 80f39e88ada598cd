import pytest
import torch
from sklearn.metrics import f1_score

from foodcnn.statistics import (
    accuracies, each_once, macro_f1s, mcnemar_exact, paired_comparison, percentile_interval, resample_draws,
    summary_with_intervals,
)


def noisy_predictions(
    seed: int, count: int = 200, classes: int = 5, keep: float = 0.6
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (count,), generator=generator)
    noise = torch.randint(0, classes, (count,), generator=generator)
    return labels, torch.where(torch.rand(count, generator=generator) < keep, labels, noise)


def test_resamples_repeat_with_the_seed_and_draw_every_image_count_times():
    first = resample_draws(50, 100, seed=3)
    assert first.shape == (100, 50) and first.min() >= 0 and (first.sum(1) == 50).all()
    assert torch.equal(first, first.round()) and (first == 0).any()  # whole draws, some images never drawn
    assert torch.equal(first, resample_draws(50, 100, seed=3))
    assert not torch.equal(first, resample_draws(50, 100, seed=4))


def test_metrics_of_the_identity_resample_agree_with_scikit_learn():
    labels, predicted = noisy_predictions(0)
    rows = predicted.view(1, -1)
    accuracy = (labels == predicted).double().mean().item()
    assert accuracies(labels, rows, each_once(200)).item() == pytest.approx(accuracy)
    macro_f1 = f1_score(labels, predicted, average="macro")
    assert macro_f1s(labels, rows, each_once(200), 5).item() == pytest.approx(macro_f1)
    absent = torch.tensor([0, 0, 1, 1])  # classes 2 to 4 never occur: left out of the mean, as scikit-learn does
    assert macro_f1s(absent, torch.tensor([[0, 1, 1, 1]]), each_once(4), 5).item() == pytest.approx(
        f1_score(absent, [0, 1, 1, 1], average="macro"))


def test_metrics_per_resample_follow_the_drawn_images():
    labels = torch.tensor([0, 1, 1, 0])
    predictions = torch.tensor([[0, 1, 0, 1]])  # right, right, wrong, wrong
    draws = torch.tensor([[2.0, 2, 0, 0], [0, 0, 2, 2], [2, 0, 2, 0]])  # images 0 and 1 twice, then 2 and 3, ...
    assert accuracies(labels, predictions, draws).tolist() == [1.0, 0.0, 0.5]


def test_several_seeds_are_averaged():
    labels = torch.tensor([0, 1, 1, 0])
    predictions = torch.tensor([[0, 1, 1, 0], [0, 1, 0, 1]])  # accuracy 1.0 and 0.5
    assert accuracies(labels, predictions, each_once(4)).item() == 0.75
    summary = summary_with_intervals(labels, predictions, 2, resample_draws(4, 200, seed=0))
    assert summary["accuracy"] == 0.75
    assert summary["accuracy_std"] == pytest.approx(torch.tensor([1.0, 0.5]).std().item(), abs=1e-4)


def test_percentile_interval_of_known_values():
    assert percentile_interval(torch.arange(101, dtype=torch.float64)) == (2.5, 97.5)


def test_intervals_contain_the_estimate_and_repeat_with_the_seed():
    labels, predicted = noisy_predictions(1)
    draws = resample_draws(200, 500, seed=7)
    summary = summary_with_intervals(labels, predicted.view(1, -1), 5, draws)
    for metric in ("accuracy", "macro_f1"):
        low, high = summary[f"{metric}_ci95"]
        assert 0.0 <= low < summary[metric] < high <= 1.0
    assert "accuracy_std" not in summary
    assert summary == summary_with_intervals(labels, predicted.view(1, -1), 5, resample_draws(200, 500, seed=7))
    # Roughly the normal-approximation half-width of a proportion near 0.68 on 200 images: 1.96 * 0.033.
    width = summary["accuracy_ci95"][1] - summary["accuracy_ci95"][0]
    assert 0.09 < width < 0.17


def test_mcnemar_exact_against_hand_computed_binomial_tails():
    def correct(pattern: str) -> torch.Tensor:
        return torch.tensor([c == "1" for c in pattern])

    # 0 vs 5 discordant images: 2 * (1/2)^5; 1 vs 4: 2 * (1 + 5) / 32.
    assert mcnemar_exact(correct("1111100"), correct("0000000")) == pytest.approx(0.0625)
    assert mcnemar_exact(correct("11110"), correct("00001")) == pytest.approx(0.375)
    assert mcnemar_exact(correct("1100"), correct("1100")) == 1.0  # no discordant image
    assert mcnemar_exact(correct("10"), correct("01")) == 1.0


def test_identical_predictions_differ_by_zero_with_p_one():
    labels, predicted = noisy_predictions(2)
    rows = predicted.view(1, -1)
    result = paired_comparison(labels, rows, rows, resample_draws(200, 300, seed=0))
    assert result == {"difference": 0.0, "difference_ci95": [0.0, 0.0], "p_value": 1.0, "p_value_per_seed": [1.0]}


def test_a_clearly_better_model_has_a_positive_interval_and_a_small_p():
    labels, weak = noisy_predictions(3, keep=0.3)
    strong = torch.where(torch.arange(200) % 10 == 0, weak, labels)  # right on 90 % of the images
    result = paired_comparison(labels, strong.view(1, -1), weak.view(1, -1), resample_draws(200, 500, seed=0))
    expected = (strong == labels).double().mean() - (weak == labels).double().mean()
    assert result["difference"] == pytest.approx(expected.item(), abs=1e-4)
    low, high = result["difference_ci95"]
    assert 0 < low < result["difference"] < high
    assert result["p_value"] < 1e-6
    swapped = paired_comparison(labels, weak.view(1, -1), strong.view(1, -1), resample_draws(200, 500, seed=0))
    assert swapped["difference"] == -result["difference"] and swapped["p_value"] == result["p_value"]


def test_with_several_seeds_the_least_significant_p_is_reported():
    labels = torch.zeros(10, dtype=torch.int64)
    a = torch.stack([torch.zeros(10, dtype=torch.int64), torch.tensor([0] * 6 + [1] * 4)])
    b = torch.ones(2, 10, dtype=torch.int64)
    result = paired_comparison(labels, a, b, resample_draws(10, 200, seed=0))
    assert result["p_value_per_seed"] == [round(2 / 2**10, 4), round(2 / 2**6, 4)]
    assert result["p_value"] == round(2 / 2**6, 4)
    assert result["difference"] == 0.8
