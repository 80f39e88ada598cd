"""`foodcnn tidy`: remove the training runs' files that no stage of dvc.yaml makes any more.

DVC forgets the outputs of a stage that dvc.yaml no longer has: after a grid value is dropped from params.yaml, or
after `dvc exp apply` of an experiment without a value the workspace last ran, that run's model and learning curves
stay, and the evaluate and report stages, whose dependencies are the runs' folders, hash them too. Which files are
left over cannot be told from git (an applied experiment's own new curves are untracked as well): it is what the
pipeline declares that decides, so this asks DVC for every output of every stage.
"""

from pathlib import Path

from foodcnn.layout import GROUP_STAGES, HISTORY_DIR, MODELS_DIR

RUN_FOLDERS = tuple(root / group for group in GROUP_STAGES for root in (MODELS_DIR, HISTORY_DIR))


def declared_outputs(root: Path) -> set[Path]:
    """Every output path of every stage of the project's dvc.yaml, relative to its root."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {Path(out.fs_path).relative_to(root.resolve()) for out in repo.index.outs}


def leftovers(root: Path) -> list[Path]:
    """The files in the runs' folders that no stage declares, relative to the project's root; none outside a DVC
    project (a stage run by hand in another folder), where no pipeline says what belongs."""
    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file():
        return []
    declared = declared_outputs(root)
    found = (
        path.relative_to(root)
        for folder in RUN_FOLDERS
        if (root / folder).is_dir()
        for path in (root / folder).iterdir()
    )
    return sorted(
        path for path in found if (root / path).is_file() and path.name != ".gitignore" and path not in declared
    )


def remove(root: Path, paths: list[Path]) -> None:
    """Delete the files, and a model's line in its folder's .gitignore, as `dvc remove` does for an output."""
    if not paths:
        return
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        for path in paths:
            (root / path).unlink()
            repo.scm_context.ignore_remove(str((root / path).resolve()))
