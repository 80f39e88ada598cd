"""Matplotlib figures of the study: learning curves, confusion matrices, misclassified images, intervals, pairs."""

from pathlib import Path
from typing import cast

import matplotlib

matplotlib.use("Agg")  # files only: stages run without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from PIL import Image  # noqa: E402

from foodcnn.io import atomic_path  # noqa: E402


def save_figure(figure: plt.Figure, path: Path) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)


def loss_ceiling(losses: numpy.ndarray) -> float:
    """The top of a readable loss axis: Tukey's far-out fence (q3 + 3 IQR), and at least twice q3.

    One diverging epoch (loss 12,000 where the rest are about 2) would otherwise flatten every other value;
    the floor of 2 q3 leaves runs that converge tightly unclipped. .dvc/plots/learning_curves.json applies the
    same rule to DVC's charts.
    """
    q1, q3 = numpy.quantile(losses, [0.25, 0.75])
    return float(max(q3 + 3 * (q3 - q1), 2 * q3))


def clip_outlying_losses(axis: plt.Axes) -> None:
    """Stop the axis at loss_ceiling when values lie above it, drawing those as triangles at its top edge."""
    lines = list(axis.get_lines())
    losses = numpy.concatenate([numpy.asarray(line.get_ydata(), dtype=float) for line in lines])
    losses = losses[numpy.isfinite(losses)]
    ceiling = loss_ceiling(losses)
    if losses.max() <= ceiling:
        return
    low = losses.min()
    axis.set_ylim(low - 0.05 * (ceiling - low), ceiling)
    for line in lines:
        epochs, values = numpy.asarray(line.get_xdata()), numpy.asarray(line.get_ydata(), dtype=float)
        above = values > ceiling
        axis.plot(epochs[above], numpy.full(above.sum(), ceiling), "^", color=line.get_color(), clip_on=False)
    axis.set_title(f"▲ off the axis (up to {losses.max():.3g})", fontsize=9, loc="right")


def learning_curves(panels: dict[str, dict[str, list[dict]]], title: str) -> plt.Figure:
    """One row per panel (e.g. a learning rate) of loss and accuracy per epoch, training solid and validation
    dashed, one line colour per run of the panel's histories (run name -> rows)."""
    figure, axes = plt.subplots(
        len(panels), 2, figsize=(11, 4 * len(panels)), squeeze=False, gridspec_kw={"hspace": 0.35}
    )
    for (panel, histories), (loss_axis, accuracy_axis) in zip(panels.items(), axes, strict=True):
        for (name, rows), colour in zip(
            histories.items(), cast(tuple, cast(ListedColormap, plt.cm.tab10).colors) * 3, strict=False
        ):
            epochs = [int(row["epoch"]) for row in rows]
            for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
                axis.plot(epochs, [float(row[f"train_{metric}"]) for row in rows], color=colour, label=f"{name} train")
                axis.plot(
                    epochs,
                    [float(row[f"val_{metric}"]) for row in rows],
                    color=colour,
                    linestyle="--",
                    label=f"{name} val",
                )
        for axis, metric in ((loss_axis, "cross-entropy loss"), (accuracy_axis, "accuracy")):
            axis.set_xlabel("epoch")
            axis.set_ylabel(metric)
            axis.grid(alpha=0.3)
        loss_axis.set_title(panel, loc="left", fontweight="bold")
        clip_outlying_losses(loss_axis)
        accuracy_axis.set_ylim(0, 1)
        accuracy_axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.suptitle(title)
    return figure


