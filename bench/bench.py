"""The study's performance figures on the machine this runs on. A script, not a test.

  1. throughput  training images/s of the project's loop (training.fit) against a bare PyTorch loop
  2. repro       wall time of the default `dvc repro` from a clean state, and of a no-op `dvc repro`
  3. finetune    MobileNetV2 fine-tuning (cases A and B) against one pass of the frozen layers over the
                 data plus the training of what is not frozen
  4. parallel    two training runs one after the other (all threads each) against side by side
                 (threads shared out), the choice behind `foodcnn repro`'s runs x threads <= cores
  5. duplicates  the split stage's scan (decode, pixel digest, difference hash, grouping) against decoding
                 alone, on 11,000 JPEG photos of 512 px (Food-101's size and the study's class count)
  6. diff        `foodcnn diff` of two revisions at Food-11 scale (2,750 test images x 6 roles x 3 seeds,
                 1,000 resamples): the statistics alone, and the whole command from a new process
  7. verify      `make push`'s re-hash of every object it sends (dvc.lock's outputs and the run-cache's) against
                 copying the same cache's objects to another folder (what a push to a local remote does), in a
                 project that ran the study (--verify-project; it is only read)
  8. peer        the default study as an ordinary PyTorch script would run it (bench/peer.py) against the
                 project's `make repro`, back to back on the same images and split: both times and the ratio
  9. remote      `make push` and `make pull` of the default study (dvc.lock as committed, its objects from
                 --remote-cache) to a local folder, S3 (moto's server) and SSH (sshd), on 127.0.0.1; needs
                 requirements-remote-test.txt and openssh-server, like tests/test_remotes.py
 10. startup     each stage's start-up: a new process importing its entry point, what it pays before its
                 first useful work (--startup-project: another checkout, to compare)
 11. numerics    one training epoch of each of the default study's runs with the CPU settings capped (as the
                 study runs), with each library's own choice, and with convolutions outside oneDNN
 12. calibration how often each kind of comparison verdict says "better" on simulated comparisons with a known
                 truth (test images, seed spread, seeds per side), and why the procedure verdict is a t interval
                 that needs 3 seeds: the tables of docs/comparing.md
 13. scale       peak memory (RSS, anonymous, PSS) and wall time of images (the folder source), split, prepare
                 and one training epoch at --scale-photos generated photos, and of --scale-side-by-side training
                 runs at once, with the stages of --scale-project (another checkout, to compare)
 14. predict     `foodcnn predict` on 100 of data/raw's photos from a new process, and the exported ONNX model
                 against PyTorch eager, batch 1 and 64 (the chosen model; needs requirements-remote-test.txt)
 15. cluster     what Dask costs `foodcnn repro`: no-op stage commands through a thread pool, the local cluster
                 and two `dask worker` processes; the default study through the thread-pool version
                 (--cluster-before, a checkout of it), the local cluster and the two workers
 16. experiments `foodcnn exp run` against `dvc exp run` (one experiment) and against DVC's queue (a sweep of
                 three), each from the committed study with a copy of this project's cache, back to back

GPU sections (run with --only; on a CPU they run too, at the sizes given, which is how they are tested):
  gpu-profile     where the time of training.fit's steps goes (torch.profiler): the operators taking the
                  most device time, and the share of the wall time the device is busy
  gpu-throughput  per-model images/s of training.fit (224 px, batch 32, bf16 + channels_last on CUDA)
                  against a bare torch.compile'd loop of the same model and batch, and TFLOP/s against the
                  chip's peak
  gpu-parallel    aggregate training images/s of N processes side by side on one device
  gpu-protocol    the study's full protocol at Food-11 scale on the built-in sample (11 x 1000 images,
                  224 px, 50-epoch grid, dropout retrains, MobileNetV2 30 epochs): the stage scripts in
                  dvc.yaml's order in a temporary copy of the project, runs side by side, time per phase.
                  No dvc needed (the device machines have none)

Timings on a shared machine are noisy: each figure is a ratio of two timings taken back to back in the
same process, repeated, and the median is printed.
"""

import argparse
import time
from pathlib import Path

