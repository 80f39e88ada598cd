"""The markdown report: the study's tables filled with this run's numbers and intervals, and its figures."""

from dataclasses import dataclass

from foodcnn.params import Params
from foodcnn.roles import dropout_role, finetune_role, model_title, study_labels


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
    seeds, grid_seeds = params.train.seeds, params.grid.seeds
    return "\n".join(
        [
            f"- Data: {source}, {len(split['classes'])} classes, "
            f"{counts['train']} / {counts['val']} / {counts['test']} train / val / test images",
            f"- Image size: {params.data.image_size} x {params.data.image_size} ({params.data.resize})",
            f"- From-scratch models: {params.train.epochs} epochs; MobileNetV2: {params.finetune.epochs} epochs, "
            f"weights {weights_label(params.finetune.weights)}",
            f"- Grid seeds: {', '.join(map(str, grid_seeds))}; the study's models (each grid winner trained again, "
            f"the dropout retrains, the fine-tunes) train at the seeds {', '.join(map(str, seeds))} "
            + (
                "(one trained model each: every comparison's verdict is about single trained models)"
                if len(seeds) == 1
                else f"({len(seeds)} trained models each; numbers are means ± std over seeds)"
            ),
            "- Every choice (grid winner, dropout p, the best models compared) is made on validation accuracy; "
            "test numbers are reported only.",
            "- Test numbers carry a 95 % percentile-bootstrap interval in brackets: "
            f"{params.evaluate.bootstrap_resamples} resamples of the {counts['test']} test images "
            f"(seed {params.seed}).",
        ]
    )


def scratch_table(params: Params, results: StudyResults) -> str:
    """The study's first table: the best configuration per model, without and with dropout, as trained at the
    study's seeds (the grid's own numbers are in the grid table)."""
    seeds = len(params.train.seeds)
    rows = []
    for model in params.grid.model:
        winner = next(row for row in results.grid if row["model"] == model and row["selected"] == "True")
        with_dropout = dropout_role(model)
        validation, dropout_validation = results.validation[model], results.validation[with_dropout]
        rows.append(
            [
                model_title(model),
                f"lr {float(winner['lr']):g}, batch {winner['batch_size']}",
                with_std(validation["val_accuracy"], validation["val_accuracy_std"], seeds),
                estimate(results.test[model], "accuracy"),
                estimate(results.test[model], "macro_f1"),
                f"{results.test[with_dropout]['dropout_p']:g}",
                with_std(dropout_validation["val_accuracy"], dropout_validation["val_accuracy_std"], seeds),
                estimate(results.test[with_dropout], "accuracy"),
                estimate(results.test[with_dropout], "macro_f1"),
            ]
        )
    header = [
        "Model",
        "Selected configuration",
        "Val acc %",
        "Test acc %",
        "Test macro-F1 %",
        "Dropout p",
        "Val acc % (dropout)",
        "Test acc % (dropout)",
        "Test macro-F1 % (dropout)",
    ]
    return markdown_table(header, rows)


def transfer_table(params: Params, results: StudyResults) -> str:
    """The study's second table: MobileNetV2 fine-tuning cases."""
    seeds = len(params.train.seeds)
    rows = []
    for case, blocks in params.finetune.cases.items():
        role = finetune_role(case)
        trains = "head only" if blocks == 0 else f"head + last {blocks} feature blocks"
        validation = results.validation[role]
        rows.append(
            [
                case,
                trains,
                weights_label(params.finetune.weights),
                with_std(validation["val_accuracy"], validation["val_accuracy_std"], seeds),
                estimate(results.test[role], "accuracy"),
                estimate(results.test[role], "macro_f1"),
            ]
        )
    return markdown_table(["Case", "Trains", "Weights", "Val acc %", "Test acc %", "Test macro-F1 %"], rows)


def dropout_table(params: Params, results: StudyResults) -> str:
    """Every dropout retrain on validation, where the p of the tables above was chosen."""
    seeds = len(params.train.seeds)
    rows = [
        [
            model_title(model),
            f"{p:g}",
            validation["best_epoch"],
            with_std(validation["val_accuracy"], validation["val_accuracy_std"], seeds),
            f"{validation['val_loss']:.3f}",
            "yes" if p == results.test[dropout_role(model)]["dropout_p"] else "",
        ]
        for model, retrains in results.dropout.items()
        for p, validation in retrains.items()
    ]
    return markdown_table(["Model", "Dropout p", "Best epoch", "Val acc %", "Val loss", "Selected"], rows)


def grid_table(params: Params, results: StudyResults) -> str:
    seeds = len(params.grid.seeds)
    rows = [
        [
            model_title(row["model"]),
            f"{float(row['lr']):g}",
            row["batch_size"],
            row["best_epoch"],
            with_std(row["val_accuracy"], row["val_accuracy_std"], seeds),
            f"{float(row['val_loss']):.3f}",
            "yes" if row["selected"] == "True" else "",
        ]
        for row in results.grid
    ]
    return markdown_table(["Model", "lr", "Batch size", "Best epoch", "Val acc %", "Val loss", "Selected"], rows)


def p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def points(share: float) -> str:
    """A signed difference in percentage points; a rounded zero is +0.0, never -0.0."""
    return f"{round(100 * share, 1) + 0.0:+.1f}"


def interval_points(low: float, high: float) -> str:
    return f"[{points(low)}, {points(high)}]"


