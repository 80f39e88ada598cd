"""Choosing runs on validation accuracy alone: the grid winner per model, the best dropout p."""

from foodcnn.params import GridParams
from foodcnn.runs import run_name


def best_by_validation(metrics: dict[str, dict]) -> str:
    """The run with the highest validation accuracy; ties go to the lower validation loss, then the name."""
    return min(metrics, key=lambda name: (-metrics[name]["val_accuracy"], metrics[name]["val_loss"], name))


def grid_runs(grid: GridParams) -> dict[str, list[dict]]:
    """Every grid configuration, per model, as dicts with run, lr and batch_size."""
    return {
        model: [
            {"run": run_name(model, lr, batch_size), "lr": lr, "batch_size": batch_size}
            for lr in grid.lr
            for batch_size in grid.batch_size
        ]
        for model in grid.model
    }


def select_winners(grid: GridParams, metrics: dict[str, dict]) -> tuple[dict[str, dict], list[dict]]:
    """The winner per model and the table of all grid runs, given each run's metrics by name."""
    winners = {}
    table = []
    for model, runs in grid_runs(grid).items():
        best = best_by_validation({run["run"]: metrics[run["run"]] for run in runs})
        for run in runs:
            row = {"model": model, **run, **metrics[run["run"]], "selected": run["run"] == best}
            table.append(row)
            if run["run"] == best:
                winners[model] = {k: row[k] for k in ("run", "lr", "batch_size", "val_accuracy")}
    return winners, table
