"""Stage report: figures and a markdown report of this run, computed from the metrics and plot files."""

import shutil

from foodcnn import cli, params
from foodcnn.data.tensors import load_image_set
from foodcnn.figures import report_figures
from foodcnn.io import atomic_text, read_json, read_table
from foodcnn.layout import COMPARISONS, GRID_TABLE, REPORTS, SELECTION, SPLIT_REPORT, TEST_METRICS, require
from foodcnn.report import StudyResults, build_report
from foodcnn.selection import dropout_retrains, study_models


def main() -> None:
    settings = params.load()
    require(SPLIT_REPORT, GRID_TABLE, SELECTION, TEST_METRICS, COMPARISONS)
    shutil.rmtree(REPORTS, ignore_errors=True)
    test = read_json(TEST_METRICS)
    split = read_json(SPLIT_REPORT)
    classes = tuple(sorted(split["classes"]))
    models = study_models(settings, read_json(SELECTION))
    validation = {role: model.validation for role, model in models.items()}
    figures = report_figures(settings, test, classes, validation, load_image_set("test").images, split["duplicates"])
    results = StudyResults(
        split=split,
        grid=read_table(GRID_TABLE),
        validation=validation,
        dropout={model: {p: retrain.validation for p, retrain in retrains.items()}
                 for model, retrains in dropout_retrains(settings).items()},
        test=test,
        comparisons=read_json(COMPARISONS),
        figures=figures,
    )
    with atomic_text(REPORTS / "report.md") as handle:
        handle.write(build_report(settings, results))
    print(f"wrote {REPORTS / 'report.md'} with {len(figures)} figures")


if __name__ == "__main__":
    cli.run(main)