def trained_models_table(results: StudyResults, labels: dict[str, str]) -> str:
    """The comparisons as verdicts on these trained models: the test images vary, the seeds are as trained."""
    rows = []
    for comparison in results.comparisons.values():
        models = comparison["trained_models"]
        rows.append(
            [
                comparison["comparison"],
                labels[comparison["a"]],
                labels[comparison["b"]],
                points(comparison["accuracy"]["difference"]),
                interval_points(*models["accuracy_ci95"]),
                f"{p_value(models['p_value'])} ({models['test']})",
                p_value(models["p_holm"]),
                models["verdict"],
            ]
        )
    header = [
        "Comparison",
        "A",
        "B",
        "Test acc B - A (points)",
        "95 % interval (test images)",
        "p",
        "p Holm",
        "Verdict on these trained models",
    ]
    return markdown_table(header, rows)


def procedures_table(results: StudyResults, labels: dict[str, str]) -> str:
    """The comparisons as verdicts on the training procedures: seeds and test images vary."""
    rows = []
    for comparison in results.comparisons.values():
        procedures = comparison["procedures"]
        seeds = " / ".join(map(str, comparison["seeds"]))
        if "p_value" in procedures:
            rows.append(
                [
                    comparison["comparison"],
                    labels[comparison["a"]],
                    labels[comparison["b"]],
                    seeds,
                    interval_points(*procedures["accuracy_ci95"]),
                    p_value(procedures["p_value"]),
                    p_value(procedures["p_holm"]),
                    procedures["verdict"],
                ]
            )
        else:
            rows.append(
                [
                    comparison["comparison"],
                    labels[comparison["a"]],
                    labels[comparison["b"]],
                    seeds,
                    "–",
                    "–",
                    "–",
                    procedures["verdict"],
                ]
            )
    header = [
        "Comparison",
        "A",
        "B",
        "Seeds A / B",
        "95 % interval (seeds and test images)",
        "p",
        "p Holm",
        "Verdict on the procedures",
    ]
    return markdown_table(header, rows)


def comparisons_section(results: StudyResults, labels: dict[str, str]) -> str:
    """Both kinds of verdict, each in its own table and said as what it is."""
    comparisons = list(results.comparisons.values())
    blocks = [
        "### These trained models (only the test images vary)",
        trained_models_table(results, labels),
        TRAINED_MODELS_NOTE,
        "### The training procedures (seeds and test images vary)",
    ]
    if comparisons and all("seeds_needed" in comparison["procedures"] for comparison in comparisons):
        needed = comparisons[0]["procedures"]["seeds_needed"]
        blocks.append(
            f"No verdict about the training procedures: they need {needed} trained models (seeds) per "
            f"side, and this run has {' / '.join(map(str, comparisons[0]['seeds']))}. Every verdict above "
            f"is about single trained models: another seed, or the same seed on another CPU, can move "
            f"these networks' test accuracy by several points and turn a verdict around."
        )
    else:
        blocks += [procedures_table(results, labels), PROCEDURES_NOTE]
    return "\n\n".join(blocks)


TRAINED_MODELS_NOTE = (
    "B minus A on the same test images; with several seeds, the means over seeds. The interval is a paired "
    "bootstrap of the test images; p is McNemar's exact test on the images exactly one of the two models "
    "classifies correctly (one model per side), else the bootstrap's; p Holm adjusts it for the comparisons above "
    "and the verdict reads it. These verdicts are about these trained models only: would they differ on other "
    "images? Not about what training the same way with another seed would give."
)
PROCEDURES_NOTE = (
    "Whether training the same way again, with other seeds, would keep the difference: the interval counts the "
    "spread between seeds and the test images (Student t, Welch-Satterthwaite degrees of freedom); p Holm adjusts "
    "p for the comparisons above, and a verdict needs at least 3 seeds per side (docs/comparing.md: how this was "
    "calibrated)."
)


def duplicates_section(duplicates: dict) -> str:
    """What the split left out as copies of a kept photo, per class, and the test leaks of a fixed test list."""
    threshold = duplicates["near_duplicates"]
    rule = (
        "identical pixels only (near-duplicates off)"
        if threshold == "off"
        else f"identical pixels, or difference hashes at most {threshold} of 64 bits apart"
    )
    lines = [
        f"Duplicates ({rule}; `split.near_duplicates`): {duplicates['left_out']} photos left out, each a copy "
        "of a photo kept (`data/split_report.json` lists every group)."
    ]
    if duplicates["test_leaks"] is not None:
        lines.append(
            f"The fixed test list had {duplicates['test_leaks']} leaks: training photos that duplicate a "
            "test photo, left out of training."
        )
    if duplicates["left_out"]:
        rows = [[label, counts["identical"], counts["near"]] for label, counts in duplicates["per_class"].items()]
        lines.append(markdown_table(["Class", "Identical pixels", "Near-duplicates"], rows))
    return "\n\n".join(lines)


def build_report(params: Params, results: StudyResults) -> str:
    figures = "\n\n".join(f"### {caption}\n\n![{caption}]({path})" for caption, path in results.figures)
    return (
        "\n\n".join(
            [
                "# foodcnn: study report",
                describe_run(params, results.split),
                "## Best from-scratch models, without and with dropout (test set)",
                scratch_table(params, results),
                "## Transfer learning with MobileNetV2 (test set)",
                transfer_table(params, results),
                "## Comparisons (test set)",
                comparisons_section(results, study_labels(params)),
                "## Grid search (validation set)",
                grid_table(params, results),
                "## Dropout retrains of the grid winners (validation set)",
                dropout_table(params, results),
                "## Duplicates left out by the split",
                duplicates_section(results.split["duplicates"]),
                "## Figures",
                figures,
            ]
        )
        + "\n"
    )
