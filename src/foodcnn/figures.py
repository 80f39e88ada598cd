"""The report's figures: which ones it shows, each drawn from the pipeline's metrics and plot files."""

import json
from pathlib import Path

import torch
from PIL import Image

from foodcnn.checkpoint import load_checkpoint
from foodcnn.data.reader import read_rgb
from foodcnn.evaluation import confusion_from_rows
from foodcnn.gradcam import heatmaps
from foodcnn.io import read_table
from foodcnn.layout import FIGURES, RAW_DIR, REPORTS, RunFiles, test_outputs
from foodcnn.params import Params
from foodcnn.plots import (
    confusion_figure,
    image_grid,
    image_pairs_figure,
    interval_figure,
    learning_curves,
    save_figure,
)
from foodcnn.registry import CHOSEN, INDEX, model_file, require_published
from foodcnn.roles import model_title, study_labels
from foodcnn.runs import config_name, run_name
from foodcnn.selection import best_models

MISCLASSIFIED_SHOWN = 16
PAIRS_SHOWN = 12  # near-duplicate pairs, the most different first: the ones that say whether the threshold is right
THUMBNAIL = (160, 160)


def predictions(role: str) -> list[dict]:
    """A study model's test-set predictions, every seed's rows."""
    return read_table(test_outputs(role)[0])


def figure_path(name: str) -> tuple[Path, str]:
    """Where a figure goes, and its link from the report.

    Names hold roles, never parameter values, and every figure is drawn on every run: the set of files is the
    same for every experiment, so `dvc exp apply` replaces each of them and leaves none from another run.
    """
    path = FIGURES / f"{name}.png"
    return path, path.relative_to(REPORTS).as_posix()


def accuracy_figure(test: dict[str, dict], classes: tuple[str, ...], labels: dict[str, str]) -> tuple[str, str]:
    path, link = figure_path("test_accuracy")
    ranked = sorted(test, key=lambda key: -test[key]["accuracy"])
    save_figure(
        interval_figure(
            [labels[key] for key in ranked],
            [test[key]["accuracy"] for key in ranked],
            [tuple(test[key]["accuracy_ci95"]) for key in ranked],
            1 / len(classes),
            "Test accuracy of every model of the study",
        ),
        path,
    )
    return "Test accuracy with 95 % intervals", link


def grid_histories(settings: Params, model: str, lr: float) -> dict[str, list[dict]]:
    """The curves of a model's grid runs at one learning rate: every batch size and seed, by run name."""
    runs = [
        run_name(config_name(model, lr, batch_size), seed)
        for batch_size in settings.grid.batch_size
        for seed in settings.grid.seeds
    ]
    return {run: read_table(RunFiles.of("grid", run).history, delimiter="\t") for run in runs}


def curve_figures(settings: Params) -> list[tuple[str, str]]:
    """Figures 1-2 of the study: per model, a row per learning rate with every batch size's (and seed's) curves."""
    figures = []
    for model in settings.grid.model:
        panels = {f"lr {lr:g}": grid_histories(settings, model, lr) for lr in settings.grid.lr}
        path, link = figure_path(f"curves_{model}")
        save_figure(learning_curves(panels, f"{model_title(model)}: learning curves of the grid"), path)
        figures.append((f"Learning curves: {model_title(model)}, a row per learning rate", link))
    return figures


def confusion_figures(
    test: dict[str, dict], classes: tuple[str, ...], seeds: tuple[int, ...], labels: dict[str, str]
) -> list[tuple[str, str]]:
    figures = []
    for role in test:
        matrix = confusion_from_rows(predictions(role), classes)
        pooled = f", {len(seeds)} seeds pooled" if len(seeds) > 1 else ""
        path, link = figure_path(f"confusion_{role}")
        title = f"{labels[role]}: test accuracy {100 * test[role]['accuracy']:.1f} %{pooled}"
        save_figure(confusion_figure(matrix, classes, title), path)
        figures.append((f"Confusion matrix: {labels[role]}", link))
    return figures


def misclassified_figure_of(kind: str, role: str, label: str, seed: int, images: torch.Tensor) -> tuple[str, str]:
    """The test images a model's run got wrong with the highest confidence, from its predictions file."""
    wrong = [row for row in predictions(role) if int(row["seed"]) == seed and row["actual"] != row["predicted"]]
    shown = sorted(wrong, key=lambda row: -float(row["confidence"]))[:MISCLASSIFIED_SHOWN]
    captions = [f"true {row['actual']}\npredicted {row['predicted']} ({float(row['confidence']):.2f})" for row in shown]
    chosen = images[torch.tensor([int(row["image"]) for row in shown], dtype=torch.int64)]
    path, link = figure_path(f"misclassified_{kind}")
    title = f"{label} (seed {seed}): the most confidently misclassified test images"
    save_figure(image_grid(chosen, captions, title, "no misclassified test images"), path)
    return f"Most confidently misclassified: {label}, the best by validation accuracy", link