def _matrix_panel(axis: plt.Axes, matrix: torch.Tensor, classes: tuple[str, ...], title: str, fmt: str) -> None:
    image = axis.imshow(matrix.numpy(), cmap="Blues", vmin=0)
    ticks = range(len(classes))
    axis.set_xticks(ticks, classes, rotation=60, ha="right", fontsize=8)
    axis.set_yticks(ticks, classes, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("actual")
    threshold = matrix.max().item() / 2
    for row in ticks:
        for column in ticks:
            value = matrix[row, column].item()
            if value:
                axis.text(
                    column,
                    row,
                    format(value, fmt),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value > threshold else "black",
                )
    axis.figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title(title)


def confusion_figure(matrix: torch.Tensor, classes: tuple[str, ...], title: str) -> plt.Figure:
    """A confusion matrix (rows actual, columns predicted) as counts and normalised per actual class."""
    size = 3 + 0.45 * len(classes)
    figure, (counts_axis, rates_axis) = plt.subplots(1, 2, figsize=(2 * size + 2, size), layout="constrained")
    _matrix_panel(counts_axis, matrix, classes, "counts", "d")
    rows = matrix.double().sum(1, keepdim=True).clamp(min=1)
    _matrix_panel(rates_axis, matrix.double() / rows, classes, "share of each actual class", ".2f")
    figure.suptitle(title)
    return figure


def image_grid(
    images: torch.Tensor,
    captions: list[str],
    title: str,
    empty: str,
    heats: torch.Tensor | None = None,
    columns: int = 4,
) -> plt.Figure:
    """uint8 images (N, 3, H, W) in a grid, each with its caption, and with its heat map (N, H, W, in [0, 1])
    over it when given; `empty` says why there is no image at all."""
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.7 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for index, (axis, image, caption) in enumerate(zip(axes.flat, images, captions, strict=False)):
        axis.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
        if heats is not None:
            axis.imshow(heats[index].numpy(), cmap="jet", alpha=0.45, vmin=0, vmax=1, interpolation="bilinear")
        axis.set_title(caption, fontsize=7)
    if not len(images):
        axes.flat[0].text(0.5, 0.5, empty, ha="center", va="center")
    figure.suptitle(title)
    return figure


def interval_figure(
    labels: list[str], values: list[float], intervals: list[tuple[float, float]], chance: float, title: str
) -> plt.Figure:
    """Each model's test accuracy as a point with its 95 % interval as a bar, and the chance level."""
    figure, axis = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
    positions = range(len(labels))[::-1]
    lows = [value - low for value, (low, _) in zip(values, intervals, strict=True)]
    highs = [high - value for value, (_, high) in zip(values, intervals, strict=True)]
    axis.errorbar(
        [100 * v for v in values],
        list(positions),
        xerr=[[100 * v for v in lows], [100 * v for v in highs]],
        fmt="o",
        color="tab:blue",
        ecolor="tab:gray",
        capsize=3,
    )
    axis.axvline(100 * chance, color="tab:red", linestyle=":", label=f"chance ({100 * chance:.1f} %)")
    axis.legend(fontsize=8, loc="lower right")
    axis.set_yticks(list(positions), labels, fontsize=9)
    axis.set_xlabel("test accuracy % (95 % bootstrap interval)")
    axis.set_xlim(0, 100)
    axis.grid(axis="x", alpha=0.3)
    axis.set_title(title)
    return figure


def image_pairs_figure(
    pairs: list[tuple[Image.Image, Image.Image]], captions: list[tuple[str, str]], title: str, pairs_per_row: int = 3
) -> plt.Figure:
    """Pairs of images side by side, each image with its caption, pairs_per_row pairs to a row; no pairs: the
    title alone."""
    if not pairs:
        figure = plt.figure(figsize=(6, 0.6))
        figure.suptitle(title)
        return figure
    rows = -(-len(pairs) // pairs_per_row)
    figure, axes = plt.subplots(
        rows, 2 * pairs_per_row, figsize=(3.6 * pairs_per_row, 2.1 * rows + 0.4), squeeze=False, layout="constrained"
    )
    for axis in axes.flat:
        axis.axis("off")
    for index, (images, texts) in enumerate(zip(pairs, captions, strict=False)):
        row, column = divmod(index, pairs_per_row)
        for offset, (image, text) in enumerate(zip(images, texts, strict=False)):
            axis = axes[row, 2 * column + offset]
            axis.imshow(image, interpolation="nearest")
            axis.set_title(text, fontsize=6)
    figure.suptitle(title)
    return figure
