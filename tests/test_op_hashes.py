"""The operations of a training run compute the recorded bits on their CPU family, and MKL's do on every vendor.

Each check runs bench/op_hashes.py in a new process (the libraries read the CPU settings when they load), with
the project's settings, none set by hand:
- against the hashes it printed on an AMD EPYC of family 25 model 17 (Zen 4), the family of the AMD EPYC
  reference run; elsewhere it skips, saying how to check another family;
- with MKL sent down the code it runs on Intel CPUs. MKL is linked into torch and asks one function whether
  the CPU is Intel's; a preloaded library answering yes makes an AMD EPYC run MKL's code for a Xeon (it turned
  the study's first BasicCNN grid run into the Xeon's committed files, byte for byte: bench/RESULTS.md). Under
  the project's settings no hash may change; under MKL_CBWR=AVX2,STRICT, the setting before, products did.
oneDNN's convolutions are not covered by the second check: on a real Xeon some of them compute other bits
(bench/RESULTS.md), which is why the first check stays with its family.
"""

import ctypes
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from foodcnn.numerics import PORTABLE_CPU_SETTINGS
from foodcnn.provenance import CpuFamily, same_family, this_cpu

REPO = Path(__file__).resolve().parents[1]
RECORDED_ON = CpuFamily("AuthenticAMD", 25, 17, "AMD EPYC", ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"))
INTEL_ANSWER = "int mkl_serv_intel_cpu_true(void) { return 1; }\n"  # MKL's question: is this an Intel CPU?
RECORDED = {
    "conv 3x3, 3 -> 32, 32 px (first layer) forward": "65f87c5c735bc3d2",
    "conv 3x3, 3 -> 32, 32 px (first layer) backward input": "4b9ab802b633f8f1",
    "conv 3x3, 3 -> 32, 32 px (first layer) backward weight": "19aab9049563f4a9",
    "conv 3x3, 64 -> 128, 8 px forward": "96e401a7b2be1c7e",
    "conv 3x3, 64 -> 128, 8 px backward input": "616c2cd33e1a82a3",
    "conv 3x3, 64 -> 128, 8 px backward weight": "5d9852e14ccc10e0",
    "conv 3x3 stride 2, 128 -> 256 forward": "e0345375b8f012bb",
    "conv 3x3 stride 2, 128 -> 256 backward input": "a3d1ad5768e1a08f",
    "conv 3x3 stride 2, 128 -> 256 backward weight": "654e6703565b916d",
    "conv 1x1 stride 2, 128 -> 256 (skip) forward": "7e88c5c88a022f33",
    "conv 1x1 stride 2, 128 -> 256 (skip) backward input": "3ad622eeb60f5d71",
    "conv 1x1 stride 2, 128 -> 256 (skip) backward weight": "247e3a7464c01044",
    "conv 1x1, 160 -> 960 (pointwise) forward": "7136dea8e8ce6898",
    "conv 1x1, 160 -> 960 (pointwise) backward input": "d933dd7219f42a3f",
    "conv 1x1, 160 -> 960 (pointwise) backward weight": "d0ff5dcd1e84b362",
    "conv 3x3 depthwise, 960 forward": "0657bc66ace353e4",
    "conv 3x3 depthwise, 960 backward input": "0be985cb025b73db",
    "conv 3x3 depthwise, 960 backward weight": "f515b106f1b50035",
    "batch norm train forward": "31f27e00f768167b",
    "batch norm train backward": "b8535973da78b1b6",
    "batch norm running statistics": "576738179b31aa67",
    "batch norm eval forward": "e380b29c4afbc2c5",
    "relu forward": "b08163051e7c5709",
    "relu backward": "0353257301ae3783",
    "relu6 forward": "2b98902e56fa07fb",
    "relu6 backward": "4e08522fdb46193e",
    "max pool 2x2 forward": "74bb3aa490cbfc5b",
    "max pool 2x2 backward": "8c74d72be03af720",
    "global average pool forward": "ddaffdeb3d1eb3ad",
    "global average pool backward": "271eff804e4c9e85",
    "residual sum + relu forward": "fd0529d66a9aae9f",
    "residual sum + relu backward": "8a65ab887b94700b",
    "linear 512 -> 256 forward": "837a8dc891bb8b2c",
    "linear 512 -> 256 backward": "9e0eaa7163e0a083",
    "linear 256 -> 11 forward": "5cb60d98ccf232e5",
    "linear 256 -> 11 backward": "59719d493fd474d1",
    "linear 1280 -> 11 forward": "cbbc6d83b7d053ae",
    "linear 1280 -> 11 backward": "caccd7d4e74f5a8c",
    "dropout 0.5 (seeded)": "a42b129ad8a5f4c8",
    "cross entropy forward": "f8172f38dec434d4",
    "cross entropy backward": "6c36ef7ac5eef65e",
    "softmax": "0d97502fb8706cd7",
    "fused Adam, 3 steps": "2aedb7314fc65967",
    "random draws: randperm, uniform, rand": "9442baba7ec1c29a",
    "augmentation matrices (exp, sqrt, cos, sin)": "74e3660c0ab19b38",
    "affine grid": "6ef4e3703f1b8562",
    "grid sample, bilinear": "30c91526d7c6e847",
    "augmentation as training runs it": "137440002f035dcc",
    "normalise (evaluation input)": "2f7e8dbe39dc8763",
    "basic: initial weights": "546e4647ff8c2206",
    "basic: forward, train mode": "bb2cb81994d9a3ad",
    "basic: backward": "5219c676bda546b3",
    "basic: eval logits": "e1b050b529583875",
    "basic: 2 training steps": "4f947e2271da70e3",
    "residual: initial weights": "70bbadf7794d3e24",
    "residual: forward, train mode": "10430be8ed73e666",
    "residual: backward": "461e59cd1efabbb2",
    "residual: eval logits": "198a205fea3b1de6",
    "residual: 2 training steps": "8855ecfeb06145cb",
    "basic dropout 0.5: initial weights": "546e4647ff8c2206",
    "basic dropout 0.5: forward, train mode": "a69b10c58cd620bd",
    "basic dropout 0.5: backward": "c04a41871d8d4eb2",
    "basic dropout 0.5: eval logits": "ca4740c4ae64be18",
    "basic dropout 0.5: 2 training steps": "09ee18ac7e5c0b62",
    "mobilenet: initial weights": "d9db4c55098afe97",
    "mobilenet: forward, train mode": "ed8c5416fbc55b70",
    "mobilenet: backward": "354673a4cfa5b49c",
    "mobilenet: eval logits": "374c63f6f2249c31",
    "mobilenet: 2 training steps": "06aaab6ad694ffaf",
}
# A product of the head's shape (256 -> 11 classes), which MKL computes by other code on Intel CPUs.
PRODUCT = (
    "import hashlib, torch; torch.set_num_threads(1); g = torch.Generator().manual_seed(0); "
    "a, b = torch.randn(32, 256, generator=g), torch.randn(256, 11, generator=g); "
    "print(hashlib.sha256((a @ b).numpy().tobytes()).hexdigest())"
)


def _environment(**extra: str) -> dict[str, str]:
    """This environment without any CPU setting of the project's, so that its portable values apply."""
    return {**{n: v for n, v in os.environ.items() if n not in PORTABLE_CPU_SETTINGS}, **extra}


def op_hashes(**extra: str) -> tuple[str, dict[str, str]]:
    """bench/op_hashes.py's header and its hash per operation."""
    output = subprocess.run(
        [sys.executable, str(REPO / "bench/op_hashes.py")],
        env=_environment(**extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return output[0], {name.strip(): digest for name, digest in (line.rsplit(" ", 1) for line in output[1:])}


@pytest.fixture(scope="module")
def here() -> tuple[str, dict[str, str]]:
    return op_hashes()


@pytest.fixture(scope="module")
def intel_answer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library that, preloaded, tells MKL the CPU is Intel's."""
    if platform.machine() != "x86_64" or this_cpu().vendor == "GenuineIntel":
        pytest.skip(f"MKL takes its Intel path on this CPU ({this_cpu().describe()}) or has none")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the library that tells MKL the CPU is Intel's")
    if not hasattr(ctypes.CDLL(str(Path(torch.__file__).parent / "lib/libtorch_cpu.so")), "mkl_serv_intel_cpu_true"):
        pytest.skip("this torch has no MKL whose vendor check can be answered")
    folder = tmp_path_factory.mktemp("intel_answer")
    (folder / "answer.c").write_text(INTEL_ANSWER)
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(folder / "answer.so"), str(folder / "answer.c")], check=True
    )
    return folder / "answer.so"


@pytest.mark.skipif(
    same_family(RECORDED_ON, this_cpu()) is not True,
    reason=f"hashes recorded on {RECORDED_ON.describe()}, not on this {this_cpu().describe()}: to "
    f"check this family, compare `python bench/op_hashes.py` with bench/RESULTS.md's table",
)
def test_every_operation_of_a_training_run_computes_the_recorded_bits(here):
    header, hashes = here
    assert "capability AVX2" in header and "oneDNN on" in header and "threads 1" in header, header
    assert list(hashes) == list(RECORDED)
    differing = [name for name, digest in RECORDED.items() if hashes[name] != digest]
    assert not differing, f"{header}: other bits for {differing}"


def test_mkl_on_its_intel_path_computes_every_operation_to_the_same_bits(here, intel_answer):
    assert op_hashes(LD_PRELOAD=str(intel_answer))[1] == here[1]


def test_the_preloaded_answer_reaches_mkl_whose_avx2_branch_then_computes_other_bits(intel_answer):
    """Without this, the test above would pass if the answer never reached MKL."""

    def product(**extra: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", PRODUCT],
            env=_environment(MKL_CBWR="AVX2,STRICT", **extra),
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert product(LD_PRELOAD=str(intel_answer)) != product()
