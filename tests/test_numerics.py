"""The portable CPU settings: in force after importing foodcnn, before torch runs, and overridable."""

import os
import subprocess
import sys
from pathlib import Path

from foodcnn.numerics import PORTABLE_CPU_SETTINGS

SRC = Path(__file__).resolve().parents[1] / "src"


def _python(code: str, env: dict[str, str], prefix: tuple[str, ...] = ()) -> str:
    environment = {**env, "PYTHONPATH": str(SRC)}
    result = subprocess.run([*prefix, sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def _clean_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in PORTABLE_CPU_SETTINGS}


def test_importing_foodcnn_sets_the_portable_settings_before_torch_runs():
    shown = _python("import foodcnn, os, torch; print(repr({n: os.environ.get(n) for n in foodcnn.numerics."
                    "PORTABLE_CPU_SETTINGS}), torch.backends.cpu.get_cpu_capability())", _clean_environment())
    settings, capability = shown.rsplit(" ", 1)
    assert settings == repr(PORTABLE_CPU_SETTINGS)
    assert capability in {"AVX2", "DEFAULT"}  # DEFAULT on a CPU without AVX2


def test_a_variable_set_by_the_user_wins():
    environment = {**_clean_environment(), "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
    shown = _python("import foodcnn, os, torch; print(os.environ['MKL_CBWR'], os.environ['ONEDNN_MAX_CPU_ISA'],"
                    " torch.backends.cpu.get_cpu_capability())", environment)
    assert shown == "COMPATIBLE AVX2 DEFAULT"
