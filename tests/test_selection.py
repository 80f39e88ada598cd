from foodcnn.params import GridParams
from foodcnn.runs import run_name
from foodcnn.selection import best_by_validation, select_winners


def test_the_highest_validation_accuracy_wins():
    metrics = {"a": {"val_accuracy": 0.5, "val_loss": 1.0}, "b": {"val_accuracy": 0.7, "val_loss": 2.0}}
    assert best_by_validation(metrics) == "b"


def test_ties_go_to_the_lower_loss_then_the_name():
    assert best_by_validation({
        "a": {"val_accuracy": 0.7, "val_loss": 1.5}, "b": {"val_accuracy": 0.7, "val_loss": 1.0},
    }) == "b"
    assert best_by_validation({
        "b": {"val_accuracy": 0.7, "val_loss": 1.0}, "a": {"val_accuracy": 0.7, "val_loss": 1.0},
    }) == "a"


def test_select_winners_per_model_and_table_of_all_runs():
    grid = GridParams(model=("basic", "residual"), lr=(0.1, 0.001), batch_size=(32,))
    accuracy = {("basic", 0.1): 0.1, ("basic", 0.001): 0.6, ("residual", 0.1): 0.4, ("residual", 0.001): 0.3}
    metrics = {run_name(m, lr, 32): {"val_accuracy": a, "val_loss": 1.0, "best_epoch": 2} for (m, lr), a in accuracy.items()}
    winners, table = select_winners(grid, metrics)
    assert winners == {
        "basic": {"run": "basic_lr0.001_bs32", "lr": 0.001, "batch_size": 32, "val_accuracy": 0.6},
        "residual": {"run": "residual_lr0.1_bs32", "lr": 0.1, "batch_size": 32, "val_accuracy": 0.4},
    }
    assert len(table) == 4
    assert [row["run"] for row in table if row["selected"]] == ["basic_lr0.001_bs32", "residual_lr0.1_bs32"]


def test_run_names_match_dvc_yaml_interpolation():
    assert run_name("basic", 0.001, 32) == "basic_lr0.001_bs32"
    assert run_name("residual", 0.1, 64) == "residual_lr0.1_bs64"
    assert run_name("basic", 0.01, 32, dropout=0.3) == "basic_dropout0.3"
    assert run_name("mobilenet", 0.0005, 32, case="B") == "mobilenet_B"
