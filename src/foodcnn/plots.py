"""Matplotlib figures of the study: learning curves per configuration and confusion matrices."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: stages run without a display

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from foodcnn.io import atomic_path  # noqa: E402


def save_figure(figure: plt.Figure, path: Path) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)


def learning_curves(histories: dict[str, list[dict]], title: str) -> plt.Figure:
    """Loss and accuracy per epoch (training solid, validation dashed), one line colour per run."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, rows), colour in zip(histories.items(), plt.cm.tab10.colors * 3):
        epochs = [int(row["epoch"]) for row in rows]
        for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
            axis.plot(epochs, [float(row[f"train_{metric}"]) for row in rows], color=colour, label=f"{name} train")
            axis.plot(epochs, [float(row[f"val_{metric}"]) for row in rows], color=colour, linestyle="--",
                      label=f"{name} val")
    for axis, metric in ((loss_axis, "cross-entropy loss"), (accuracy_axis, "accuracy")):
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    accuracy_axis.set_ylim(0, 1)
    accuracy_axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.suptitle(title)
    return figure


def confusion_figure(matrix: torch.Tensor, classes: tuple[str, ...], title: str) -> plt.Figure:
    """A confusion matrix, rows actual and columns predicted, each cell showing its count."""
    size = 3 + 0.45 * len(classes)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix.numpy(), cmap="Blues")
    ticks = range(len(classes))
    axis.set_xticks(ticks, classes, rotation=60, ha="right", fontsize=8)
    axis.set_yticks(ticks, classes, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("actual")
    threshold = matrix.max().item() / 2
    for row in ticks:
        for column in ticks:
            count = int(matrix[row, column])
            if count:
                axis.text(column, row, count, ha="center", va="center", fontsize=7,
                          color="white" if count > threshold else "black")
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title(title)
    return figure
