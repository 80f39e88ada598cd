"""`foodcnn diff`'s comparisons: verdicts on planted differences, paired and unpaired test sets, seeds, bad input."""

import random

import pytest
import torch
from scipy.stats import binomtest

from foodcnn.diff import render
from foodcnn.diff.compare import compare, pairing
from foodcnn.diff.revisions import RoleRun, Side, read_predictions
from foodcnn.errors import FoodCnnError
from foodcnn.statistics import mcnemar_exact

CLASSES = [f"class_{i}" for i in range(11)]


def image_list(count: int = 99, prefix: str = "") -> list[tuple[str, str]]:
    """(path, class) of a balanced test set."""
    return [(f"{prefix}{CLASSES[i % 11]}/{i:04d}.jpg", CLASSES[i % 11]) for i in range(count)]


def predictions(images: list[tuple[str, str]], accuracy: float, seed: int) -> list[str]:
    """Predicted classes that are right for about `accuracy` of the images, wrong (another class) otherwise."""
    draw = random.Random(seed)
    return [
        actual if draw.random() < accuracy else CLASSES[(CLASSES.index(actual) + draw.randrange(1, 11)) % 11]
        for _, actual in images
    ]


def with_changes(base: list[str], images: list[tuple[str, str]], right: int, wrong: int) -> list[str]:
    """`base` with `right` of its wrong predictions made right and `wrong` of its right ones made wrong."""
    changed = list(base)
    misses = [i for i, (_, actual) in enumerate(images) if base[i] != actual]
    hits = [i for i, (_, actual) in enumerate(images) if base[i] == actual]
    for i in misses[:right]:
        changed[i] = images[i][1]
    for i in hits[:wrong]:
        changed[i] = CLASSES[(CLASSES.index(images[i][1]) + 1) % 11]
    return changed


def role_run(images: list[tuple[str, str]], by_seed: dict[int, list[str]], **settings) -> RoleRun:
    paths, actual = zip(*images, strict=True)
    return RoleRun(paths, actual, {seed: tuple(predicted) for seed, predicted in by_seed.items()}, settings)


def side(name: str, **roles: RoleRun) -> Side:
    return Side(name, None, roles)


def test_a_large_planted_improvement_is_b_better():
    images = image_list()
    base = predictions(images, 0.4, seed=0)
    result = compare(
        side("a", basic=role_run(images, {42: base})),
        side("b", basic=role_run(images, {42: with_changes(base, images, right=30, wrong=0)})),
    )
    row = result["roles"]["basic"]
    models = row["trained_models"]
    assert row["paired"] and models["verdict"] == "B better (these models)" and models["p_value"] < 0.01
    assert row["accuracy"]["difference"] == pytest.approx(30 / 99, abs=1e-4)
    low, high = models["accuracy_ci95"]
    assert 0 < low < 30 / 99 < high
    reverse = compare(
        side("b", basic=role_run(images, {42: with_changes(base, images, 30, 0)})),
        side("a", basic=role_run(images, {42: base})),
    )
    assert reverse["roles"]["basic"]["trained_models"]["verdict"] == "A better (these models)"


def test_identical_predictions_differ_by_nothing_with_p_one():
    images = image_list()
    run_ = role_run(images, {42: predictions(images, 0.5, seed=1)})
    row = compare(side("a", basic=run_), side("b", basic=run_))["roles"]["basic"]
    assert row["accuracy"]["difference"] == 0 and row["trained_models"]["accuracy_ci95"] == [0.0, 0.0]
    assert row["trained_models"]["p_value"] == 1.0 and row["trained_models"]["verdict"] == "no evidence either way"


def test_a_small_change_on_99_images_is_no_evidence():
    images = image_list()
    base = predictions(images, 0.5, seed=2)
    changed = with_changes(base, images, right=6, wrong=2)  # +4 images, +4 points
    row = compare(side("a", basic=role_run(images, {42: base})), side("b", basic=role_run(images, {42: changed})))[
        "roles"
    ]["basic"]
    assert row["accuracy"]["difference"] == pytest.approx(4 / 99, abs=1e-4)
    assert row["trained_models"]["verdict"] == "no evidence either way" and row["trained_models"]["p_value"] > 0.05
    assert row["trained_models"]["accuracy_ci95"][0] < 0 < row["trained_models"]["accuracy_ci95"][1]


@pytest.mark.parametrize("only_a, only_b", [(0, 0), (3, 9), (12, 2), (0, 7), (25, 40)])
def test_mcnemar_agrees_with_a_binomial_test_on_the_discordant_pairs(only_a, only_b):
    both = 30
    correct_a = torch.tensor([True] * both + [True] * only_a + [False] * only_b + [False] * 20)
    correct_b = torch.tensor([True] * both + [False] * only_a + [True] * only_b + [False] * 20)
    expected = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    assert mcnemar_exact(correct_a, correct_b) == pytest.approx(expected)


def test_different_test_images_are_never_paired():
    images, other = image_list(), image_list(prefix="resplit/")
    base = predictions(images, 0.5, seed=3)
    result = compare(side("a", basic=role_run(images, {42: base})), side("b", basic=role_run(other, {42: base})))
    row = result["roles"]["basic"]
    assert not row["paired"] and row["test_images"] == [99, 99] and row["left_out"] == [0, 0]
    assert row["accuracy"]["difference"] == 0 and row["trained_models"]["p_value"] == 1.0
    assert row["trained_models"]["test"] == "bootstrap"  # McNemar needs the same images
    relabelled = [(path, CLASSES[0]) for path, _ in images]
    assert pairing(role_run(images, {42: base}), role_run(relabelled, {42: base})) is None


