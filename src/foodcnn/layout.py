"""Where every file between stages lives, and which stage writes it: the one home of the pipeline's paths.

dvc.yaml names the same paths; tests/test_dvc_yaml.py holds the two together.
"""

from dataclasses import dataclass
from pathlib import Path

from foodcnn.errors import FoodCnnError

SPLITS = ("train", "val", "test")
RAW_DIR = Path("data/raw")
SPLIT_TABLE = Path("data/split.csv")
SPLIT_REPORT = Path("data/split_report.json")
PREPARED_DIR = Path("data/prepared")
# The stages' full results, in the DVC cache: what the later stages, the report and `foodcnn diff` read.
RESULTS_DIR = Path("results")
SELECTION = RESULTS_DIR / "selection.json"  # per model, the grid winner: configuration, lr, batch size, val accuracy
TEST_RESULTS = RESULTS_DIR / "test.json"  # per role: test metrics, their intervals and, for dropout, the p chosen
COMPARISONS = RESULTS_DIR / "comparisons.json"  # per comparison: its models, difference, interval, p-values
GRID_TABLE = Path("plots/grid.csv")
# The numbers `dvc exp show` and `dvc metrics diff` list, in git: numbers only (DVC shows strings as columns
# too), the six test accuracies first, since DVC orders columns as the metrics files and their keys come.
TEST_METRICS = Path("metrics/test.json")  # role -> test accuracy, then macro_f1 -> role -> test macro-F1
COMPARISON_METRICS = Path("metrics/comparisons.json")  # comparison -> difference and p_value
PREDICTIONS_DIR = Path("plots/predictions")
PER_CLASS_DIR = Path("plots/per_class")
REPORTS = Path("reports")
FIGURES = REPORTS / "figures"
MODELS_DIR = Path("models")
HISTORY_DIR = Path("plots/history")
# finetune.weights as a file: the backbone stage depends on this folder, so a file replaced in it is seen.
WEIGHTS_DIR = Path("weights")
BACKBONE = MODELS_DIR / "backbone.pt"  # finetune.weights resolved: the state dict every fine-tune starts from
# A run's group is the folder of its files, named after the step; the stage that trains it, per group.
GROUP_STAGES = {"grid": "train", "winner": "winner", "dropout": "dropout", "finetune": "finetune"}

# The stage that writes each input a later stage reads, so a stage run too early says what to run first.
WRITTEN_BY = {
    RAW_DIR: "images",
    SPLIT_TABLE: "split",
    SPLIT_REPORT: "split",
    PREPARED_DIR: "prepare",
    BACKBONE: "backbone",
    SELECTION: "selection",
    GRID_TABLE: "selection",
    TEST_RESULTS: "evaluate",
    COMPARISONS: "evaluate",
    **{MODELS_DIR / group: stage for group, stage in GROUP_STAGES.items()},
    **{HISTORY_DIR / group: stage for group, stage in GROUP_STAGES.items()},
}


def prepared(split: str) -> Path:
    """One split's tensor file ("train", "val" or "test")."""
    return PREPARED_DIR / f"{split}.pt"


@dataclass(frozen=True)
class RunFiles:
    """The files of one training run; `group` is its stage's folder: grid, dropout or finetune."""

    model: Path  # checkpoint, cached by DVC
    history: Path  # per-epoch curves, in git

    @classmethod
    def of(cls, group: str, name: str) -> "RunFiles":
        return cls(MODELS_DIR / group / f"{name}.pt", HISTORY_DIR / group / f"{name}.tsv")


def test_outputs(role: str) -> tuple[Path, Path]:
    """The evaluate stage's per-image predictions (every seed's) and per-class scores of one study model."""
    return PREDICTIONS_DIR / f"{role}.csv", PER_CLASS_DIR / f"{role}.csv"


def require(*paths: Path) -> None:
    """Stop with one line naming the stage to run first when an input of the calling stage is missing."""
    for path in paths:
        if not path.exists():
            stage = next((stage for written, stage in WRITTEN_BY.items() if path.is_relative_to(written)), None)
            hint = f": run `dvc repro {stage}` first" if stage else ""
            raise FoodCnnError(f"{path} is missing{hint}")
