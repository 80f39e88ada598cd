"""Run-cache entries against their training runs: a poisoned entry is named, a sound one is not."""

from pathlib import Path

import pytest
import torch
import yaml

from foodcnn.checkpoint import save_checkpoint
from foodcnn.history import EpochRecord, write_history
from foodcnn.integrity import file_md5, object_path
from foodcnn.models import ModelSpec
from foodcnn.runcache import check, claims
from foodcnn.runs import RunConfig

TRAIN = "python stages/train.py --model basic --lr 0.01 --batch-size 8 --seed 42"


def cached(cache: Path, write) -> str:
    """Write a file with `write(path)`, move it into the cache as DVC names it, return its md5."""
    scratch = cache.parent / "scratch"
    write(scratch)
    md5 = file_md5(scratch)
    object_path(cache, md5).parent.mkdir(parents=True, exist_ok=True)
    scratch.rename(object_path(cache, md5))
    return md5


def trained_run(cache: Path, config: RunConfig, rows: int) -> list[dict]:
    """The outs of a run-cache entry: a checkpoint of `config` and a history of `rows` epochs, both cached."""
    spec = ModelSpec("basic", 3, 0.0, 0)
    state = {"weight": torch.zeros(1)}
    model = cached(cache, lambda path: save_checkpoint(path, state, spec, ("a", "b", "c"), config))
    records = [EpochRecord(epoch, 1.0, 0.5, 1.0, 0.5) for epoch in range(1, rows + 1)]
    history = cached(cache, lambda path: write_history(path, records))
    return [
        {"path": "models/grid/basic_lr0.01_bs8_seed42.pt", "hash": "md5", "md5": model},
        {"path": "plots/history/grid/basic_lr0.01_bs8_seed42.tsv", "hash": "md5", "md5": history},
    ]


def entry(runs: Path, name: str, command: str, params: dict, outs: list[dict]) -> Path:
    path = runs / name[:2] / name / "value"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"cmd": command, "params": {"params.yaml": params}, "outs": outs}))
    return path


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    return tmp_path / "runs", tmp_path / "cache"


def test_an_entry_whose_epochs_are_not_its_runs_is_named_with_both_numbers(folders):
    runs, cache = folders
    outs = trained_run(cache, RunConfig("basic", 0.01, 8, 8, 42), rows=8)
    sound = entry(runs, "aa11", TRAIN, {"threads": 1, "train.epochs": 8}, outs)
    poisoned = entry(runs, "bb22", TRAIN, {"threads": 1, "train.epochs": 6}, outs)  # the new params, the old run
    read, found = check(runs, cache)
    assert read == 2 and [item.entry for item in found] == [poisoned] != [sound]
    reasons = found[0].reasons
    assert reasons == (
        "its epochs is 6 but models/grid/basic_lr0.01_bs8_seed42.pt was trained with 8",
        "its epochs is 6 but plots/history/grid/basic_lr0.01_bs8_seed42.tsv has 8 epochs",
    )
    assert f"`rm {poisoned}`" in found[0].line(runs) and "runs/bb/bb22/value on the remote" in found[0].line(runs)


def test_the_options_of_the_command_are_checked_too(folders):
    runs, cache = folders
    outs = trained_run(cache, RunConfig("basic", 0.001, 8, 8, 42), rows=8)
    entry(runs, "cc33", TRAIN, {"train.epochs": 8}, outs)
    _, found = check(runs, cache)
    assert found[0].reasons == ("its lr is 0.01 but models/grid/basic_lr0.01_bs8_seed42.pt was trained with 0.001",)


def test_entries_that_cannot_be_checked_are_not_named(folders):
    runs, cache = folders
    outs = trained_run(cache, RunConfig("basic", 0.01, 8, 8, 42), rows=8)
    entry(runs, "dd44", "python stages/evaluate.py", {"evaluate": {"bootstrap_resamples": 10}}, outs)
    missing = [{**out, "md5": "0" * 32} for out in outs]  # objects this cache does not hold
    entry(runs, "ee55", TRAIN, {"train.epochs": 6}, missing)
    assert check(runs, cache) == (2, [])


@pytest.mark.parametrize(
    ("command", "params", "expected"),
    [
        (
            "python stages/dropout.py --model basic --p 0.5 --seed 7",
            {"lr": "auto", "train.epochs": 3},
            {"model": "basic", "dropout": "0.5", "seed": "7", "epochs": 3},
        ),
        (
            "python stages/dropout.py --model basic --p 0.5 --seed 7",
            {"lr": 0.01, "train.epochs": 3},
            {"model": "basic", "dropout": "0.5", "seed": "7", "epochs": 3, "lr": 0.01},
        ),
        (
            "python stages/finetune.py --case B --seed 42",
            {"finetune.epochs": 5, "finetune.lr": 0.0005, "finetune.batch_size": 32, "finetune.weights": "none"},
            {"case": "B", "seed": "42", "epochs": 5, "lr": 0.0005, "batch_size": 32, "weights": "none"},
        ),
        (
            "python stages/winner.py --model residual --seed 43",
            {"train.epochs": 8},
            {"model": "residual", "seed": "43", "epochs": 8},
        ),
        ("python stages/selection.py", {"grid": {"lr": [0.1]}}, {}),
    ],
)
def test_what_each_training_stage_claims(command, params, expected):
    assert claims(command, params) == expected
