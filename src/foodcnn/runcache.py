"""Run-cache entries checked against what their own outputs say of the run that made them.

An entry pairs a stage's command, dependencies and parameters with the outputs of one run; `dvc repro` and
`foodcnn repro` restore those outputs whenever the same inputs come again. `foodcnn repro` from 62ab999 to
ea58acc could pair new parameters with the old outputs (foodcnn.repro says how), and such an entry hands
the old outputs to everyone who reuses it, through DVC's own commands too. A training run's checkpoint keeps
the configuration it was trained with and its history has a row per epoch, so the entries of the train,
winner, dropout and finetune stages can be checked; other stages' outputs do not say which parameters made them.
"""

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from foodcnn.integrity import object_path

# How each training stage's options and parameters name the fields of the configuration its checkpoint keeps
# (foodcnn.runs.RunConfig): stage entry point -> option or parameter -> field.
CLAIMS = {
    "stages/train.py": {
        "--model": "model",
        "--lr": "lr",
        "--batch-size": "batch_size",
        "--seed": "seed",
        "train.epochs": "epochs",
    },
    "stages/winner.py": {"--model": "model", "--seed": "seed", "train.epochs": "epochs"},
    "stages/dropout.py": {"--model": "model", "--p": "dropout", "--seed": "seed", "train.epochs": "epochs", "lr": "lr"},
    "stages/finetune.py": {
        "--case": "case",
        "--seed": "seed",
        "finetune.epochs": "epochs",
        "finetune.lr": "lr",
        "finetune.batch_size": "batch_size",
        "finetune.weights": "weights",
    },
}


@dataclass(frozen=True)
class Poisoned:
    """A run-cache entry whose outputs come from a run with other settings than the entry's."""

    entry: Path
    command: str
    reasons: tuple[str, ...]

    def line(self, runs: Path) -> str:
        name = self.entry.relative_to(runs).as_posix()
        return (
            f"poisoned run-cache entry {self.entry} (`{self.command}`): {'; '.join(self.reasons)}; drop it with "
            f"`rm {self.entry}` and, if it was pushed, delete runs/{name} on the remote too"
        )


def claims(command: str, params: dict) -> dict[str, object]:
    """What an entry says its run was trained with, by RunConfig field; empty for a stage that is not training."""
    words = shlex.split(command)
    script = next((word for word in words if word in CLAIMS), None)
    if script is None:
        return {}
    options = dict(zip(words[words.index(script) + 1 :: 2], words[words.index(script) + 2 :: 2], strict=False))
    said = {**options, **params}
    return {field: said[name] for name, field in CLAIMS[script].items() if name in said and said[name] != "auto"}


def agrees(claimed: object, kept: object) -> bool:
    """An option's text or a parameter's value against the checkpoint's field: numbers as numbers."""
    if isinstance(kept, bool) or not isinstance(kept, int | float):
        return str(claimed) == str(kept)
    try:
        return float(str(claimed)) == float(kept)
    except (TypeError, ValueError):
        return False


def check_entry(path: Path, cache: Path) -> Poisoned | None:
    """Compare one entry's claims with its checkpoint's configuration and its history's rows (each when the
    cache holds the object); None when they agree or nothing can be checked."""
    import torch

    entry = yaml.safe_load(path.read_text()) or {}
    params = {name: value for values in entry.get("params", {}).values() for name, value in values.items()}
    claimed = claims(entry.get("cmd", ""), params)
    if not claimed:
        return None
    reasons = []
    for out in entry.get("outs", []):
        stored = object_path(cache, out.get("md5", ""))
        if not stored.is_file():
            continue
        if out["path"].endswith(".pt"):
            kept = torch.load(stored, map_location="cpu", weights_only=True).get("config", {})
            reasons += [
                f"its {field} is {claimed[field]} but {out['path']} was trained with {kept[field]}"
                for field in claimed
                if field in kept and not agrees(claimed[field], kept[field])
            ]
        elif out["path"].endswith(".tsv") and "epochs" in claimed:
            rows = len(stored.read_text().splitlines()) - 1  # a header, then a row per epoch
            if rows != int(str(claimed["epochs"])):
                reasons.append(f"its epochs is {claimed['epochs']} but {out['path']} has {rows} epochs")
    return Poisoned(path, entry["cmd"], tuple(reasons)) if reasons else None


def entries(runs: Path) -> Iterator[Path]:
    """Every run-cache entry: runs/<first two hex digits of the key>/<key>/<value>."""
    return (path for path in sorted(runs.glob("*/*/*")) if path.is_file())


def check(runs: Path, cache: Path) -> tuple[int, list[Poisoned]]:
    """How many entries were read, and the poisoned ones among them."""
    paths = list(entries(runs))
    return len(paths), [found for path in paths if (found := check_entry(path, cache))]


def verify() -> None:
    """`make verify`'s run-cache part: one line per poisoned entry, then what was read."""
    from dvc.repo import Repo

    from foodcnn.errors import IntegrityError
    from foodcnn.integrity import locations

    with Repo() as repo:
        _, cache, runs = locations(repo)
    read, poisoned = check(runs, cache)
    for found in poisoned:
        print(found.line(runs))
    print(f"checked {read} run-cache entries against their training runs' checkpoints and histories")
    if poisoned:
        raise IntegrityError(
            f"{len(poisoned)} poisoned run-cache entries (listed above): drop each as its line "
            "says, or every entry (docs/team.md)"
        )
