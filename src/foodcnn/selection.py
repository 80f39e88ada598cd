"""Choosing on validation accuracy alone: the grid winner per model, the best dropout p, the study's comparisons."""

from collections.abc import Hashable
from dataclasses import dataclass, replace
from statistics import mean, stdev
from typing import TypeVar

from foodcnn.history import best_record, read_history
from foodcnn.layout import RunFiles, require
from foodcnn.params import GridParams, Params
from foodcnn.roles import dropout_role, finetune_role, model_title, study_labels
from foodcnn.runs import config_name, run_name

Key = TypeVar("Key", bound=Hashable)


def best_by_validation(metrics: dict[Key, dict]) -> Key:
    """The key with the highest validation accuracy; ties go to the lower validation loss, then the key."""
    return min(metrics, key=lambda name: (-metrics[name]["val_accuracy"], metrics[name]["val_loss"], name))


def run_summary(files: RunFiles) -> dict:
    """A run's best epoch and its validation numbers, from its history."""
    require(files.history)
    best = best_record(read_history(files.history))
    return {"best_epoch": best.epoch, "val_accuracy": best.val_accuracy, "val_loss": best.val_loss}


def over_seeds(runs: list[dict]) -> dict:
    """A configuration's validation numbers over its runs (one per seed): means, accuracy std, best epochs."""
    accuracy = [run["val_accuracy"] for run in runs]
    return {
        "val_accuracy": round(mean(accuracy), 4),
        "val_accuracy_std": round(stdev(accuracy), 4) if len(accuracy) > 1 else 0.0,
        "val_loss": round(mean(run["val_loss"] for run in runs), 4),
        "best_epoch": " / ".join(str(run["best_epoch"]) for run in runs),
    }


def grid_configs(grid: GridParams) -> dict[str, list[dict]]:
    """Every grid configuration, per model, as dicts with config, lr and batch_size."""
    return {
        model: [
            {"config": config_name(model, lr, batch_size), "lr": lr, "batch_size": batch_size}
            for lr in grid.lr
            for batch_size in grid.batch_size
        ]
        for model in grid.model
    }


def select_winners(grid: GridParams, metrics: dict[str, dict]) -> tuple[dict[str, dict], list[dict]]:
    """The winner per model (mean validation accuracy over grid.seeds) and the table of all grid configurations,
    given each run's metrics by run name."""
    winners = {}
    table = []
    for model, configs in grid_configs(grid).items():
        summaries = {
            c["config"]: over_seeds([metrics[run_name(c["config"], seed)] for seed in grid.seeds]) for c in configs
        }
        best = best_by_validation(summaries)
        for config in configs:
            row = {"model": model, **config, **summaries[config["config"]], "selected": config["config"] == best}
            table.append(row)
            if config["config"] == best:
                winners[model] = {k: row[k] for k in ("config", "lr", "batch_size", "val_accuracy")}
    return winners, table


@dataclass(frozen=True)
class Comparison:
    """A question on the test set: is model `b` better than model `a` (study keys)? As in `foodcnn diff`, `a` is
    the baseline and a difference is B minus A.

    `key` names the question, not its answer: it stays the same whichever models the validation set picks.
    """

    key: str
    title: str
    a: str
    b: str


@dataclass(frozen=True)
class StudyModel:
    """A model the study evaluates on the test set: its runs (one per seed, in params order), their validation
    numbers over seeds (over_seeds), and for a dropout retrain the p chosen on validation."""

    runs: list[RunFiles]
    validation: dict
    dropout: float = 0.0


def configuration(group: str, config: str, seeds: tuple[int, ...]) -> StudyModel:
    """One configuration's runs and validation numbers, from their histories."""
    runs = [RunFiles.of(group, run_name(config, seed)) for seed in seeds]
    return StudyModel(runs, over_seeds([run_summary(run) for run in runs]))


def dropout_retrains(params: Params) -> dict[str, dict[float, StudyModel]]:
    """Every dropout retrain: model -> p -> its runs and validation numbers."""
    return {
        model: {
            p: configuration("dropout", config_name(model, 0.0, 0, dropout=p), params.train.seeds)
            for p in params.dropout
        }
        for model in params.grid.model
    }


def study_models(params: Params) -> dict[str, StudyModel]:
    """The study's models by role, each trained once per train.seeds: each grid winner's configuration trained
    again ('basic'), its dropout retrain at the p with the best validation accuracy ('basic_dropout'), and each
    fine-tune case ('mobilenet_A').

    Roles, not run names, key every test-set metric and file, so the files a run writes are the same whatever
    the seeds, the p values or the winners: a workspace switched to another experiment keeps none of them.
    """
    seeds = params.train.seeds
    retrains = dropout_retrains(params)
    models = {}
    for model in params.grid.model:
        models[model] = configuration("winner", config_name(model, 0.0, 0, winner=True), seeds)
        best = best_by_validation({p: retrain.validation for p, retrain in retrains[model].items()})
        models[dropout_role(model)] = replace(retrains[model][best], dropout=best)
    for case in params.finetune.cases:
        models[finetune_role(case)] = configuration("finetune", finetune_role(case), seeds)
    return models


def scratch_and_transfer(params: Params) -> tuple[list[str], list[str]]:
    """The roles of the from-scratch models (grid winners, dropout retrains) and of the fine-tunes."""
    models = params.grid.model
    return ([*models, *map(dropout_role, models)], [finetune_role(case) for case in params.finetune.cases])


def best_models(params: Params, validation: dict[str, dict]) -> tuple[str, str]:
    """The best from-scratch model and the best fine-tune, on validation accuracy."""
    scratch, transfer = scratch_and_transfer(params)
    return (
        best_by_validation({key: validation[key] for key in scratch}),
        best_by_validation({key: validation[key] for key in transfer}),
    )


def study_comparisons(params: Params, validation: dict[str, dict]) -> list[Comparison]:
    """Each from-scratch model vs every one before it in grid.model (residual_vs_basic), each model with vs
    without dropout, each fine-tune case vs the first, and the best transfer model vs the best from-scratch
    model; every "best" is chosen on `validation` (role -> mean validation metrics), never on the test set."""
    models = params.grid.model
    comparisons = [
        Comparison(f"{b}_vs_{a}", f"{model_title(b)} vs {model_title(a)} (grid winners)", a, b)
        for index, a in enumerate(models)
        for b in models[index + 1 :]
    ]
    for model in params.grid.model:
        comparisons.append(
            Comparison(
                f"{model}_dropout_vs_{model}",
                f"{model_title(model)}: with vs without dropout (p chosen on validation)",
                model,
                dropout_role(model),
            )
        )
    _, cases = scratch_and_transfer(params)
    labels = study_labels(params)
    for case in cases[1:]:
        comparisons.append(
            Comparison(f"{case}_vs_{cases[0]}", f"Fine-tune {labels[case]} vs {labels[cases[0]]}", cases[0], case)
        )
    best_scratch, best_transfer = best_models(params, validation)
    comparisons.append(
        Comparison("transfer_vs_scratch", "Best transfer vs best from scratch", best_scratch, best_transfer)
    )
    return comparisons