def test_pairing_follows_the_image_paths_not_the_row_order():
    images = image_list()
    base = predictions(images, 0.5, seed=4)
    reordered = role_run(list(reversed(images)), {42: list(reversed(base))})
    row = compare(side("a", basic=role_run(images, {42: base})), side("b", basic=reordered))["roles"]["basic"]
    assert row["paired"] and row["accuracy"]["difference"] == 0 and row["trained_models"]["p_value"] == 1.0


def test_a_missing_row_leaves_its_image_out_of_the_pairing_not_the_role():
    images = image_list()
    base = predictions(images, 0.4, seed=9)
    better = with_changes(base, images, right=12, wrong=0)
    result = compare(
        side("a", basic=role_run(images[1:], {42: base[1:]})), side("b", basic=role_run(images, {42: better}))
    )
    row = result["roles"]["basic"]
    assert row["paired"] and row["test_images"] == [98, 99] and row["left_out"] == [0, 1]
    fixed = sum(b != a and b == actual for a, b, (_, actual) in zip(base[1:], better[1:], images[1:], strict=True))
    assert row["trained_models"]["test"] == "McNemar exact"  # on the 98 shared images, of which `fixed` B fixed
    assert row["trained_models"]["p_value"] == pytest.approx(2 / 2**fixed, rel=1e-3) and fixed >= 11
    assert "basic: paired on the 98 test images both sides scored; left out 0 of A's 98 and 1 of B's 99." in (
        render.markdown([result], [])
    )


def test_several_seeds_give_each_models_accuracy_and_a_procedure_verdict():
    images = image_list()
    a_runs = {seed: predictions(images, 0.4, seed=seed) for seed in (42, 43, 44)}
    b_runs = {seed: with_changes(a_runs[seed], images, right=20 + seed - 42, wrong=0) for seed in (42, 43, 44)}
    result = compare(side("a", basic=role_run(images, a_runs)), side("b", basic=role_run(images, b_runs)))
    row = result["roles"]["basic"]
    accuracy_a = {
        seed: sum(p == a for p, (_, a) in zip(run_, images, strict=True)) / 99 for seed, run_ in a_runs.items()
    }
    assert row["seed_accuracy"]["a"] == pytest.approx(accuracy_a, abs=1e-4) and row["seeds"] == [3, 3]
    assert row["accuracy"]["difference"] == pytest.approx(21 / 99, abs=1e-4)  # the mean over seeds
    assert row["trained_models"]["test"] == "bootstrap"
    assert row["procedures"]["verdict"] == "B better (procedure)"
    text = render.markdown([result], [])
    assert "| basic | 3 | 3 | +21.2 [" in text and "| B better (procedure) |" in text
    assert "| basic | 42: " in text  # each model's accuracy


def test_holm_adjusted_p_values_decide_the_verdicts_of_several_roles():
    images = image_list()
    base = predictions(images, 0.4, seed=5)
    a = side("a", **{role: role_run(images, {42: base}) for role in ("basic", "residual", "mobilenet_A")})
    b = side(
        "b",
        basic=role_run(images, {42: with_changes(base, images, 30, 0)}),
        residual=role_run(images, {42: with_changes(base, images, 6, 0)}),
        mobilenet_A=role_run(images, {42: with_changes(base, images, 6, 0)}),
    )
    roles = compare(a, b)["roles"]
    # 6 images fixed, none broken: p = 2 / 2**6 alone, but twice that as the second smallest of three.
    assert roles["residual"]["trained_models"]["p_value"] == pytest.approx(2 / 64, abs=1e-3)
    assert (
        roles["residual"]["trained_models"]["p_holm"]
        == roles["mobilenet_A"]["trained_models"]["p_holm"]
        == (pytest.approx(4 / 64, abs=1e-3))
    )
    assert roles["residual"]["trained_models"]["verdict"] == "no evidence either way"
    assert roles["basic"]["trained_models"]["verdict"] == "B better (these models)"


def test_a_row_says_what_changed_and_roles_on_one_side_are_listed():
    images = image_list()
    base = role_run(images, {42: predictions(images, 0.5, seed=6)}, lr=0.001)
    result = compare(
        side("a", basic=base, mobilenet_A=base),
        side("b", basic=role_run(images, base.predicted, lr=0.01), residual=base),
    )
    assert result["roles"]["basic"]["changed"] == "lr 0.001 -> 0.01"
    assert result["only_in_a"] == ["mobilenet_A"] and result["only_in_b"] == ["residual"]


def test_a_predictions_file_reads_into_paths_classes_and_seeds():
    text = (
        "seed,image,path,actual,predicted,confidence\n42,0,a/1.jpg,a,b,0.5\n42,1,b/2.jpg,b,b,0.9\n"
        "43,1,b/2.jpg,b,a,0.6\n43,0,a/1.jpg,a,a,0.7\n"
    )
    assert read_predictions(text, "x.csv") == (("a/1.jpg", "b/2.jpg"), ("a", "b"), {42: ("b", "b"), 43: ("a", "a")})
    with pytest.raises(Exception, match="x.csv: not a predictions file"):
        read_predictions("image,path\n0,a.jpg\n", "x.csv")


def test_an_unknown_class_is_named_with_its_file_and_line():
    text = "seed,image,path,actual,predicted,confidence\n42,0,a/1.jpg,a,b,0.5\n42,1,b/2.jpg,b,pizzza,0.9\n"
    with pytest.raises(
        FoodCnnError,
        match=r"^x.csv, line 3: unknown class 'pizzza' in column predicted \(the test "
        r"set's classes: a, b\)$",
    ):
        read_predictions(text, "x.csv")
    with pytest.raises(FoodCnnError, match="line 2: unknown class 'a' in column actual"):
        read_predictions(text.replace(",pizzza,", ",b,"), "x.csv", frozenset({"b", "c"}))
