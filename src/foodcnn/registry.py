"""The study's models as others use them: one checkpoint per role and the chosen one, under the names dvc.yaml's
`artifacts:` give them, with what it takes to feed them a photo.

Which model and which seed, on validation alone (the test set decides nothing):
- the chosen role is the best by validation accuracy, averaged over train.seeds, as the study compares roles;
- each role's model is the seed whose validation accuracy is the median of its seeds (ties broken by
  validation loss, then by seed order). The median seed is a typical run of the role's training procedure,
  whose test accuracy the report gives as a mean over seeds: the best seed on validation would be the luckiest
  draw, and the first seed an arbitrary one.

These paths live here rather than in layout.py, which every stage hashes: adding them there would make the
committed study's every stage out of date for a change no stage reads.
"""

from pathlib import Path

from foodcnn.errors import FoodCnnError
from foodcnn.params import Params
from foodcnn.selection import StudyModel, best_by_validation, run_summary, study_models

STUDY_MODELS = Path("models/study")  # written by the publish stage: <role>.pt, chosen.pt, index.json
INDEX = STUDY_MODELS / "index.json"  # the chosen role, each role's seed and checkpoint, the input's size and resize
CHOSEN = "chosen"
EXPORT_DIR = Path("models/export")  # written by the export stage: the chosen model for other runtimes
TORCHSCRIPT = EXPORT_DIR / "model.torchscript.pt"
ONNX = EXPORT_DIR / "model.onnx"
PREPROCESSING = EXPORT_DIR / "preprocessing.json"


def model_file(role: str) -> Path:
    """A role's checkpoint, or with 'chosen' the chosen role's."""
    return STUDY_MODELS / f"{role}.pt"


def require_published() -> None:
    """Stop with one line when the publish stage has not run: layout.require knows the other stages' files."""
    if not INDEX.exists():
        raise FoodCnnError(f"{INDEX} is missing: run `dvc repro publish` first")


def artifact_name(role: str) -> str:
    """A role's name in DVC's model registry, whose names take no capitals or underscores in tags:
    'basic_dropout' -> 'basic-dropout', 'mobilenet_A' -> 'mobilenet-a'."""
    return role.replace("_", "-").lower()


def median_seed(model: StudyModel, seeds: tuple[int, ...]) -> tuple[int, Path]:
    """The seed (and its checkpoint) whose validation accuracy is the median of the role's runs; of an even
    number of runs, the lower of the two middle ones."""
    summaries = [run_summary(run) for run in model.runs]
    order = sorted(range(len(seeds)), key=lambda i: (summaries[i]["val_accuracy"], -summaries[i]["val_loss"], i))
    middle = order[(len(order) - 1) // 2]
    return seeds[middle], model.runs[middle].model


def study_index(params: Params) -> dict:
    """What the publish stage writes to index.json: the chosen role, and per role its seed, the checkpoint it
    copies and its validation accuracy (mean over seeds), with the input size and resize policy of training."""
    models = study_models(params)
    roles = {}
    for role, model in models.items():
        seed, checkpoint = median_seed(model, params.train.seeds)
        roles[role] = {
            "seed": seed,
            "checkpoint": checkpoint.as_posix(),
            "val_accuracy": model.validation["val_accuracy"],
        }
    return {
        "chosen": best_by_validation({role: model.validation for role, model in models.items()}),
        "image_size": params.data.image_size,
        "resize": params.data.resize,
        "roles": roles,
    }


def resolve_role(index: dict, role: str | None) -> str:
    """The role a user asked for, or the chosen one; one line listing the roles when it is not one."""
    if role is None or role == CHOSEN:
        return index["chosen"]
    if role not in index["roles"]:
        raise FoodCnnError(
            f"--role {role}: not a model of this study; the roles are {', '.join(index['roles'])} "
            f"(default: the chosen one, {index['chosen']})"
        )
    return role
