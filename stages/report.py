"""Stage report: figures and a markdown report of this run, computed from the metrics files."""

import shutil
from pathlib import Path

from foodcnn import cli, params
from foodcnn.evaluation import confusion_from_rows
from foodcnn.io import atomic_text, read_json, read_table
from foodcnn.plots import confusion_figure, learning_curves, save_figure
from foodcnn.report import MODEL_TITLES, StudyResults, build_report
from foodcnn.runs import read_run_metrics, run_name

REPORTS = Path("reports")
FIGURES = REPORTS / "figures"


def history(name: str) -> list[dict]:
    return read_table(Path("plots/history", f"{name}.tsv"), delimiter="\t")


def main() -> None:
    settings = params.load()
    shutil.rmtree(REPORTS, ignore_errors=True)
    test = read_json("metrics/test.json")
    grid = read_table("plots/grid.csv")
    split = read_json("data/split_report.json")
    classes = tuple(sorted(split["classes"]))
    figures = []
    for model in settings.grid.model:
        for lr in settings.grid.lr:
            runs = [run_name(model, lr, batch_size) for batch_size in settings.grid.batch_size]
            path = FIGURES / f"curves_{model}_lr{lr:g}.png"
            title = f"{MODEL_TITLES[model]}, lr {lr:g}"
            save_figure(learning_curves({run: history(run) for run in runs}, title), path)
            figures.append((f"Learning curves: {title}", path.relative_to(REPORTS).as_posix()))
    for key in test:
        matrix = confusion_from_rows(read_table(Path("plots/confusion", f"{key}.csv")), classes)
        path = FIGURES / f"confusion_{key}.png"
        save_figure(confusion_figure(matrix, classes, f"{key}: test accuracy {100 * test[key]['accuracy']:.1f} %"), path)
        figures.append((f"Confusion matrix: {key}", path.relative_to(REPORTS).as_posix()))
    dropout_names = [run_name(m, 0.0, 0, dropout=p) for m in settings.grid.model for p in settings.dropout]
    finetune_names = [run_name("mobilenet", 0.0, 0, case=case) for case in settings.finetune.cases]
    results = StudyResults(
        split=split,
        grid=grid,
        dropout=read_run_metrics("dropout", dropout_names),
        finetune=read_run_metrics("finetune", finetune_names),
        test=test,
        figures=figures,
    )
    with atomic_text(REPORTS / "report.md") as handle:
        handle.write(build_report(settings, results))
    print(f"wrote {REPORTS / 'report.md'} with {len(figures)} figures")


if __name__ == "__main__":
    cli.run(main)
