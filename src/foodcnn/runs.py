"""Runs of the study: what each trains and what it is called. Training them is foodcnn.trainer's job."""

from dataclasses import dataclass

from foodcnn.errors import ParamsError
from foodcnn.layout import SELECTION, RunFiles
from foodcnn.params import MOBILENET, RANDOM_INIT, SCRATCH_MODELS, Params


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
    winner: bool = False  # a grid winner's configuration trained again at one of train.seeds

    @property
    def group(self) -> str:
        if self.model == MOBILENET:
            return "finetune"
        if self.winner:
            return "winner"
        return "dropout" if self.dropout > 0 else "grid"

    @property
    def config(self) -> str:
        return config_name(self.model, self.lr, self.batch_size, self.dropout, self.case, self.winner)

    @property
    def name(self) -> str:
        return run_name(self.config, self.seed)

    @property
    def files(self) -> RunFiles:
        return RunFiles.of(self.group, self.name)


def config_name(
    model: str, lr: float, batch_size: int, dropout: float = 0.0, case: str = "", winner: bool = False
) -> str:
    """basic_lr0.01_bs32 for a grid configuration, basic_winner for the grid winner trained again, basic_dropout0.3
    for a dropout retrain, mobilenet_A for a fine-tune: what a run trains, whatever its seed. The winner's and
    the retrains' names leave out what the grid chose, so that dvc.yaml can name their files."""
    if model == MOBILENET:
        return f"{MOBILENET}_{case}"
    if winner:
        return f"{model}_winner"
    if dropout > 0:
        return f"{model}_dropout{dropout:g}"
    return f"{model}_lr{lr:g}_bs{batch_size}"


def run_name(config: str, seed: int) -> str:
    """One training run: a configuration and its seed, as in dvc.yaml's file names."""
    return f"{config}_seed{seed}"


def _check(option: str, value: object, valid: bool, expected: str) -> None:
    """A stage argument run by hand obeys the rule of the params.yaml value dvc.yaml passes in its place.

    The rule, not membership of the list: a stage that read grid.lr to check --lr would depend on the whole
    list, and adding a learning rate would retrain every run.
    """
    if not valid:
        raise ParamsError(f"{option} must be {expected}, got {value!r}")


def _check_model_and_seed(model: str, seed: int, seeds: str = "train.seeds") -> None:
    _check("--model", model, model in SCRATCH_MODELS, "one of " + ", ".join(SCRATCH_MODELS))
    _check("--seed", seed, seed >= 0, f"an integer >= 0 (one of {seeds})")


def grid_run(params: Params, model: str, lr: float, batch_size: int, seed: int) -> RunConfig:
    _check_model_and_seed(model, seed, "grid.seeds")
    _check("--lr", lr, 0 < lr < 10, "a number in (0, 10) (one of grid.lr)")
    _check("--batch-size", batch_size, batch_size >= 1, "an integer >= 1 (one of grid.batch_size)")
    return RunConfig(model, lr, batch_size, params.train.epochs, seed)


def _winner(model: str, winners: dict) -> dict:
    if model not in winners:
        raise ParamsError(f"{SELECTION} has no winner for {model!r}: run `dvc repro selection` first")
    return winners[model]


def winner_run(params: Params, model: str, seed: int, winners: dict) -> RunConfig:
    """Train a grid winner's configuration again, at one of the study's seeds: the model of its role."""
    _check_model_and_seed(model, seed)
    winner = _winner(model, winners)
    return RunConfig(model, winner["lr"], winner["batch_size"], params.train.epochs, seed, winner=True)


def dropout_run(params: Params, model: str, dropout: float, seed: int, winners: dict) -> RunConfig:
    """Retrain a grid winner with dropout, at the top-level `lr` when it is set, else at the winner's."""
    _check_model_and_seed(model, seed)
    _check("--p", dropout, 0 < dropout < 1, "a number in (0, 1) (one of dropout.p)")
    winner = _winner(model, winners)
    lr = winner["lr"] if params.lr is None else params.lr
    return RunConfig(model, lr, winner["batch_size"], params.train.epochs, seed, dropout=dropout)


def finetune_run(params: Params, case: str, seed: int) -> RunConfig:
    finetune = params.finetune
    _check("--case", case, case in finetune.cases, "one of finetune.cases: " + ", ".join(finetune.cases))
    _check("--seed", seed, seed >= 0, "an integer >= 0 (one of train.seeds)")
    return RunConfig(
        MOBILENET,
        finetune.lr,
        finetune.batch_size,
        finetune.epochs,
        seed,
        case=case,
        trainable_blocks=finetune.cases[case],
        weights=finetune.weights,
    )
