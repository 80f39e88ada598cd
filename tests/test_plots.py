"""The report's learning-curve figure keeps its loss axis readable."""

import matplotlib.pyplot as plt

from foodcnn.plots import learning_curves


def history(train_losses: list[float]) -> list[dict]:
    return [
        {"epoch": epoch, "train_loss": loss, "val_loss": loss * 1.1, "train_accuracy": 0.5, "val_accuracy": 0.4}
        for epoch, loss in enumerate(train_losses, 1)
    ]


def share_of_axis_between(axis: plt.Axes, low: float, high: float) -> float:
    """How much of the axis height lies between two values, whatever the scale, as drawn."""
    axis.figure.canvas.draw()
    (_, bottom), (_, top) = axis.transData.transform([(1, low), (1, high)])
    return (top - bottom) / axis.bbox.height


def test_a_diverging_first_epoch_leaves_the_converged_losses_readable():
    converging = [2.3, 2.1, 1.9, 1.8, 1.7, 1.6, 1.5]
    figure = learning_curves(
        {
            "lr 0.1": {"diverged": history([12000.0, *converging]), "steady": history(converging)},
            "lr 0.01": {"steady": history(converging)},
        },
        "BasicCNN",
    )
    loss_axis = figure.axes[0]
    assert share_of_axis_between(loss_axis, 1.5, 1.9) > 0.1, "the converged values are apart"
    assert loss_axis.get_ylim()[0] < 1.5 < 2.3 * 1.1 < loss_axis.get_ylim()[1], "every other value is on the axis"
    markers = [line for line in loss_axis.get_lines() if line.get_marker() == "^"]
    assert sorted(len(line.get_xdata()) for line in markers) == [0, 0, 1, 1], "the two outliers, at the top edge"
    assert all(y == loss_axis.get_ylim()[1] for line in markers for y in line.get_ydata())
    assert "off the axis (up to 1.32e+04)" in loss_axis.get_title(loc="right")
    assert loss_axis.get_title(loc="left") == "lr 0.1" and figure.axes[2].get_title(loc="left") == "lr 0.01"
    assert not figure.axes[2].get_title(loc="right"), "each row's axis is clipped on its own runs"
    plt.close(figure)


def test_losses_without_outliers_are_all_on_the_axis():
    figure = learning_curves(
        {"lr 0.1": {"steady": history([2.4, 1.2, 0.6, 0.3, 0.1, 0.05, 0.02, 0.01])}}, "overfitting"
    )
    loss_axis = figure.axes[0]
    assert loss_axis.get_ylim()[1] >= 2.4 * 1.1
    assert not [line for line in loss_axis.get_lines() if line.get_marker() == "^"] and not loss_axis.get_title(
        loc="right"
    )
    plt.close(figure)