import torch
from figures import (
    calibration,
    cluster,
    diff,
    duplicates,
    experiments,
    finetune,
    gpu_parallel,
    gpu_profile,
    gpu_protocol,
    gpu_throughput,
    numerics,
    parallel,
    peer,
    predict,
    remote,
    repro,
    scale,
    startup,
    throughput,
    verify,
)
from harness import REPO, machine

from foodcnn import params as study_params
from foodcnn.devices import pick_device

CPU_SECTIONS = (
    "throughput",
    "repro",
    "finetune",
    "parallel",
    "duplicates",
    "diff",
    "verify",
    "peer",
    "remote",
    "startup",
    "numerics",
    "calibration",
    "scale",
    "predict",
    "cluster",
    "experiments",
)
GPU_SECTIONS = ("gpu-profile", "gpu-throughput", "gpu-parallel", "gpu-protocol")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=CPU_SECTIONS + GPU_SECTIONS,
        default=list(CPU_SECTIONS),
        help="figures to measure (default: the CPU ones)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timings per figure; the median is printed")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per throughput timing")
    parser.add_argument("--parallel-model", default="basic", help="model of the parallel runs")
    parser.add_argument("--parallel-epochs", type=int, default=4, help="epochs of each parallel run")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=("basic", "residual", "mobilenet"),
        default=["basic", "residual", "mobilenet"],
        help="models of the throughput figure",
    )
    parser.add_argument("--threads", type=int, help="intra-op threads of the figures that train in this process")
    parser.add_argument("--keep", action="store_true", help="keep the repro's or the protocol's temporary copy")
    parser.add_argument(
        "--remote-cache",
        type=Path,
        default=REPO / ".dvc/cache",
        help="a DVC cache holding the default study's outputs, for the remote figure",
    )
    parser.add_argument("--duplicates-images", type=int, default=11000, help="images of the duplicates figure")
    parser.add_argument("--duplicates-size", type=int, default=512, help="their size in pixels")
    parser.add_argument("--diff-images", type=int, default=2750, help="test images of the diff figure")
    parser.add_argument("--diff-seeds", type=int, default=3, help="training seeds per role of the diff figure")
    parser.add_argument("--diff-resamples", type=int, default=1000, help="bootstrap resamples of the diff figure")
    parser.add_argument(
        "--calibration-simulations",
        type=int,
        default=1000,
        help="simulated comparisons per row of the calibration figure",
    )
    parser.add_argument(
        "--calibration-resamples",
        type=int,
        default=200,
        help="bootstrap resamples per simulated comparison of the calibration figure",
    )
    parser.add_argument(
        "--verify-project",
        type=Path,
        default=REPO,
        help="the project whose DVC cache the verify figure re-hashes (only read)",
    )
    parser.add_argument(
        "--startup-project",
        type=Path,
        default=REPO,
        help="the checkout whose stages the startup figure starts (only read)",
    )
    parser.add_argument(
        "--scale-project", type=Path, default=REPO, help="the checkout whose stages the scale figure runs (only read)"
    )
    parser.add_argument(
        "--scale-photos",
        type=int,
        nargs="+",
        default=[5000, 20000],
        help="photos of the scale figure, one project per count",
    )
    parser.add_argument("--scale-photo-size", type=int, default=96, help="their size in pixels")
    parser.add_argument("--scale-image-size", type=int, default=64, help="data.image_size of the scale figure")
    parser.add_argument(
        "--scale-side-by-side",
        type=int,
        nargs="*",
        default=[1, 2, 4],
        choices=(1, 2, 3, 4),
        help="training runs at once in the scale figure (none: no training)",
    )
    parser.add_argument(
        "--scale-bursts",
        action="store_true",
        help="each class of the scale figure one burst of near-duplicates: split only",
    )
    parser.add_argument(
        "--cluster-before",
        type=Path,
        help="a checkout of foodcnn repro's thread-pool version (git worktree add DIR 84288c1), for the cluster figure",
    )
    gpu = parser.add_argument_group("gpu sections")
    gpu.add_argument(
        "--gpu-models",
        nargs="+",
        choices=("basic", "residual", "mobilenet"),
        default=["basic", "residual", "mobilenet"],
        help="models of gpu-throughput",
    )
    gpu.add_argument("--gpu-size", type=int, default=224, help="image size of gpu-throughput and gpu-parallel")
    gpu.add_argument("--gpu-batch", type=int, default=32, help="batch size of gpu-throughput and gpu-parallel")
    gpu.add_argument("--gpu-images", type=int, default=2048, help="training images per run")
    gpu.add_argument("--gpu-epochs", type=int, default=2, help="epochs per timing")
    gpu.add_argument(
        "--gpu-compile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="torch.compile the bare loop of gpu-throughput",
    )
    gpu.add_argument("--peak-tflops", type=float, help="the chip's bf16 peak (default: from the device name)")
    gpu.add_argument("--gpu-profile-model", default="residual", help="model of gpu-profile")
    gpu.add_argument("--gpu-parallel-model", default="residual", help="model of gpu-parallel")
    gpu.add_argument(
        "--gpu-parallel-counts", type=int, nargs="+", default=[1, 2, 4, 8], help="runs side by side in gpu-parallel"
    )
    gpu.add_argument("--protocol-images-per-class", type=int, default=1000, help="sample images per class")
    gpu.add_argument("--protocol-size", type=int, default=224, help="image size of gpu-protocol")
    gpu.add_argument("--protocol-epochs", type=int, default=50, help="train.epochs of gpu-protocol")
    gpu.add_argument("--protocol-finetune-epochs", type=int, default=30, help="finetune.epochs of gpu-protocol")
    gpu.add_argument("--protocol-parallel", type=int, default=14, help="runs side by side in gpu-protocol")
    return parser.parse_args()


