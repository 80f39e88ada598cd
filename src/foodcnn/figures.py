"""The report's figures: which ones it shows, each drawn from the pipeline's metrics and plot files."""

from pathlib import Path

import torch
from PIL import Image

from foodcnn.data.reader import read_rgb
from foodcnn.evaluation import confusion_from_rows
from foodcnn.io import read_table
from foodcnn.layout import FIGURES, RAW_DIR, REPORTS, RunFiles, test_outputs
from foodcnn.params import Params
from foodcnn.plots import (confusion_figure, image_pairs_figure, interval_figure, learning_curves,
                           misclassified_figure, save_figure)
from foodcnn.runs import MODEL_TITLES, config_name, run_name, study_label
from foodcnn.selection import best_models
MISCLASSIFIED_SHOWN = 16
PAIRS_SHOWN = 12  # near-duplicate pairs, the most different first: the ones that say whether the threshold is right
THUMBNAIL = (160, 160)


def predictions(key: str, seed: int) -> list[dict]:
    return read_table(test_outputs(run_name(key, seed))[0])


def figure_path(name: str) -> tuple[Path, str]:
    """Where a figure goes, and its link from the report."""
    path = FIGURES / f"{name}.png"
    return path, path.relative_to(REPORTS).as_posix()


def accuracy_figure(test: dict[str, dict], classes: tuple[str, ...]) -> tuple[str, str]:
    path, link = figure_path("test_accuracy")
    ranked = sorted(test, key=lambda key: -test[key]["accuracy"])
    save_figure(interval_figure([study_label(key) for key in ranked], [test[key]["accuracy"] for key in ranked],
                                [tuple(test[key]["accuracy_ci95"]) for key in ranked], 1 / len(classes),
                                "Test accuracy of every model of the study"), path)
    return "Test accuracy with 95 % intervals", link


def curve_figures(settings: Params) -> list[tuple[str, str]]:
    """Figures 1-2 of the study: per model and learning rate, every batch size's (and seed's) curves."""
    figures = []
    for model in settings.grid.model:
        for lr in settings.grid.lr:
            runs = [run_name(config_name(model, lr, batch_size), seed)
                    for batch_size in settings.grid.batch_size for seed in settings.train.seeds]
            path, link = figure_path(f"curves_{model}_lr{lr:g}")
            title = f"{MODEL_TITLES[model]}, lr {lr:g}"
            histories = {run: read_table(RunFiles.of("grid", run).history, delimiter="\t") for run in runs}
            save_figure(learning_curves(histories, title), path)
            figures.append((f"Learning curves: {title}", link))
    return figures


def confusion_figures(test: dict[str, dict], classes: tuple[str, ...], seeds: tuple[int, ...]) -> list[tuple[str, str]]:
    figures = []
    for key in test:
        matrix = sum(confusion_from_rows(predictions(key, seed), classes) for seed in seeds)
        pooled = f", {len(seeds)} seeds pooled" if len(seeds) > 1 else ""
        path, link = figure_path(f"confusion_{key}")
        title = f"{study_label(key)}: test accuracy {100 * test[key]['accuracy']:.1f} %{pooled}"
        save_figure(confusion_figure(matrix, classes, title), path)
        figures.append((f"Confusion matrix: {study_label(key)}", link))
    return figures


def misclassified_figure_of(role: str, key: str, seed: int, images: torch.Tensor) -> tuple[str, str]:
    """The test images a model got wrong with the highest confidence, from its predictions file."""
    wrong = [row for row in predictions(key, seed) if row["actual"] != row["predicted"]]
    shown = sorted(wrong, key=lambda row: -float(row["confidence"]))[:MISCLASSIFIED_SHOWN]
    captions = [f"true {row['actual']}\npredicted {row['predicted']} ({float(row['confidence']):.2f})"
                for row in shown]
    chosen = images[torch.tensor([int(row["image"]) for row in shown], dtype=torch.int64)]
    # Named by role, not by model, so a rerun that picks another winner replaces the figure.
    path, link = figure_path(f"misclassified_{role}")
    title = f"{study_label(key)} (seed {seed}): the most confidently misclassified test images"
    save_figure(misclassified_figure(chosen, captions, title), path)
    return f"Most confidently misclassified: {study_label(key)}, the best by validation accuracy", link


def thumbnail(path: str, raw: Path) -> Image.Image:
    image = read_rgb(raw / path)
    image.thumbnail(THUMBNAIL)
    return image


def duplicate_figures(duplicates: dict, raw: Path = RAW_DIR) -> list[tuple[str, str]]:
    """The near-duplicate pairs the split left out (none: no figure), each photo left out beside the one kept."""
    pairs = [(copy["distance"], copy["path"], group["kept"])
             for group in duplicates["groups"] for copy in group["copies"] if copy["distance"] is not None]
    shown = sorted(pairs, key=lambda pair: (-pair[0], pair[1]))[:PAIRS_SHOWN]
    if not shown:
        return []
    path, link = figure_path("near_duplicates")
    title = (f"{len(shown)} of {len(pairs)} near-duplicate pairs (threshold {duplicates['near_duplicates']} bits), "
             "the most different first")
    save_figure(image_pairs_figure([(thumbnail(kept, raw), thumbnail(copy, raw)) for _, copy, kept in shown],
                                   [(f"kept: {kept}", f"left out: {copy}\n{distance} of 64 bits apart")
                                    for distance, copy, kept in shown], title), path)
    return [("Near-duplicates left out by the split: each beside the photo kept", link)]


def report_figures(settings: Params, test: dict[str, dict], classes: tuple[str, ...], validation: dict[str, dict],
                   images: torch.Tensor, duplicates: dict) -> list[tuple[str, str]]:
    """Draw every figure of the report into reports/figures; returns (caption, link) pairs in report order."""
    seeds = settings.train.seeds
    return [accuracy_figure(test, classes), *curve_figures(settings), *confusion_figures(test, classes, seeds),
            *(misclassified_figure_of(role, key, seeds[0], images)
              for role, key in zip(("best_scratch", "best_transfer"), best_models(settings, validation))),
            *duplicate_figures(duplicates)]
