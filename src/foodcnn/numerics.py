"""CPU arithmetic that is the same on every x86-64 CPU with AVX2, so a result in git is what a clone computes.

PyTorch's own kernels, oneDNN (convolutions) and MKL (linear layers) each pick their code by the CPU's
instruction set, and code of another vector width sums in another order: the same seed trained other
weights on an AMD EPYC (AVX2) than on an AVX-512 Xeon. Capping all three at AVX2 gives every x86-64 CPU
with AVX2 the same instructions in the same order. Each library reads its variable once, when it first
runs, so these must be set before torch is imported: foodcnn/__init__.py applies them, and every stage
imports foodcnn first. They are defaults: a variable already set in the environment wins.
"""

import os

PORTABLE_CPU_SETTINGS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's vectorised kernels (else AVX-512 where the CPU has it)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN convolutions (else AVX-512 and AMX)
    "MKL_CBWR": "AVX2,STRICT",  # MKL's conditional numerical reproducibility: its AVX2 code, also on AMD
}


def use_portable_cpu_numerics() -> None:
    """Set each of PORTABLE_CPU_SETTINGS in the environment unless it is already set."""
    for name, value in PORTABLE_CPU_SETTINGS.items():
        os.environ.setdefault(name, value)