def measure(args: argparse.Namespace, settings: study_params.Params) -> None:
    """The figures of the sections in --only, in this order whatever the order given."""
    sections = args.only
    if "throughput" in sections:
        throughput.measure(settings, args.repeats, args.epochs, args.models)
    if "finetune" in sections:
        finetune.measure(settings, args.repeats)
    if "parallel" in sections:
        parallel.measure(args.repeats, args.parallel_epochs, args.parallel_model)
    if "duplicates" in sections:
        duplicates.measure(settings, args.repeats, args.duplicates_images, args.duplicates_size)
    if "diff" in sections:
        diff.measure(args.repeats, args.diff_images, args.diff_seeds, args.diff_resamples)
    if "verify" in sections:
        verify.measure(args.repeats, args.verify_project)
    if "repro" in sections:
        repro.measure(args.keep)
    if "peer" in sections:
        peer.measure(args.keep)
    if "remote" in sections:
        remote.measure(args.remote_cache, args.keep)
    if "startup" in sections:
        startup.measure(args.repeats, args.startup_project)
    if "numerics" in sections:
        numerics.measure(args.repeats)
    if "calibration" in sections:
        calibration.measure(args.calibration_simulations, args.calibration_resamples)
    if "scale" in sections:
        scale.measure(
            args.scale_project,
            args.scale_photos,
            args.scale_photo_size,
            args.scale_image_size,
            args.scale_side_by_side,
            args.scale_bursts,
            args.repeats,
            args.keep,
        )
    if "predict" in sections:
        predict.measure(args.repeats)
    if "cluster" in sections:
        cluster.measure(args.repeats, args.cluster_before, args.keep)
    if "experiments" in sections:
        experiments.measure(args.keep)
    if "gpu-profile" in sections:
        gpu_profile.measure(args.gpu_profile_model, args.gpu_size, args.gpu_batch, args.gpu_images, rows=20)
    if "gpu-throughput" in sections:
        gpu_throughput.measure(
            args.gpu_models,
            args.gpu_size,
            args.gpu_batch,
            args.gpu_images,
            args.gpu_epochs,
            args.gpu_compile,
            args.peak_tflops,
            settings.train.augment,
        )
    if "gpu-parallel" in sections:
        gpu_parallel.measure(
            args.gpu_parallel_counts,
            args.gpu_parallel_model,
            args.gpu_size,
            args.gpu_batch,
            args.gpu_images,
            args.gpu_epochs,
        )
    if "gpu-protocol" in sections:
        gpu_protocol.measure(
            args.protocol_images_per_class,
            args.protocol_size,
            args.protocol_epochs,
            args.protocol_finetune_epochs,
            args.protocol_parallel,
            args.keep,
        )


def main() -> None:
    args = parse_arguments()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = study_params.load(REPO / "params.yaml")
    print(f"machine: {machine()}; device {pick_device()}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    measure(args, settings)


if __name__ == "__main__":
    main()
