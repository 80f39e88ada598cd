"""The `foodcnn` command: `foodcnn repro` runs the pipeline with independent stages side by side; `foodcnn diff
[A] [B] ...` compares revisions and experiments beside the pipeline; `foodcnn exp run -S ...` makes the
experiment `dvc exp run` makes, its stages side by side, and a sweep's experiments side by side; `foodcnn tidy`
removes the runs' files that no stage makes any more; `foodcnn predict PHOTO ...` gives a study model's classes
for photos."""

import argparse
import sys
from pathlib import Path

from foodcnn import cli, experiment, leftovers, params, provenance
from foodcnn.errors import FoodCnnError
from foodcnn.repro import reproduce
from foodcnn.schedule import default_jobs, usable_cores


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="foodcnn", description=__doc__)
    verbs = command.add_subparsers(dest="verb", required=True)
    repro = verbs.add_parser(
        "repro",
        help="dvc repro, with independent stages side by side",
        description="Bring the pipeline up to date as `dvc repro` does (same stages, run-cache and dvc.lock), "
        "running the commands of independent stages side by side as tasks on a Dask cluster (a local one, or the "
        "scheduler at --scheduler: docs/cluster.md). Each computes on params.yaml's `threads`, so the files are "
        "the same as a sequential `dvc repro`.",
    )
    repro.add_argument("targets", nargs="*", metavar="STAGE", help="stages to bring up to date (default: all)")
    repro.add_argument(
        "-j",
        "--jobs",
        type=int,
        help="commands at once (default: usable CPU cores / threads; with --scheduler, the workers' threads)",
    )
    repro.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler (tcp://host:8786) whose workers share this clone's folder (default: a local cluster)",
    )
    diff = verbs.add_parser(
        "diff",
        help="is the difference between revisions evidence or noise?",
        description="Compare every study model's test results between revisions (branches, tags, commits, "
        "`dvc exp` experiments or 'workspace'), paired on the same test images when it can be. "
        "Like `dvc metrics diff`: no revision compares HEAD with the workspace, one compares it "
        "with the workspace; with three or more, each is compared with the first.",
    )
    diff.add_argument("revisions", nargs="*", metavar="REV", help="A, then B (default: HEAD workspace)")
    output = diff.add_mutually_exclusive_group()
    output.add_argument("--md", action="store_true", help="a Markdown table (the default)")
    output.add_argument("--json", action="store_true", help="JSON, for scripts")
    diff.add_argument("-o", "--output", type=Path, metavar="FILE.png", help="also draw a forest plot there")
    diff.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help=f"bootstrap resamples of the test images (at most {params.MAX_RESAMPLES})",
    )
    diff.add_argument("--seed", type=int, default=0, help="seed of the bootstrap draws")
    exp = verbs.add_parser("exp", help="dvc exp run, its stages side by side; sweeps")
    exp_verbs = exp.add_subparsers(dest="exp_verb", required=True)
    exp_run = exp_verbs.add_parser(
        "run",
        help="dvc exp run, its stages side by side; a sweep's experiments side by side",
        description="Make the experiment `dvc exp run` makes (the same files, saved as a DVC experiment), with "
        "independent stages side by side as `foodcnn repro` runs them. Values in DVC's sweep syntax "
        "(-S lr=0.001,0.01 or range(...), as `dvc exp run --queue` reads it) make one experiment per "
        "combination, each in a workspace of its own, side by side. Every combination's params.yaml "
        "is checked first, as the params stage does, so a rejected value changes nothing.",
    )
    exp_run.add_argument(
        "-S",
        "--set-param",
        action="append",
        default=[],
        metavar="[FILE:]KEY=VALUE",
        help="a parameter's value, as `dvc exp run -S` takes it; a,b,c sweeps",
    )
    exp_run.add_argument("-n", "--name", help="the experiment's name (a sweep's: NAME-1, NAME-2, ...)")
    exp_run.add_argument(
        "-j", "--jobs", type=int, help="commands at once, in all experiments (default: usable CPU cores / threads)"
    )
    exp_run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler whose workers share this clone's folder (default: a local cluster; docs/cluster.md)",
    )
    tidy = verbs.add_parser(
        "tidy",
        help="remove the runs' files that no stage of dvc.yaml makes any more",
        description="Delete the models and learning curves in the runs' folders that no stage of dvc.yaml "
        "declares: those of a grid value dropped from params.yaml, or left by `dvc exp apply` of an "
        "experiment without a value the workspace last ran. The evaluate and report stages hash "
        "these folders, so until then `dvc status` lists them.",
    )
    tidy.add_argument("-n", "--dry-run", action="store_true", help="list the files, remove nothing")
    predict = verbs.add_parser(
        "predict",
        help="a study model's class probabilities for photos",
        description="Read each photo as the study reads its images (upright RGB, resized by data.resize) and give "
        "the model's most probable classes: a table per photo, a CSV per folder (a sub-folder named "
        "after a class gives its photos' actual class). The model is the publish stage's: the chosen "
        "one (best validation accuracy) unless --role names another, each role at its median seed on "
        "validation (docs/using-the-model.md).",
    )
    predict.add_argument("paths", nargs="+", type=Path, metavar="PHOTO|FOLDER")
    predict.add_argument("--role", help="a study model's role, such as basic or mobilenet_A (default: the chosen one)")
    predict.add_argument("--rev", help="the model as this git revision left it (default: the workspace's)")
    predict.add_argument("--top", type=int, default=5, help="classes per photo (default: 5)")
    predict.add_argument("--json", action="store_true", help="JSON, for scripts: every class's probability")
    predict.add_argument(
        "--explain",
        type=Path,
        metavar="FOLDER",
        help="also draw where the model looks (Grad-CAM) for each photo given by name, as PNGs there",
    )
    return command


