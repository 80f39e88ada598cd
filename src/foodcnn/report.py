"""The markdown report: the study's tables filled with this run's numbers, and its figures."""

from dataclasses import dataclass

from foodcnn.params import Params
from foodcnn.runs import MOBILENET, run_name
from foodcnn.selection import best_by_validation

MODEL_TITLES = {"basic": "BasicCNN", "residual": "ResidualCNN", MOBILENET: "MobileNetV2"}


@dataclass(frozen=True)
class StudyResults:
    """Everything the report shows, as read from the pipeline's metrics files."""

    split: dict  # data/split_report.json
    grid: list[dict]  # plots/grid.csv rows
    dropout: dict[str, dict]  # run name -> validation metrics
    finetune: dict[str, dict]  # run name -> validation metrics
    test: dict[str, dict]  # study key -> test metrics
    figures: list[tuple[str, str]]  # (caption, path relative to the report)


def percent(value: float | str) -> str:
    return f"{100 * float(value):.1f}"


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
    return "\n".join([
        f"- Data: {source}, {len(split['classes'])} classes, "
        f"{counts['train']} / {counts['val']} / {counts['test']} train / val / test images",
        f"- Image size: {params.data.image_size} x {params.data.image_size} ({params.data.resize})",
        f"- From-scratch models: {params.train.epochs} epochs; MobileNetV2: {params.finetune.epochs} epochs, "
        f"weights {weights_label(params.finetune.weights)}",
        "- Every choice (grid winner, dropout p) is made on validation accuracy; test numbers are reported only.",
    ])


def scratch_table(params: Params, results: StudyResults) -> str:
    """The study's first table: the best configuration per model, without and with dropout."""
    rows = []
    for model in params.grid.model:
        winner = next(row for row in results.grid if row["model"] == model and row["selected"] == "True")
        runs = {run_name(model, 0.0, 0, dropout=p): p for p in params.dropout}
        best_dropout = best_by_validation({name: results.dropout[name] for name in runs})
        rows.append([
            MODEL_TITLES[model], f"lr {float(winner['lr']):g}, batch {winner['batch_size']}",
            percent(winner["val_accuracy"]), percent(results.test[model]["accuracy"]),
            percent(results.test[model]["macro_f1"]), f"{runs[best_dropout]:g}",
            percent(results.dropout[best_dropout]["val_accuracy"]), percent(results.test[best_dropout]["accuracy"]),
            percent(results.test[best_dropout]["macro_f1"]),
        ])
    header = ["Model", "Selected configuration", "Val acc %", "Test acc %", "Test macro-F1 %",
              "Dropout p", "Val acc % (dropout)", "Test acc % (dropout)", "Test macro-F1 % (dropout)"]
    return markdown_table(header, rows)


def transfer_table(params: Params, results: StudyResults) -> str:
    """The study's second table: MobileNetV2 fine-tuning cases."""
    rows = []
    for case, blocks in params.finetune.cases.items():
        name = run_name(MOBILENET, 0.0, 0, case=case)
        trains = "head only" if blocks == 0 else f"head + last {blocks} feature blocks"
        rows.append([case, trains, weights_label(params.finetune.weights), percent(results.finetune[name]["val_accuracy"]),
                     percent(results.test[name]["accuracy"]), percent(results.test[name]["macro_f1"])])
    return markdown_table(["Case", "Trains", "Weights", "Val acc %", "Test acc %", "Test macro-F1 %"], rows)


def grid_table(results: StudyResults) -> str:
    rows = [
        [MODEL_TITLES[row["model"]], f"{float(row['lr']):g}", row["batch_size"], row["best_epoch"],
         percent(row["val_accuracy"]), f"{float(row['val_loss']):.3f}", "yes" if row["selected"] == "True" else ""]
        for row in results.grid
    ]
    return markdown_table(["Model", "lr", "Batch size", "Best epoch", "Val acc %", "Val loss", "Selected"], rows)


def build_report(params: Params, results: StudyResults) -> str:
    figures = "\n\n".join(f"### {caption}\n\n![{caption}]({path})" for caption, path in results.figures)
    return "\n\n".join([
        "# foodcnn: study report",
        describe_run(params, results.split),
        "## Best from-scratch models, without and with dropout (test set)",
        scratch_table(params, results),
        "## Transfer learning with MobileNetV2 (test set)",
        transfer_table(params, results),
        "## Grid search (validation set)",
        grid_table(results),
        "## Figures",
        figures,
    ]) + "\n"
