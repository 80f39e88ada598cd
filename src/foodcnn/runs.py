"""Runs of the study: what each trains, where its files go, and training one run into those files."""

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from foodcnn.data.tensors import ImageSet, load_image_set
from foodcnn.io import read_json, save_torch, write_json, write_table
from foodcnn.models import RANDOM_INIT, ModelSpec, build_model
from foodcnn.errors import ParamsError
from foodcnn.params import Params
from foodcnn.training import FitSettings, fit, pick_device, set_threads_from_environment

MOBILENET = "mobilenet"
MODEL_TITLES = {"basic": "BasicCNN", "residual": "ResidualCNN", MOBILENET: "MobileNetV2"}


@dataclass(frozen=True)
class RunConfig:
    """One training run. Its name, and so its file names and report rows, derive from it."""

    model: str
    lr: float
    batch_size: int
    epochs: int
    seed: int
    dropout: float = 0.0
    case: str = ""  # fine-tune case (MobileNetV2 only)
    trainable_blocks: int = 0
    weights: str = RANDOM_INIT

    @property
    def group(self) -> str:
        if self.model == MOBILENET:
            return "finetune"
        return "dropout" if self.dropout > 0 else "grid"

    @property
    def config(self) -> str:
        return config_name(self.model, self.lr, self.batch_size, self.dropout, self.case)

    @property
    def name(self) -> str:
        return run_name(self.config, self.seed)


def config_name(model: str, lr: float, batch_size: int, dropout: float = 0.0, case: str = "") -> str:
    """basic_lr0.01_bs32 for a grid configuration, basic_dropout0.3 for a dropout retrain, mobilenet_A for a
    fine-tune: what a run trains, whatever its seed."""
    if model == MOBILENET:
        return f"{MOBILENET}_{case}"
    if dropout > 0:
        return f"{model}_dropout{dropout:g}"
    return f"{model}_lr{lr:g}_bs{batch_size}"


def study_label(key: str) -> str:
    """How tables name a study model: 'basic' -> BasicCNN, 'basic_dropout0.3' -> BasicCNN, dropout 0.3,
    'mobilenet_B' -> MobileNetV2 B."""
    model, _, rest = key.partition("_")
    title = MODEL_TITLES[model]
    if not rest:
        return title
    if model == MOBILENET:
        return f"{title} {rest}"
    return f"{title}, dropout {rest.removeprefix('dropout')}"


def run_name(config: str, seed: int) -> str:
    """One training run: a configuration and its seed, as in dvc.yaml's file names."""
    return f"{config}_seed{seed}"


@dataclass(frozen=True)
class RunFiles:
    model: Path  # checkpoint, cached by DVC
    metrics: Path  # best epoch's numbers, in git
    history: Path  # per-epoch curves, in git

    @classmethod
    def of(cls, group: str, name: str) -> "RunFiles":
        return cls(Path("models", group, f"{name}.pt"), Path("metrics", group, f"{name}.json"),
                   Path("plots", "history", f"{name}.tsv"))


def grid_run(params: Params, model: str, lr: float, batch_size: int, seed: int) -> RunConfig:
    return RunConfig(model, lr, batch_size, params.train.epochs, seed)


def dropout_run(params: Params, model: str, dropout: float, seed: int, winners: dict) -> RunConfig:
    """Retrain a grid winner with dropout, at the top-level `lr` when it is set, else at the winner's."""
    winner = winners[model]
    lr = winner["lr"] if params.lr is None else params.lr
    return RunConfig(model, lr, winner["batch_size"], params.train.epochs, seed, dropout=dropout)


def finetune_run(params: Params, case: str, seed: int) -> RunConfig:
    finetune = params.finetune
    if case not in finetune.cases:
        raise ParamsError(f"params.yaml: finetune.cases has no case {case!r} (cases: {', '.join(finetune.cases)})")
    return RunConfig(MOBILENET, finetune.lr, finetune.batch_size, finetune.epochs, seed, case=case,
                     trainable_blocks=finetune.cases[case], weights=finetune.weights)


def model_spec(config: RunConfig, num_classes: int) -> ModelSpec:
    return ModelSpec(config.model, num_classes, config.dropout, config.trainable_blocks)


def fit_settings(config: RunConfig, params: Params) -> FitSettings:
    """How a run trains: its own hyper-parameters plus the study's augmentation and numeric options."""
    augment = params.train.augment
    if config.model == MOBILENET and not params.finetune.augment:
        augment = None
    return FitSettings(config.epochs, config.batch_size, config.lr, config.seed, augment,
                       params.train.precision, params.train.channels_last)


def train_run(config: RunConfig, settings: FitSettings, train: ImageSet, val: ImageSet, device: torch.device) -> RunFiles:
    """Train one run and write its checkpoint, metrics and history."""
    set_threads_from_environment()
    torch.manual_seed(config.seed)
    spec = model_spec(config, len(train.classes))
    model = build_model(spec, config.weights)
    result = fit(model, train, val, settings, device)
    files = RunFiles.of(config.group, config.name)
    save_torch(files.model, {
        "state_dict": result.best_state,
        "spec": spec.to_dict(),
        "classes": list(train.classes),
        "config": asdict(config),
    })
    write_table(files.history, [asdict(record) for record in result.history], delimiter="\t")
    best = result.best
    write_json(files.metrics, {
        "best_epoch": result.best_epoch,
        "val_accuracy": round(best.val_accuracy, 4),
        "val_loss": round(best.val_loss, 4),
    })
    return files


def load_checkpoint(path: Path) -> tuple[torch.nn.Module, tuple[str, ...]]:
    """Rebuild a trained network (eval mode) and its class names from a checkpoint."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(ModelSpec(**checkpoint["spec"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), tuple(checkpoint["classes"])


def train_prepared(config: RunConfig, params: Params) -> RunFiles:
    """Train one run of the study on the prepared train and val tensors, on the best device available."""
    return train_run(config, fit_settings(config, params), load_image_set("train"), load_image_set("val"), pick_device())


def read_run_metrics(group: str, names: list[str]) -> dict[str, dict]:
    return {name: read_json(RunFiles.of(group, name).metrics) for name in names}


def study_runs(params: Params, winners: dict[str, dict]) -> dict[str, list[RunFiles]]:
    """The models the study evaluates on the test set, each with its runs (one per seed, in params order):
    each grid winner, each dropout retrain, each fine-tune.

    Keys name them in every table: 'basic' is the winner of BasicCNN's grid, then e.g. 'basic_dropout0.3'.
    """
    seeds = params.train.seeds
    runs = {}
    for model in params.grid.model:
        runs[model] = [RunFiles.of("grid", run_name(winners[model]["config"], seed)) for seed in seeds]
        for p in params.dropout:
            config = config_name(model, 0.0, 0, dropout=p)
            runs[config] = [RunFiles.of("dropout", run_name(config, seed)) for seed in seeds]
    for case in params.finetune.cases:
        config = config_name(MOBILENET, 0.0, 0, case=case)
        runs[config] = [RunFiles.of("finetune", run_name(config, seed)) for seed in seeds]
    return runs
