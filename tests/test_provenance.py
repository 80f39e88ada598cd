"""The record of the machine that made the committed results, and the line `make repro` ends with when they change."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from foodcnn import provenance
from foodcnn.provenance import (
    PROVENANCE,
    CpuFamily,
    Provenance,
    changed_files,
    committed_result_paths,
    committed_results_notice,
    notice_after_repro,
    parse_cpuinfo,
    same_family,
    this_cpu,
)

REPO = Path(__file__).resolve().parents[1]
EPYC = CpuFamily("AuthenticAMD", 25, 17, "AMD EPYC", ("avx2", "fma", "avx512f"))
XEON = CpuFamily("GenuineIntel", 6, None, "Intel(R) Xeon(R) Processor", ("avx2", "fma", "avx512f", "amx_tile"))
LIBRARIES = {"torch": "2.14.1+cu130", "MKL": "2024.2-Product", "oneDNN": "v3.12.0"}
CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
flags\t\t: fpu avx2 fma avx512f avx512_bf16 sse4_2

processor\t: 1
vendor_id\t: GenuineIntel
"""


def test_a_cpu_is_read_from_the_first_processor_of_cpuinfo_with_the_isa_that_picks_library_code():
    assert parse_cpuinfo(CPUINFO) == CpuFamily(
        "AuthenticAMD", 25, 17, "AMD EPYC", ("avx2", "fma", "avx512f", "avx512_bf16")
    )


def test_without_cpuinfo_the_cpu_is_unknown_and_of_no_recorded_family(monkeypatch, tmp_path):
    monkeypatch.setattr(provenance, "CPUINFO", tmp_path / "missing")
    assert this_cpu().vendor == "unknown" and same_family(EPYC, this_cpu()) is False


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (EPYC, True),
        (CpuFamily("AuthenticAMD", 25, 1, "AMD EPYC 7763", ("avx2", "fma")), False),  # Zen 3: another model
        (CpuFamily("GenuineIntel", 25, 17, "AMD EPYC", ()), False),
        (CpuFamily("AuthenticAMD", 25, None, "AMD EPYC", ()), None),  # a record without the model: undecided
    ],
)
def test_one_family_is_one_vendor_family_and_model(other, same):
    assert same_family(other, EPYC) is same


def test_the_committed_record_names_the_pinned_torch_and_reads_back():
    record = Provenance.from_json((REPO / PROVENANCE).read_text())
    pinned = next(
        line.split("==")[1].split()[0]
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.startswith("torch==")
    )
    assert record.libraries["torch"].split("+")[0] == pinned
    assert Provenance.from_json(record.to_json()) == record


def test_no_changed_result_says_nothing():
    assert committed_results_notice([], Provenance(XEON, LIBRARIES), Provenance(EPYC, LIBRARIES)) is None


def test_results_changed_on_another_family_is_one_line_naming_both_cpus_and_the_command_that_tests_it():
    changed = ["dvc.lock", "metrics/test.json", "plots/grid.csv", "reports/report.md", "metrics/comparisons.json"]
    line = committed_results_notice(changed, Provenance(XEON, LIBRARIES), Provenance(EPYC, LIBRARIES))
    assert line == (
        "committed results changed (dvc.lock, metrics/test.json, plots/grid.csv and 2 more): made on "
        "Intel(R) Xeon(R) Processor (GenuineIntel family 6), this is AMD EPYC (AuthenticAMD family 25 "
        "model 17), another CPU family; `foodcnn diff HEAD workspace` tests whether the change is "
        "evidence, docs/reproducibility.md says what to expect"
    )


def test_on_the_same_family_the_line_says_so_and_names_a_changed_library():
    line = committed_results_notice(
        ["dvc.lock"], Provenance(EPYC, LIBRARIES), Provenance(EPYC, {**LIBRARIES, "torch": "2.15.0"})
    )
    assert (
        "(dvc.lock): made on AMD EPYC (AuthenticAMD family 25 model 17), this is AMD EPYC (AuthenticAMD family "
        "25 model 17), the same CPU family, with torch 2.15.0 instead of 2.14.1+cu130; `foodcnn diff"
    ) in line
    assert "\n" not in line


def test_a_record_without_the_model_number_says_the_family_is_undecided():
    line = committed_results_notice(
        ["dvc.lock"],
        Provenance(XEON, LIBRARIES),
        Provenance(CpuFamily("GenuineIntel", 6, 143, "Intel Xeon", ()), LIBRARIES),
    )
    assert "(GenuineIntel family 6 model 143), the same vendor and family (the record has no model number);" in line


def _git(repo: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *arguments],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A committed repository with a dvc.lock listing a metrics file and a plots folder, and a provenance.json."""
    lock = {
        "schema": "2.0",
        "stages": {
            "train": {
                "cmd": "python train.py",
                "outs": [{"path": "plots/history", "md5": "a.dir"}, {"path": "models/model.pt", "md5": "b"}],
            },
            "evaluate": {"cmd": "python evaluate.py", "outs": [{"path": "metrics/test.json", "md5": "c"}]},
        },
    }
    (tmp_path / "dvc.lock").write_text(json.dumps(lock))  # JSON is YAML
    for name in ("plots/history/run.tsv", "metrics/test.json", "README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("committed\n")
    (tmp_path / ".gitignore").write_text("/models\n")  # DVC's cached outputs are ignored by git
    (tmp_path / PROVENANCE).write_text(Provenance(XEON, LIBRARIES).to_json())
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "results")
    return tmp_path


def test_committed_results_are_dvc_lock_and_the_outputs_it_lists(study):
    assert committed_result_paths(study) == ["dvc.lock", "metrics/test.json", "models/model.pt", "plots/history"]


def test_changed_results_are_modified_or_new_files_among_them_not_other_files_or_git_ignored_outputs(study):
    paths = committed_result_paths(study)
    (study / "models").mkdir()
    (study / "models/model.pt").write_text("retrained\n")
    (study / "README.md").write_text("edited\n")
    assert changed_files(study, paths) == []
    (study / "metrics/test.json").write_text("other digits\n")
    (study / "plots/history/new_run.tsv").write_text("a new run\n")
    assert changed_files(study, paths) == ["metrics/test.json", "plots/history/new_run.tsv"]


def test_after_repro_an_unchanged_study_says_nothing_and_a_changed_one_names_the_committed_machine(study):
    assert notice_after_repro(study) is None
    (study / "metrics/test.json").write_text("other digits\n")
    line = notice_after_repro(study)
    assert line.startswith(
        "committed results changed (metrics/test.json): made on Intel(R) Xeon(R) Processor "
        "(GenuineIntel family 6), this is "
    )
    assert line.endswith("docs/reproducibility.md says what to expect")


def test_a_dvc_lock_whose_outputs_keep_their_hashes_is_no_changed_result(study):
    lock = json.loads((study / "dvc.lock").read_text())
    lock["stages"]["train"]["deps"] = [{"path": "train.py", "md5": "edited code"}]  # rerun, same bytes out
    (study / "dvc.lock").write_text(json.dumps(lock))
    assert notice_after_repro(study) is None
    lock["stages"]["train"]["outs"][1]["md5"] = "retrained"  # a model git does not track
    (study / "dvc.lock").write_text(json.dumps(lock))
    assert notice_after_repro(study).startswith("committed results changed (dvc.lock): made on ")


def test_a_copy_outside_git_says_nothing(study):
    (study / "metrics/test.json").write_text("other digits\n")
    shutil.rmtree(study / ".git")
    assert notice_after_repro(study) is None
