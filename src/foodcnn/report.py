"""The markdown report: the study's tables filled with this run's numbers and intervals, and its figures."""

from dataclasses import dataclass

from foodcnn.params import Params
from foodcnn.roles import MODEL_TITLES, dropout_role, finetune_role, study_labels


@dataclass(frozen=True)
class StudyResults:
    """Everything the report shows, as read from the pipeline's results, metrics and plot files."""

    split: dict  # data/split_report.json
    grid: list[dict]  # plots/grid.csv rows
    validation: dict[str, dict]  # role -> validation metrics over seeds (selection.over_seeds)
    dropout: dict[str, dict[float, dict]]  # model -> p -> validation metrics of every dropout retrain
    test: dict[str, dict]  # results/test.json: role -> test metrics with intervals
    comparisons: dict[str, dict]  # results/comparisons.json
    figures: list[tuple[str, str]]  # (caption, path relative to the report)


def percent(value: float | str) -> str:
    return f"{100 * float(value):.1f}"


def with_std(mean: float | str, std: float | str, seeds: int) -> str:
    """A percentage, with its standard deviation over seeds when there are several."""
    return percent(mean) if seeds == 1 else f"{percent(mean)} ± {percent(std)}"


def estimate(result: dict, metric: str) -> str:
    """A test percentage (± std over seeds) with its 95 % interval, e.g. 49.5 [39.4, 59.6]."""
    low, high = result[f"{metric}_ci95"]
    value = percent(result[metric])
    if f"{metric}_std" in result:
        value += f" ± {percent(result[f'{metric}_std'])}"
    return f"{value} [{percent(low)}, {percent(high)}]"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def weights_label(weights: str) -> str:
    return {"imagenet": "ImageNet (IMAGENET1K_V1)", "none": "none (random init)"}.get(weights, f"state dict {weights}")


def describe_run(params: Params, split: dict) -> str:
    """The facts a reader needs to not mistake one kind of run for another."""
    counts = split["images"]
    data = params.data
    if data.source == "food101":
        details = [f"at most {data.food101.images_per_class} per class"] if data.food101.images_per_class else []
        details += ["Food-101's official test split"] if data.food101.official_test else []
        source = "Food-101 photos" + (f" ({', '.join(details)})" if details else "")
    elif data.source == "folder":
        source = f"images from the folder {data.folder.path}"
    else:
        source = "synthetic sample images (not food photos)"
    seeds = params.train.seeds
    return "\n".join([
        f"- Data: {source}, {len(split['classes'])} classes, "
        f"{counts['train']} / {counts['val']} / {counts['test']} train / val / test images",
        f"- Image size: {params.data.image_size} x {params.data.image_size} ({params.data.resize})",
        f"- From-scratch models: {params.train.epochs} epochs; MobileNetV2: {params.finetune.epochs} epochs, "
        f"weights {weights_label(params.finetune.weights)}",
        f"- Training seeds: {', '.join(map(str, seeds))} "
        + ("(one run per configuration)" if len(seeds) == 1 else
           f"({len(seeds)} runs per configuration; numbers are means ± std over seeds)"),
        "- Every choice (grid winner, dropout p, the best models compared) is made on validation accuracy; "
        "test numbers are reported only.",
        f"- Test numbers carry a 95 % percentile-bootstrap interval in brackets: {params.evaluate.bootstrap_resamples} "
        f"resamples of the {counts['test']} test images (seed {params.seed}).",
    ])


def scratch_table(params: Params, results: StudyResults) -> str:
    """The study's first table: the best configuration per model, without and with dropout."""
    seeds = len(params.train.seeds)
    rows = []
    for model in params.grid.model:
        winner = next(row for row in results.grid if row["model"] == model and row["selected"] == "True")
        with_dropout = dropout_role(model)
        dropout_validation = results.validation[with_dropout]
        rows.append([
            MODEL_TITLES[model], f"lr {float(winner['lr']):g}, batch {winner['batch_size']}",
            with_std(winner["val_accuracy"], winner["val_accuracy_std"], seeds),
            estimate(results.test[model], "accuracy"), estimate(results.test[model], "macro_f1"),
            f"{results.test[with_dropout]['dropout_p']:g}",
            with_std(dropout_validation["val_accuracy"], dropout_validation["val_accuracy_std"], seeds),
            estimate(results.test[with_dropout], "accuracy"), estimate(results.test[with_dropout], "macro_f1"),
        ])
    header = ["Model", "Selected configuration", "Val acc %", "Test acc %", "Test macro-F1 %",
              "Dropout p", "Val acc % (dropout)", "Test acc % (dropout)", "Test macro-F1 % (dropout)"]
    return markdown_table(header, rows)


