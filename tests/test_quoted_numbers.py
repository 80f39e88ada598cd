"""The numbers README.md and docs/ quote from the project's files are those files' numbers.

A quoted `foodcnn diff A B` or `dvc metrics diff A B` between two commits shows the accuracies that
metrics/test.json holds at A and at B; a command quoted on two pages shows the same output on both (one run);
the README's findings quote metrics/comparisons.json, and docs/data.md's grid figure plots/grid.csv, as
committed. tests/test_docs.py checks the README's results table against the report.
"""

import csv
import json
import re
import subprocess
from functools import cache

import pytest

from tests.conftest import REPO
from tests.test_docs import split_page

QUOTING = [REPO / "README.md", REPO / "docs" / "comparing.md"]
DIFF = re.compile(r"(foodcnn diff|dvc metrics diff) (\S+) (\S+)")


def console_outputs(text: str) -> list[tuple[str, list[str]]]:
    """Each `$ command` of the page's console blocks with the lines printed after it, in page order."""
    fenced, _ = split_page(text)
    outputs: list[tuple[str, list[str]]] = []
    previous = None
    for number, language, line in fenced:
        if language != "console":
            continue
        if line.startswith("$ "):
            outputs.append((line[2:].strip(), []))
        elif outputs and previous == number - 1:
            outputs[-1][1].append(line)
        previous = number if outputs else None
    return outputs


@cache
def is_commit(revision: str) -> bool:
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=REPO, capture_output=True, text=True
    )
    return result.returncode == 0


@cache
def committed_accuracies(revision: str) -> dict[str, float]:
    """metrics/test.json at `revision`, flattened as `dvc metrics diff` names its keys (macro_f1.basic, ...)."""
    text = subprocess.run(
        ["git", "show", f"{revision}:metrics/test.json"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    flat = {}
    for key, value in json.loads(text).items():
        flat |= {f"{key}.{name}": inner for name, inner in value.items()} if isinstance(value, dict) else {key: value}
    return flat


def quoted_diffs() -> list[tuple[str, str, str, str, list[str]]]:
    """(page, program, A, B, printed lines) of every quoted diff between two commits of this repository."""
    found = []
    for page in QUOTING:
        for command, lines in console_outputs(page.read_text()):
            match = DIFF.match(command)
            if match and is_commit(match.group(2)) and is_commit(match.group(3)):
                found.append((page.name, match.group(1), match.group(2), match.group(3), lines))
    return found


def trained_model_rows(lines: list[str]) -> dict[str, list[str]]:
    """`foodcnn diff`'s table of these trained models: model -> its cells."""
    rows, inside = {}, False
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| model | A | B | B − A"):
            inside = True
        elif inside and line.startswith("|") and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells
        elif inside and not line.startswith("|"):
            break
    return rows


def test_the_pages_quote_diffs_between_commits():
    programs = {program for _, program, *_ in quoted_diffs()}
    assert programs == {"foodcnn diff", "dvc metrics diff"}, "the checks below have something to check"


def test_a_quoted_foodcnn_diff_shows_the_committed_accuracies_of_both_revisions():
    for page, program, a, b, lines in quoted_diffs():
        if program != "foodcnn diff":
            continue
        rows = trained_model_rows(lines)
        assert rows, f"{page}: foodcnn diff {a} {b} quotes no table"
        for model, cells in rows.items():
            expected = [f"{100 * committed_accuracies(revision)[model]:.1f}" for revision in (a, b)]
            assert cells[1:3] == expected, (page, a, b, model, cells[1:3], expected)


def test_a_quoted_dvc_metrics_diff_shows_the_committed_values():
    for page, program, a, b, lines in quoted_diffs():
        if program != "dvc metrics diff":
            continue
        rows = [line.split() for line in lines if line.startswith("metrics/test.json")]
        assert rows, f"{page}: dvc metrics diff {a} {b} quotes no row"
        for _, key, old, new, change in rows:
            before, after = committed_accuracies(a)[key], committed_accuracies(b)[key]
            assert (float(old), float(new)) == (before, after), (page, key, old, new)
            assert float(change) == pytest.approx(after - before, abs=1e-4), (page, key, change)


def test_a_command_quoted_on_two_pages_printed_the_same_rows():
    by_command: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    for page, program, a, b, lines in quoted_diffs():
        rows = trained_model_rows(lines) if program == "foodcnn diff" else {}
        for model, cells in rows.items():
            seen = by_command.setdefault((program, a, b), {}).setdefault(model, cells)
            assert seen == cells, (page, program, a, b, model)


def test_the_readme_findings_quote_the_committed_comparisons():
    comparisons = json.loads((REPO / "metrics/comparisons.json").read_text())
    readme = (REPO / "README.md").read_text()
    found = re.search(
        r"dropout moved BasicCNN by (\S+) and ResidualCNN\s+by (\S+) points, ResidualCNN trails "
        r"BasicCNN by (\S+),",
        readme,
    )
    assert found, "the README states the dropout and architecture differences"
    quoted = [float(value.replace("−", "-")) for value in found.groups()]
    expected = [
        100 * comparisons["basic_dropout_vs_basic"]["difference"],
        100 * comparisons["residual_dropout_vs_residual"]["difference"],
        -100 * comparisons["residual_vs_basic"]["difference"],
    ]
    assert quoted == [round(value, 1) for value in expected], (quoted, expected)


def test_the_data_page_quotes_the_committed_grid():
    rows = list(csv.DictReader((REPO / "plots/grid.csv").open()))
    accuracies = [100 * float(row["val_accuracy"]) for row in rows if float(row["lr"]) == 0.1]
    page = (REPO / "docs/data.md").read_text()
    found = re.search(r"lr 0\.1 reaches only ([\d.]+)-([\d.]+) % validation", " ".join(page.split()))
    assert found, "docs/data.md states the grid's accuracy at lr 0.1"
    assert found.groups() == (f"{min(accuracies):.1f}", f"{max(accuracies):.1f}")


# The checks can fail.


def test_console_outputs_are_split_per_command_and_per_block():
    text = (
        "```console\n$ foodcnn diff a b\n| model | A | B | B − A (95 % CI) |\n|---|\n| basic | 1.0 | 2.0 | x |\n"
        "$ dvc metrics diff a b\nmetrics/test.json  basic  0.1  0.2  0.1\n```\nprose\n"
        "```console\n$ dvc exp show\nrow\n```\n```bash\nnot output\n```\n"
    )
    outputs = console_outputs(text)
    assert [command for command, _ in outputs] == ["foodcnn diff a b", "dvc metrics diff a b", "dvc exp show"]
    assert trained_model_rows(outputs[0][1]) == {"basic": ["basic", "1.0", "2.0", "x"]}
    assert outputs[1][1] == ["metrics/test.json  basic  0.1  0.2  0.1"] and outputs[2][1] == ["row"]


def test_a_revision_that_is_not_a_commit_is_not_checked_against_git():
    assert is_commit("HEAD") and not is_commit("workspace") and not is_commit("no-such-branch-here")
