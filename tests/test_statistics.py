import pytest
import torch
from sklearn.metrics import f1_score

from foodcnn import statistics
from foodcnn.statistics import (
    Resampling,
    accuracies,
    bootstrap_p_value,
    each_once,
    holm,
    macro_f1s,
    mcnemar_exact,
    over_resamples,
    percentile_interval,
    summary_with_intervals,
)


def resample_draws(count: int, resamples: int, seed: int) -> torch.Tensor:
    return torch.cat(list(Resampling(count, resamples, seed).chunks()))


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


def test_resamples_come_in_bounded_chunks_that_do_not_change_the_draws(monkeypatch):
    whole = resample_draws(50, 100, seed=3)
    monkeypatch.setattr(statistics, "CHUNK_CELLS", 7 * 50)
    chunks = list(Resampling(50, 100, seed=3).chunks())
    assert [len(chunk) for chunk in chunks] == [7] * 14 + [2]
    assert torch.equal(torch.cat(chunks), whole)
    labels, predicted = noisy_predictions(5, count=50)
    accuracy, total = over_resamples(
        [lambda draws: accuracies(labels, predicted.view(1, -1), draws), lambda draws: draws.sum(1)],
        Resampling(50, 100, seed=3),
    )
    assert torch.equal(accuracy, accuracies(labels, predicted.view(1, -1), whole)) and (total == 50).all()


def test_a_million_resamples_of_2750_images_hold_16_mb_of_draws_at_a_time():
    first = next(Resampling(2750, 10**6, seed=0).chunks())  # 11 GB at once
    assert first.numel() * first.element_size() <= 16 * 2**20 and len(first) == statistics.CHUNK_CELLS // 2750


def test_metrics_of_the_identity_resample_agree_with_scikit_learn():
    labels, predicted = noisy_predictions(0)
    rows = predicted.view(1, -1)
    accuracy = (labels == predicted).double().mean().item()
    assert accuracies(labels, rows, each_once(200)).item() == pytest.approx(accuracy)
    macro_f1 = f1_score(labels, predicted, average="macro")
    assert macro_f1s(labels, rows, each_once(200), 5).item() == pytest.approx(macro_f1)
    absent = torch.tensor([0, 0, 1, 1])  # classes 2 to 4 never occur: left out of the mean, as scikit-learn does
    assert macro_f1s(absent, torch.tensor([[0, 1, 1, 1]]), each_once(4), 5).item() == pytest.approx(
        f1_score(absent, [0, 1, 1, 1], average="macro")
    )


def test_metrics_per_resample_follow_the_drawn_images():
    labels = torch.tensor([0, 1, 1, 0])
    predictions = torch.tensor([[0, 1, 0, 1]])  # right, right, wrong, wrong
    draws = torch.tensor([[2.0, 2, 0, 0], [0, 0, 2, 2], [2, 0, 2, 0]])  # images 0 and 1 twice, then 2 and 3, ...
    assert accuracies(labels, predictions, draws).tolist() == [1.0, 0.0, 0.5]


def test_several_seeds_are_averaged():
    labels = torch.tensor([0, 1, 1, 0])
    predictions = torch.tensor([[0, 1, 1, 0], [0, 1, 0, 1]])  # accuracy 1.0 and 0.5
    assert accuracies(labels, predictions, each_once(4)).item() == 0.75
    summary = summary_with_intervals(labels, predictions, 2, Resampling(4, 200, seed=0))
    assert summary["accuracy"] == 0.75
    assert summary["accuracy_std"] == pytest.approx(torch.tensor([1.0, 0.5]).std().item(), abs=1e-4)


def test_percentile_interval_of_known_values():
    assert percentile_interval(torch.arange(101, dtype=torch.float64)) == (2.5, 97.5)


def test_intervals_contain_the_estimate_and_repeat_with_the_seed():
    labels, predicted = noisy_predictions(1)
    summary = summary_with_intervals(labels, predicted.view(1, -1), 5, Resampling(200, 500, seed=7))
    for metric in ("accuracy", "macro_f1"):
        low, high = summary[f"{metric}_ci95"]
        assert 0.0 <= low < summary[metric] < high <= 1.0
    assert "accuracy_std" not in summary
    assert summary == summary_with_intervals(labels, predicted.view(1, -1), 5, Resampling(200, 500, seed=7))
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


def test_bootstrap_p_value_counts_resamples_as_far_from_the_observed_as_zero_is():
    resampled = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4])  # shifted by -0.2: -0.2, -0.1, 0, 0.1, 0.2
    assert bootstrap_p_value(0.2, resampled) == pytest.approx((2 + 1) / 6)
    assert bootstrap_p_value(0.0, torch.zeros(9)) == 1.0


def test_holm_adjusts_step_down_and_keeps_the_order():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == []
