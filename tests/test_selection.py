from dataclasses import replace
from pathlib import Path

import pytest

from foodcnn.history import EpochRecord, write_history
from foodcnn.layout import RunFiles
from foodcnn.params import GridParams, Params, load
from foodcnn.roles import study_labels
from foodcnn.runs import config_name, run_name
from foodcnn.selection import best_by_validation, over_seeds, select_winners, study_comparisons, study_models
from tests.conftest import REPO


def test_the_highest_validation_accuracy_wins():
    metrics = {"a": {"val_accuracy": 0.5, "val_loss": 1.0}, "b": {"val_accuracy": 0.7, "val_loss": 2.0}}
    assert best_by_validation(metrics) == "b"


def test_ties_go_to_the_lower_loss_then_the_name():
    assert (
        best_by_validation(
            {
                "a": {"val_accuracy": 0.7, "val_loss": 1.5},
                "b": {"val_accuracy": 0.7, "val_loss": 1.0},
            }
        )
        == "b"
    )
    assert (
        best_by_validation(
            {
                "b": {"val_accuracy": 0.7, "val_loss": 1.0},
                "a": {"val_accuracy": 0.7, "val_loss": 1.0},
            }
        )
        == "a"
    )


def test_select_winners_per_model_and_table_of_all_configurations():
    grid = GridParams(model=("basic", "residual"), lr=(0.1, 0.001), batch_size=(32,), seeds=(1,))
    accuracy = {("basic", 0.1): 0.1, ("basic", 0.001): 0.6, ("residual", 0.1): 0.4, ("residual", 0.001): 0.3}
    metrics = {
        run_name(config_name(m, lr, 32), 1): {"val_accuracy": a, "val_loss": 1.0, "best_epoch": 2}
        for (m, lr), a in accuracy.items()
    }
    winners, table = select_winners(grid, metrics)
    assert winners == {
        "basic": {"config": "basic_lr0.001_bs32", "lr": 0.001, "batch_size": 32, "val_accuracy": 0.6},
        "residual": {"config": "residual_lr0.1_bs32", "lr": 0.1, "batch_size": 32, "val_accuracy": 0.4},
    }
    assert len(table) == 4
    assert [row["config"] for row in table if row["selected"]] == ["basic_lr0.001_bs32", "residual_lr0.1_bs32"]


def test_with_several_seeds_the_mean_validation_accuracy_selects():
    grid = GridParams(model=("basic",), lr=(0.1, 0.01), batch_size=(32,), seeds=(1, 2))
    # lr 0.1 has the single best run, lr 0.01 the better mean.
    runs = {(0.1, 1): 0.9, (0.1, 2): 0.1, (0.01, 1): 0.6, (0.01, 2): 0.6}
    metrics = {
        run_name(config_name("basic", lr, 32), seed): {"val_accuracy": a, "val_loss": 1.0, "best_epoch": seed}
        for (lr, seed), a in runs.items()
    }
    winners, table = select_winners(grid, metrics)
    assert winners["basic"]["config"] == "basic_lr0.01_bs32" and winners["basic"]["val_accuracy"] == 0.6
    assert table[0]["val_accuracy"] == 0.5 and table[0]["val_accuracy_std"] == pytest.approx(0.5657, abs=1e-4)
    assert table[0]["best_epoch"] == "1 / 2"


def test_over_one_seed_the_numbers_are_the_run_itself():
    assert over_seeds([{"val_accuracy": 0.5, "val_loss": 1.2, "best_epoch": 3}]) == {
        "val_accuracy": 0.5,
        "val_accuracy_std": 0.0,
        "val_loss": 1.2,
        "best_epoch": "3",
    }


def test_names_match_dvc_yaml_interpolation():
    assert config_name("basic", 0.001, 32) == "basic_lr0.001_bs32"
    assert config_name("residual", 0.1, 64) == "residual_lr0.1_bs64"
    assert config_name("basic", 0.01, 32, dropout=0.3) == "basic_dropout0.3"
    assert config_name("mobilenet", 0.0005, 32, case="B") == "mobilenet_B"
    assert run_name("basic_lr0.001_bs32", 42) == "basic_lr0.001_bs32_seed42"


def test_study_labels_name_every_role_in_table_order():
    assert study_labels(load(REPO / "params.yaml")) == {
        "basic": "BasicCNN",
        "basic_dropout": "BasicCNN + dropout",
        "residual": "ResidualCNN",
        "residual_dropout": "ResidualCNN + dropout",
        "mobilenet_A": "MobileNetV2 A",
        "mobilenet_B": "MobileNetV2 B",
    }


def test_the_study_comparisons_choose_every_best_on_validation():
    params = load(REPO / "params.yaml")  # cases A and B

    def scores(accuracy: float) -> dict:
        return {"val_accuracy": accuracy, "val_loss": 1.0}

    validation = {
        "basic": scores(0.5),
        "residual": scores(0.55),
        "basic_dropout": scores(0.52),
        "residual_dropout": scores(0.6),
        "mobilenet_A": scores(0.3),
        "mobilenet_B": scores(0.2),
    }
    pairs = [(c.a, c.b) for c in study_comparisons(params, validation)]
    assert pairs == [
        ("basic", "residual"),
        ("basic", "basic_dropout"),
        ("residual", "residual_dropout"),
        ("mobilenet_A", "mobilenet_B"),
        ("residual_dropout", "mobilenet_A"),
    ]  # baseline first
    validation["basic"] = scores(0.7)
    assert study_comparisons(params, validation)[-1].a == "basic"


def test_the_from_scratch_models_are_compared_in_pairs_in_grid_order(toy_architecture):
    params = load(REPO / "params.yaml")
    params = replace(params, grid=replace(params.grid, model=("basic", "residual", toy_architecture)))
    validation = {role: {"val_accuracy": 0.5, "val_loss": 1.0} for role in study_labels(params)}
    comparisons = study_comparisons(params, validation)
    assert [(c.key, c.a, c.b) for c in comparisons[:3]] == [
        ("residual_vs_basic", "basic", "residual"),
        ("toy_vs_basic", "basic", "toy"),
        ("toy_vs_residual", "residual", "toy"),
    ]
    assert comparisons[2].title == "ToyCNN vs ResidualCNN (grid winners)"
    assert "toy_dropout_vs_toy" in [c.key for c in comparisons]


def save_history(path: Path, val_accuracies: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_history(
        path, [EpochRecord(epoch, 1.0, 0.5, 1.0, accuracy) for epoch, accuracy in enumerate(val_accuracies, 1)]
    )


@pytest.fixture
def trained(tmp_path, monkeypatch) -> Params:
    """Histories of a study with one grid configuration per model, dropout p 0.3 and 0.5, seeds 1 and 2."""
    monkeypatch.chdir(tmp_path)
    params = load(REPO / "params.yaml")
    params = replace(
        params,
        train=replace(params.train, seeds=(1, 2)),
        grid=GridParams(model=("basic", "residual"), lr=(0.01,), batch_size=(32,), seeds=(7,)),
    )
    # BasicCNN: p 0.3 is the better mean; ResidualCNN: p 0.5, although p 0.3 has the single best run.
    accuracy = {
        ("basic", 0.3): (0.5, 0.5),
        ("basic", 0.5): (0.4, 0.4),
        ("residual", 0.3): (0.9, 0.1),
        ("residual", 0.5): (0.6, 0.6),
    }
    for (model, p), per_seed in accuracy.items():
        for seed, value in zip((1, 2), per_seed, strict=True):
            save_history(
                RunFiles.of("dropout", run_name(config_name(model, 0.0, 0, dropout=p), seed)).history,
                [value / 2, value],
            )
    for config in ("basic_winner", "residual_winner", "mobilenet_A", "mobilenet_B"):
        group = "finetune" if config.startswith("mobilenet") else "winner"
        for seed in (1, 2):
            save_history(RunFiles.of(group, run_name(config, seed)).history, [0.3])
    return params


def test_study_models_are_keyed_by_role_with_the_dropout_p_chosen_on_mean_validation_accuracy(trained):
    models = study_models(trained)
    assert list(models) == ["basic", "basic_dropout", "residual", "residual_dropout", "mobilenet_A", "mobilenet_B"]
    assert models["basic_dropout"].dropout == 0.3 and models["residual_dropout"].dropout == 0.5
    assert [run.history.name for run in models["residual_dropout"].runs] == [
        "residual_dropout0.5_seed1.tsv",
        "residual_dropout0.5_seed2.tsv",
    ]
    assert models["residual_dropout"].validation["val_accuracy"] == 0.6
    # The grid winner's role is its configuration trained again at train.seeds, not the grid's run (seed 7).
    assert models["basic"].dropout == 0.0 and models["basic"].runs[0].model.as_posix() == (
        "models/winner/basic_winner_seed1.pt"
    )
