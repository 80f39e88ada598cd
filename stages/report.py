"""Stage report: figures and a markdown report of this run, computed from the results and plot files."""

from foodcnn import cli, params
from foodcnn.data.tensors import load_image_set
from foodcnn.figures import report_figures
from foodcnn.io import atomic_text, fresh_dir, read_json, read_table
from foodcnn.layout import COMPARISONS, GRID_TABLE, REPORTS, SPLIT_REPORT, TEST_RESULTS, prepared, require, test_outputs
from foodcnn.report import StudyResults, build_report
from foodcnn.selection import dropout_retrains, study_models


def main() -> None:
    settings = params.load()
    # Every input is read or checked before reports/ is touched, so a missing one leaves the last report.
    require(SPLIT_REPORT, GRID_TABLE, TEST_RESULTS, COMPARISONS, prepared("test"))
    test = read_json(TEST_RESULTS)
    split = read_json(SPLIT_REPORT)
    classes = tuple(sorted(split["classes"]))
    models = study_models(settings)
    require(*(test_outputs(role)[0] for role in models))
    validation = {role: model.validation for role, model in models.items()}
    dropout = {
        model: {p: retrain.validation for p, retrain in retrains.items()}
        for model, retrains in dropout_retrains(settings).items()
    }
    images = load_image_set("test").images
    with fresh_dir(REPORTS):
        figures = report_figures(settings, test, classes, validation, images, split["duplicates"])
        results = StudyResults(
            split=split,
            grid=read_table(GRID_TABLE),
            validation=validation,
            dropout=dropout,
            test=test,
            comparisons=read_json(COMPARISONS),
            figures=figures,
        )
        with atomic_text(REPORTS / "report.md") as handle:
            handle.write(build_report(settings, results))
    print(f"wrote {REPORTS / 'report.md'} with {len(figures)} figures")


if __name__ == "__main__":
    cli.run(main)
