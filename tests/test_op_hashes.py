"""Every operation of a training run computes the recorded bits on the CPU family that recorded them.

The study promises byte-identical results on CPUs of one family (docs/reproducibility.md). This checks it
operation by operation: bench/op_hashes.py under the project's CPU settings, in a new process (the libraries
read the settings when they load), against the hashes it printed on an AMD EPYC of family 25 model 17 (Zen 4),
the family of the AMD EPYC reference run, whose own machine gave the same bits for the study's first grid run.
Another family computes other bits (bench/RESULTS.md), so there the test skips and says why.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from foodcnn.numerics import PORTABLE_CPU_SETTINGS
from foodcnn.provenance import CpuFamily, same_family, this_cpu

REPO = Path(__file__).resolve().parents[1]
RECORDED_ON = CpuFamily("AuthenticAMD", 25, 17, "AMD EPYC", ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"))
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
    "linear 512 -> 256 forward": "fc30def13390f774",
    "linear 512 -> 256 backward": "f2cc9f56eea91cd6",
    "linear 256 -> 11 forward": "84d3acf8fa161131",
    "linear 256 -> 11 backward": "c3173e4e2e6ecf7c",
    "linear 1280 -> 11 forward": "451dd82705059af7",
    "linear 1280 -> 11 backward": "54de40b0cc6a8332",
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
    "basic: forward, train mode": "7c0749690d112980",
    "basic: backward": "0c3afaddc582fadf",
    "basic: eval logits": "6dac2fc789dfd575",
    "basic: 2 training steps": "7f237c4e975cde1f",
    "residual: initial weights": "70bbadf7794d3e24",
    "residual: forward, train mode": "9c70e7165f893402",
    "residual: backward": "b5f65a14b5dc2ba7",
    "residual: eval logits": "cb68fa043c6ccd6c",
    "residual: 2 training steps": "118412ebb2f828a9",
    "basic dropout 0.5: initial weights": "546e4647ff8c2206",
    "basic dropout 0.5: forward, train mode": "2e17c134cc0bbd62",
    "basic dropout 0.5: backward": "12750f56dcccc116",
    "basic dropout 0.5: eval logits": "72d04329e161d3c9",
    "basic dropout 0.5: 2 training steps": "cc7ad496f5fb9053",
    "mobilenet: initial weights": "d9db4c55098afe97",
    "mobilenet: forward, train mode": "3a2f9d4fb0928064",
    "mobilenet: backward": "a02660b49354e06a",
    "mobilenet: eval logits": "9ea8da0aebedabcb",
    "mobilenet: 2 training steps": "cd8acf007adfd82b",
}


def op_hashes() -> tuple[str, dict[str, str]]:
    """bench/op_hashes.py's header and its hash per operation, with the portable settings (none set by hand)."""
    environment = {name: value for name, value in os.environ.items() if name not in PORTABLE_CPU_SETTINGS}
    output = subprocess.run([sys.executable, str(REPO / "bench/op_hashes.py")], env=environment, cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return output[0], {name.strip(): digest for name, digest in (line.rsplit(" ", 1) for line in output[1:])}


@pytest.mark.skipif(same_family(RECORDED_ON, this_cpu()) is not True,
                    reason=f"the hashes were recorded on {RECORDED_ON.describe()}; this CPU, {this_cpu().describe()}, "
                           f"is of another family, whose oneDNN and MKL code compute other bits")
def test_every_operation_of_a_training_run_computes_the_recorded_bits_on_the_recorded_family():
    header, hashes = op_hashes()
    assert "capability AVX2" in header and "oneDNN on" in header and "threads 1" in header, header
    assert list(hashes) == list(RECORDED)
    differing = [name for name, digest in RECORDED.items() if hashes[name] != digest]
    assert not differing, f"{header}: other bits for {differing}"