def predict(arguments: argparse.Namespace) -> None:
    from foodcnn.predict import load_published_model
    from foodcnn.predict import predict as run_model

    model = load_published_model(arguments.role, arguments.rev)
    output = run_model(arguments.paths, model, arguments.top, arguments.json, arguments.explain)
    if not arguments.json:  # on stderr, once every photo was read: stdout stays the tables or one CSV
        print(model.describe(), file=sys.stderr)
    sys.stdout.write(output)


def tidy(arguments: argparse.Namespace) -> None:
    root = Path.cwd()
    if not (root / "dvc.yaml").is_file():
        raise FoodCnnError("no dvc.yaml here: run `foodcnn tidy` in the project's folder")
    found = leftovers.leftovers(root)
    if not arguments.dry_run:
        leftovers.remove(root, found)
    for path in found:
        print(f"{'would remove' if arguments.dry_run else 'removed'} {path}")
    if not found:
        print("Nothing to remove: every run's file belongs to a stage of dvc.yaml.")


def repro(arguments: argparse.Namespace) -> None:
    jobs = arguments.jobs
    if jobs is None and arguments.scheduler is None:
        jobs = default_jobs(params.load().threads, usable_cores())
    if jobs is not None and jobs < 1:
        raise FoodCnnError(f"--jobs must be at least 1 (got {jobs})")
    ran = reproduce(jobs, arguments.targets, arguments.scheduler)
    print("Use `dvc push` to send your updates to remote storage." if ran else "Data and pipelines are up to date.")
    notice = provenance.notice_after_repro(Path.cwd()) if ran else None
    if notice:  # on another machine the committed results may change: say so, and how to tell if it matters
        print(notice)


def diff(arguments: argparse.Namespace) -> None:
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    from foodcnn.diff import render
    from foodcnn.diff.compare import compare
    from foodcnn.diff.revisions import WORKSPACE, read_side, workspace_changes

    names = arguments.revisions or ["HEAD"]
    if len(names) == 1:
        names = [*names, WORKSPACE]
    if not 1 <= arguments.resamples <= params.MAX_RESAMPLES:
        raise FoodCnnError(
            f"--resamples must be from 1 to {params.MAX_RESAMPLES} (got {arguments.resamples}): more "
            f"would not move the intervals, and each resample takes memory"
        )
    try:
        repo = Repo()
    except NotDvcRepoError as error:
        raise FoodCnnError("not inside a DVC project: run `foodcnn diff` in the project's folder") from error
    with repo:
        sides = [read_side(repo, name) for name in names]
        stale, edited = workspace_changes(repo) if WORKSPACE in names else ([], [])
    warnings = (
        [
            f"The workspace has results older than their code, params or inputs (`dvc status`: "
            f"{', '.join(stale)}): run `dvc repro` to compare what they would give; compared as they are."
        ]
        if stale
        else []
    )
    warnings += (
        [
            f"The workspace has outputs changed after their stage ran (`dvc status`: {', '.join(edited)}): "
            f"compared as they are."
        ]
        if edited
        else []
    )
    comparisons = [compare(sides[0], side, arguments.resamples, arguments.seed) for side in sides[1:]]
    sys.stdout.write(
        render.as_json(comparisons, warnings) if arguments.json else render.markdown(comparisons, warnings)
    )
    if arguments.output:
        render.forest_plot(comparisons, arguments.output)


def main() -> None:
    command = parser()
    arguments = command.parse_args()
    verbs = {
        "repro": lambda: repro(arguments),
        "diff": lambda: diff(arguments),
        "exp": lambda: experiment.run(arguments.set_param, arguments.name, arguments.jobs, arguments.scheduler),
        "tidy": lambda: tidy(arguments),
        "predict": lambda: predict(arguments),
    }
    cli.run(verbs[arguments.verb])


if __name__ == "__main__":
    main()
