"""CPU settings that keep results from following the CPU where that was measured to work (docs/reproducibility.md).

PyTorch's own kernels, oneDNN (convolutions) and MKL (the linear layers, and the augmentation's affine grid
and exp) each pick their code by the CPU. Code of another vector width sums in another order, so PyTorch and
oneDNN are capped at their AVX2 code. MKL also picks by vendor: its AVX2 branch is for Intel CPUs only, and an
AMD EPYC asked for it ran MKL's own choice, which alone made its BasicCNN runs differ from the Xeon's; its
COMPATIBLE branch computed the same bits on both. Some oneDNN convolutions of ResidualCNN and MobileNetV2
still compute other bits on another CPU family (bench/RESULTS.md, "Which operations compute other bits"). Each
library reads its variable once, when it first runs, so these must be set before torch is imported:
foodcnn/__init__.py applies them, and every stage imports foodcnn first. They are defaults: a variable already
set in the environment wins.

None of the three libraries stops on a value it does not know: each silently runs its fastest code, which
changes results. So every stage checks them (check_cpu_numerics, from foodcnn.cli.run) before it starts.
"""

import os
from collections.abc import Mapping

from foodcnn.errors import FoodCnnError

PORTABLE_CPU_SETTINGS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's vectorised kernels (else AVX-512 where the CPU has it)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN convolutions (else AVX-512 and AMX)
    "MKL_CBWR": "COMPATIBLE,STRICT",  # MKL's conditional numerical reproducibility: one code for every vendor
}


def use_portable_cpu_numerics() -> None:
    """Set each of PORTABLE_CPU_SETTINGS in the environment unless it is already set."""
    for name, value in PORTABLE_CPU_SETTINGS.items():
        os.environ.setdefault(name, value)


# The values each library accepts, as its documentation and source spell them.
VALID_CPU_SETTINGS = {
    # PyTorch on x86-64 compares case-sensitively and warns, then picks the CPU's best, on anything else.
    "ATEN_CPU_CAPABILITY": ("default", "avx2", "avx512"),
    # oneDNN ignores case; an unknown name means no cap at all.
    "ONEDNN_MAX_CPU_ISA": (
        "SSE41",
        "AVX",
        "AVX2",
        "AVX2_VNNI",
        "AVX2_VNNI_2",
        "AVX512_CORE",
        "AVX512_CORE_VNNI",
        "AVX512_CORE_BF16",
        "AVX512_CORE_FP16",
        "AVX512_CORE_AMX",
        "AVX512_CORE_AMX_FP16",
        "AVX10_1_512",
        "AVX10_1_512_AMX",
        "AVX10_1_512_AMX_FP16",
        "AVX10_2_512",
        "AVX10_2_512_AMX_2",
        "ALL",
    ),
    # MKL reads [BRANCH=]<branch>[,STRICT] and falls back to AUTO without a word on an unknown branch.
    "MKL_CBWR": (
        "AUTO",
        "COMPATIBLE",
        "SSE2",
        "SSE3",
        "SSSE3",
        "SSE4_1",
        "SSE4_2",
        "AVX",
        "AVX2",
        "AVX512",
        "AVX512_E1",
        "AVX512_MIC",
        "AVX512_MIC_E1",
    ),
}
_SPELLING = {"MKL_CBWR": "[BRANCH=]<branch>[,STRICT], <branch> one of "}


class NumericsError(FoodCnnError):
    """A CPU setting that its library would silently ignore."""


def _canonical(name: str, value: str) -> str:
    """The value as the library reads it, so that equivalent spellings compare equal."""
    if name == "ONEDNN_MAX_CPU_ISA":
        return value.upper()
    if name == "MKL_CBWR":
        return value.removeprefix("BRANCH=")
    return value


def _choice(name: str, value: str) -> str:
    """The part of a value that names a library's code path (MKL's branch without its STRICT flag)."""
    return _canonical(name, value).removesuffix(",STRICT") if name == "MKL_CBWR" else _canonical(name, value)


def check_cpu_numerics(environment: Mapping[str, str]) -> str | None:
    """Fail on a value a library does not know; return a warning when a valid one is not the portable default."""
    changed = {}
    for name, portable in PORTABLE_CPU_SETTINGS.items():
        value = environment.get(name, portable)
        if _choice(name, value) not in VALID_CPU_SETTINGS[name]:
            raise NumericsError(
                f"{name}={value!r} is unknown to its library, which would silently run other code: "
                f"use {_SPELLING.get(name, 'one of ')}{', '.join(VALID_CPU_SETTINGS[name])} "
                f"(unset: the portable {portable})"
            )
        if _canonical(name, value) != _canonical(name, portable):
            changed[name] = value
    if not changed:
        return None
    given = ", ".join(f"{name}={value}" for name, value in changed.items())
    portable = ", ".join(f"{name}={PORTABLE_CPU_SETTINGS[name]}" for name in changed)
    return f"{given} instead of the portable {portable}: results will not match the committed ones"