def explained_examples(rows: list[dict], classes: tuple[str, ...]) -> list[dict]:
    """Per class, in class order, the test image of a run's predictions it got right with the highest confidence
    and the one of that class it got wrong with the highest confidence (either may be missing)."""
    shown = []
    for name in classes:
        for right in (True, False):
            rows_of = [row for row in rows if row["actual"] == name and (row["predicted"] == name) == right]
            if rows_of:
                shown.append(max(rows_of, key=lambda row: (float(row["confidence"]), -int(row["image"]))))
    return shown


def gradcam_figure(classes: tuple[str, ...], labels: dict[str, str], images: torch.Tensor) -> tuple[str, str]:
    """Where the chosen model (the publish stage's) looks: Grad-CAM for the class it predicted, over a right and a
    wrong test image per class of its run."""
    require_published()
    index = json.loads(INDEX.read_text())
    role, seed = index["chosen"], index["roles"][index["chosen"]]["seed"]
    model, _ = load_checkpoint(model_file(CHOSEN))
    shown = explained_examples([row for row in predictions(role) if int(row["seed"]) == seed], classes)
    chosen = images[torch.tensor([int(row["image"]) for row in shown], dtype=torch.int64)]
    heats = heatmaps(model, chosen, [classes.index(row["predicted"]) for row in shown]) if shown else None
    captions = [
        f"{row['actual']}: right ({float(row['confidence']):.2f})"
        if row["actual"] == row["predicted"]
        else f"{row['actual']}\nas {row['predicted']} ({float(row['confidence']):.2f})"
        for row in shown
    ]
    path, link = figure_path("gradcam_chosen")
    title = f"{labels[role]} (seed {seed}): where it looks for the class it predicts (Grad-CAM)"
    save_figure(image_grid(chosen, captions, title, "no test images", heats), path)
    return f"Where the chosen model looks: {labels[role]}, a right and a wrong test image per class", link


def thumbnail(path: str, raw: Path) -> Image.Image:
    image = read_rgb(raw / path)
    image.thumbnail(THUMBNAIL)
    return image


def duplicate_figure(duplicates: dict, raw: Path = RAW_DIR) -> tuple[str, str]:
    """The near-duplicate pairs the split left out, each photo left out beside the one kept; drawn when there are
    none too, so that no earlier run's pairs outlive it."""
    pairs = [
        (copy["distance"], copy["path"], group["kept"])
        for group in duplicates["groups"]
        for copy in group["copies"]
        if copy["distance"] is not None
    ]
    shown = sorted(pairs, key=lambda pair: (-pair[0], pair[1]))[:PAIRS_SHOWN]
    threshold = duplicates["near_duplicates"]
    rule = "near-duplicates off" if threshold == "off" else f"threshold {threshold} bits"
    title = (
        f"{len(shown)} of {len(pairs)} near-duplicate pairs ({rule}), the most different first"
        if pairs
        else f"No near-duplicate pairs ({rule})"
    )
    path, link = figure_path("near_duplicates")
    save_figure(
        image_pairs_figure(
            [(thumbnail(kept, raw), thumbnail(copy, raw)) for _, copy, kept in shown],
            [(f"kept: {kept}", f"left out: {copy}\n{distance} of 64 bits apart") for distance, copy, kept in shown],
            title,
        ),
        path,
    )
    return "Near-duplicates left out by the split: each beside the photo kept", link


def report_figures(
    settings: Params,
    test: dict[str, dict],
    classes: tuple[str, ...],
    validation: dict[str, dict],
    images: torch.Tensor,
    duplicates: dict,
) -> list[tuple[str, str]]:
    """Draw every figure of the report into reports/figures; returns (caption, link) pairs in report order."""
    seeds = settings.train.seeds
    labels = study_labels(settings)
    return [
        accuracy_figure(test, classes, labels),
        *curve_figures(settings),
        *confusion_figures(test, classes, seeds, labels),
        *(
            misclassified_figure_of(kind, role, labels[role], seeds[0], images)
            for kind, role in zip(("best_scratch", "best_transfer"), best_models(settings, validation), strict=True)
        ),
        gradcam_figure(classes, labels, images),
        duplicate_figure(duplicates),
    ]