def transfer_table(params: Params, results: StudyResults) -> str:
    """The study's second table: MobileNetV2 fine-tuning cases."""
    seeds = len(params.train.seeds)
    rows = []
    for case, blocks in params.finetune.cases.items():
        role = finetune_role(case)
        trains = "head only" if blocks == 0 else f"head + last {blocks} feature blocks"
        validation = results.validation[role]
        rows.append([case, trains, weights_label(params.finetune.weights),
                     with_std(validation["val_accuracy"], validation["val_accuracy_std"], seeds),
                     estimate(results.test[role], "accuracy"), estimate(results.test[role], "macro_f1")])
    return markdown_table(["Case", "Trains", "Weights", "Val acc %", "Test acc %", "Test macro-F1 %"], rows)


def dropout_table(params: Params, results: StudyResults) -> str:
    """Every dropout retrain on validation, where the p of the tables above was chosen."""
    seeds = len(params.train.seeds)
    rows = [
        [MODEL_TITLES[model], f"{p:g}", validation["best_epoch"],
         with_std(validation["val_accuracy"], validation["val_accuracy_std"], seeds),
         f"{validation['val_loss']:.3f}", "yes" if p == results.test[dropout_role(model)]["dropout_p"] else ""]
        for model, retrains in results.dropout.items()
        for p, validation in retrains.items()
    ]
    return markdown_table(["Model", "Dropout p", "Best epoch", "Val acc %", "Val loss", "Selected"], rows)


def grid_table(params: Params, results: StudyResults) -> str:
    seeds = len(params.train.seeds)
    rows = [
        [MODEL_TITLES[row["model"]], f"{float(row['lr']):g}", row["batch_size"], row["best_epoch"],
         with_std(row["val_accuracy"], row["val_accuracy_std"], seeds), f"{float(row['val_loss']):.3f}",
         "yes" if row["selected"] == "True" else ""]
        for row in results.grid
    ]
    return markdown_table(["Model", "lr", "Batch size", "Best epoch", "Val acc %", "Val loss", "Selected"], rows)


def p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def comparison_table(results: StudyResults, labels: dict[str, str]) -> str:
    """The paired comparisons: accuracy difference a - b in points, its interval and McNemar's p-value."""
    rows = []
    for comparison in results.comparisons.values():
        low, high = comparison["difference_ci95"]
        rows.append([comparison["comparison"], labels[comparison["a"]], labels[comparison["b"]],
                     f"{100 * comparison['difference']:+.1f}", f"[{100 * low:+.1f}, {100 * high:+.1f}]",
                     p_value(comparison["p_value"])])
    header = ["Comparison", "A", "B", "Test acc A - B (points)", "95 % interval", "p (McNemar, exact)"]
    return markdown_table(header, rows)


COMPARISON_NOTE = (
    "Both models of a comparison are scored on the same test images: the interval is a paired bootstrap of "
    "the accuracy difference (the same resamples for both), and p is McNemar's exact test on the images "
    "exactly one of the two classifies correctly (with several seeds, the largest p over seeds). An interval "
    "that contains 0, or p above 0.05, means this test set cannot tell the two models apart."
)


def duplicates_section(duplicates: dict) -> str:
    """What the split left out as copies of a kept photo, per class, and the test leaks of a fixed test list."""
    threshold = duplicates["near_duplicates"]
    rule = ("identical pixels only (near-duplicates off)" if threshold == "off" else
            f"identical pixels, or difference hashes at most {threshold} of 64 bits apart")
    lines = [f"Duplicates ({rule}; `split.near_duplicates`): {duplicates['left_out']} photos left out, each a copy "
             "of a photo kept (`data/split_report.json` lists every group)."]
    if duplicates["test_leaks"] is not None:
        lines.append(f"The fixed test list had {duplicates['test_leaks']} leaks: training photos that duplicate a "
                     "test photo, left out of training.")
    if duplicates["left_out"]:
        rows = [[label, counts["identical"], counts["near"]] for label, counts in duplicates["per_class"].items()]
        lines.append(markdown_table(["Class", "Identical pixels", "Near-duplicates"], rows))
    return "\n\n".join(lines)


def build_report(params: Params, results: StudyResults) -> str:
    figures = "\n\n".join(f"### {caption}\n\n![{caption}]({path})" for caption, path in results.figures)
    return "\n\n".join([
        "# foodcnn: study report",
        describe_run(params, results.split),
        "## Best from-scratch models, without and with dropout (test set)",
        scratch_table(params, results),
        "## Transfer learning with MobileNetV2 (test set)",
        transfer_table(params, results),
        "## Paired comparisons (test set)",
        comparison_table(results, study_labels(params)),
        COMPARISON_NOTE,
        "## Grid search (validation set)",
        grid_table(params, results),
        "## Dropout retrains of the grid winners (validation set)",
        dropout_table(params, results),
        "## Duplicates left out by the split",
        duplicates_section(results.split["duplicates"]),
        "## Figures",
        figures,
    ]) + "\n"
