"""GPU figure 3: the study's full protocol at Food-11 scale on the built-in sample, the stage scripts in
dvc.yaml's order in a temporary copy of the project, runs side by side, time per phase. No dvc needed (the
device machines have none)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from harness import NUM_CLASSES, REPO

from foodcnn import params as study_params
from foodcnn.devices import pick_device
from foodcnn.io import read_table

# The protocol's phases in dvc.yaml's order: the stages run one after the other, or (None) the phase's
# training runs side by side. backbone (finetune.weights as a file) goes with the data: the fine-tunes read it.
PHASES = [
    ("data", ["images", "split", "prepare", "backbone"]),
    ("grid+finetune", None),
    ("selection", ["selection"]),
    ("winner+dropout", None),
    ("evaluate+report", ["evaluate", "report"]),
]


def protocol_runs(settings: study_params.Params, phase: str) -> list[tuple[str, list[str]]]:
    """The stage commands of one parallel phase, as dvc.yaml's matrices expand them: (name, argv)."""
    seeds = settings.train.seeds
    if phase == "grid+finetune":
        runs = [
            (
                f"train_{m}_lr{lr:g}_bs{bs}_seed{seed}",
                ["stages/train.py", "--model", m, "--lr", f"{lr:g}", "--batch-size", str(bs), "--seed", str(seed)],
            )
            for m in settings.grid.model
            for lr in settings.grid.lr
            for bs in settings.grid.batch_size
            for seed in settings.grid.seeds
        ]
        return runs + [
            (f"finetune_{case}_seed{seed}", ["stages/finetune.py", "--case", case, "--seed", str(seed)])
            for case in settings.finetune.cases
            for seed in seeds
        ]
    winners = [
        (f"winner_{m}_seed{seed}", ["stages/winner.py", "--model", m, "--seed", str(seed)])
        for m in settings.grid.model
        for seed in seeds
    ]
    return winners + [
        (f"dropout_{m}_p{p:g}_seed{seed}", ["stages/dropout.py", "--model", m, "--p", f"{p:g}", "--seed", str(seed)])
        for m in settings.grid.model
        for p in settings.dropout
        for seed in seeds
    ]


def run_stage(project: Path, name: str, argv: list[str]) -> None:
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    log = project / "logs" / f"{name}.log"
    with open(log, "w") as handle:
        code = subprocess.run(
            [sys.executable, *argv], cwd=project, env=environment, stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    if code:
        raise SystemExit(f"{name} failed (exit {code}):\n" + "\n".join(log.read_text().splitlines()[-15:]))


def protocol_project(images_per_class: int, size: int, epochs: int, finetune_epochs: int, parallel: int) -> Path:
    """The code, dvc.yaml and params.yaml in a temporary folder, the params sized as asked and the cores shared
    out between the runs side by side."""
    folder = Path(tempfile.mkdtemp(prefix="foodcnn-protocol-"))
    for name in ("src", "stages"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO / name, folder / name)
    (folder / "logs").mkdir()
    values = yaml.safe_load((REPO / "params.yaml").read_text())
    values["data"].update(source="sample", image_size=size)
    values["data"]["sample"].update(images_per_class=images_per_class, image_size=size)
    values["train"]["epochs"] = epochs
    values["finetune"]["epochs"] = finetune_epochs
    cores = os.cpu_count() or 1
    values["threads"] = max(1, cores // parallel)
    (folder / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    return folder


def run_phase(folder: Path, settings: study_params.Params, phase: str, stages: list[str] | None, parallel: int) -> int:
    """One phase of the protocol; how many runs it took."""
    if stages:
        for stage in stages:
            run_stage(folder, stage, [f"stages/{stage}.py"])
        return len(stages)
    jobs = protocol_runs(settings, phase)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(lambda job: run_stage(folder, *job), jobs))
    return len(jobs)


def measure(images_per_class: int, size: int, epochs: int, finetune_epochs: int, parallel: int, keep: bool) -> None:
    """The study's protocol on the built-in sample, the stage scripts in dvc.yaml's order."""
    folder = protocol_project(images_per_class, size, epochs, finetune_epochs, parallel)
    settings = study_params.load(folder / "params.yaml")
    print(
        f"\ngpu-protocol: {NUM_CLASSES} x {images_per_class} sample images at {size} px, grid {epochs} epochs, "
        f"fine-tunes {finetune_epochs}, up to {parallel} runs side by side ({settings.threads} "
        f"thread(s) each), precision {settings.train.precision}, channels_last "
        f"{settings.train.channels_last}, on {pick_device()}; in {folder}"
    )
    start = time.perf_counter()
    try:
        for phase, stages in PHASES:
            began = time.perf_counter()
            runs = run_phase(folder, settings, phase, stages, parallel)
            print(f"   {phase:16} {runs:3} run(s) {time.perf_counter() - began:8.1f} s", flush=True)
        total = time.perf_counter() - start
        print(f"   {'total':16} {'':11} {total:8.1f} s ({int(total // 60)} min {total % 60:02.0f} s)   target <= 600 s")
        grid = {row["config"]: float(row["val_accuracy"]) for row in read_table(folder / "plots/grid.csv")}
        print("   grid val accuracy: " + ", ".join(f"{name} {accuracy:.3f}" for name, accuracy in grid.items()))
        test = json.loads((folder / "results/test.json").read_text())
        print("   test accuracy:     " + ", ".join(f"{name} {row['accuracy']:.3f}" for name, row in test.items()))
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
