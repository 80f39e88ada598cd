"""The portable CPU settings: in force after importing foodcnn, before torch runs, overridable, and checked."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from foodcnn.numerics import PORTABLE_CPU_SETTINGS, NumericsError, check_cpu_numerics

SRC = Path(__file__).resolve().parents[1] / "src"


def _python(code: str, env: dict[str, str], prefix: tuple[str, ...] = ()) -> str:
    environment = {**env, "PYTHONPATH": str(SRC)}
    result = subprocess.run(
        [*prefix, sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def _clean_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in PORTABLE_CPU_SETTINGS}


def test_importing_foodcnn_sets_the_portable_settings_before_torch_runs():
    shown = _python(
        "import foodcnn, os, torch; print(repr({n: os.environ.get(n) for n in foodcnn.numerics."
        "PORTABLE_CPU_SETTINGS}), torch.backends.cpu.get_cpu_capability())",
        _clean_environment(),
    )
    settings, capability = shown.rsplit(" ", 1)
    assert settings == repr(PORTABLE_CPU_SETTINGS)
    assert capability in {"AVX2", "DEFAULT"}  # DEFAULT on a CPU without AVX2


def test_a_variable_set_by_the_user_wins():
    environment = {**_clean_environment(), "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "AUTO"}
    shown = _python(
        "import foodcnn, os, torch; print(os.environ['MKL_CBWR'], os.environ['ONEDNN_MAX_CPU_ISA'],"
        " torch.backends.cpu.get_cpu_capability())",
        environment,
    )
    assert shown == "AUTO AVX2 DEFAULT"


@pytest.mark.parametrize(
    ("name", "value", "valid"),
    [
        ("ATEN_CPU_CAPABILITY", "garbage", "one of default, avx2, avx512 (unset: the portable avx2)"),
        ("ATEN_CPU_CAPABILITY", "AVX2", "one of default, avx2, avx512"),  # PyTorch compares case-sensitively
        ("ONEDNN_MAX_CPU_ISA", "AVX3", "one of SSE41, AVX, AVX2, "),
        ("MKL_CBWR", "AVX2,LOOSE", "[BRANCH=]<branch>[,STRICT], <branch> one of AUTO, COMPATIBLE, "),
    ],
)
def test_an_unknown_cpu_setting_is_one_line_naming_it_and_the_valid_values(name, value, valid):
    with pytest.raises(NumericsError) as error:
        check_cpu_numerics({name: value})
    assert str(error.value).startswith(f"{name}={value!r} is unknown to its library")
    assert valid in str(error.value) and "\n" not in str(error.value)


def test_the_portable_values_in_any_spelling_their_library_reads_warn_of_nothing():
    assert check_cpu_numerics({}) is None
    assert check_cpu_numerics(PORTABLE_CPU_SETTINGS) is None
    assert check_cpu_numerics({"ONEDNN_MAX_CPU_ISA": "avx2", "MKL_CBWR": "BRANCH=COMPATIBLE,STRICT"}) is None


def test_another_valid_value_warns_that_results_will_differ():
    warning = check_cpu_numerics({"ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AVX2"})
    assert warning == (
        "ATEN_CPU_CAPABILITY=avx512, MKL_CBWR=AVX2 instead of the portable ATEN_CPU_CAPABILITY=avx2, "
        "MKL_CBWR=COMPATIBLE,STRICT: results will not match the committed ones"
    )


def test_a_stage_stops_on_an_unknown_value_and_warns_once_on_another_valid_one(tmp_path):
    stage = [sys.executable, str(SRC.parent / "stages/params.py")]
    (tmp_path / "params.yaml").write_text((SRC.parent / "params.yaml").read_text())
    (tmp_path / "data/photos").mkdir(parents=True)  # data.folder.path, which the params stage checks
    environment = {**_clean_environment(), "PYTHONPATH": str(SRC)}
    bad = subprocess.run(
        stage, cwd=tmp_path, env={**environment, "ONEDNN_MAX_CPU_ISA": "garbage"}, capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ONEDNN_MAX_CPU_ISA='garbage' is unknown")
    assert bad.stderr.count("\n") == 1 and bad.stdout == ""
    other = subprocess.run(
        stage, cwd=tmp_path, env={**environment, "ATEN_CPU_CAPABILITY": "default"}, capture_output=True, text=True
    )
    assert other.returncode == 0 and other.stderr.count("results will not match the committed ones") == 1
