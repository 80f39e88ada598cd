"""End to end: `dvc repro` on a copy of the repository with tiny parameters."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, noise_image, save_image, write_fake_food101, write_mixed_folder
from tests.project import TINY, attempt, copy_project, dvc, git, run, set_params, stages_run
from tests.study import copy_study
from tests.test_checkpoint import Payload

STUDY_KEYS = {"basic", "residual", "basic_dropout", "residual_dropout", "mobilenet_A", "mobilenet_B"}


@pytest.fixture(scope="module")
def project(tiny_study, tmp_path_factory) -> Path:
    """A copy of the tiny study run and committed (tests/study.py), which this module's tests change in turn. Its
    `dvc repro` removed the copied study's curves: their seeds and p values are not the tiny study's."""
    assert "removed plots/history/dropout/basic_dropout0.5_seed43.tsv: no stage" in tiny_study.output
    return copy_study(tiny_study.folder, tmp_path_factory.mktemp("project") / "study")


@pytest.mark.slow
def test_repro_writes_every_metric_and_plot_file(project):
    test_results = json.loads((project / "results/test.json").read_text())
    assert set(test_results) == STUDY_KEYS
    assert test_results["basic_dropout"]["dropout_p"] == 0.5 and "dropout_p" not in test_results["basic"]
    for values in test_results.values():
        for metric in ("accuracy", "macro_f1"):
            low, high = values[f"{metric}_ci95"]
            assert 0.0 <= low <= values[metric] <= high <= 1.0
    # The metrics files hold only the numbers `dvc exp show` lists (tests/test_exp_show.py: in which order).
    assert json.loads((project / "metrics/test.json").read_text()) == {
        **{role: values["accuracy"] for role, values in test_results.items()},
        "macro_f1": {role: values["macro_f1"] for role, values in test_results.items()},
    }
    comparisons = json.loads((project / "results/comparisons.json").read_text())
    assert list(comparisons) == [
        "residual_vs_basic",
        "basic_dropout_vs_basic",
        "residual_dropout_vs_residual",
        "mobilenet_B_vs_mobilenet_A",
        "transfer_vs_scratch",
    ]
    assert [(c["a"], c["b"]) for c in comparisons.values()][:4] == [
        ("basic", "residual"),
        ("basic", "basic_dropout"),
        ("residual", "residual_dropout"),
        ("mobilenet_A", "mobilenet_B"),
    ]
    for comparison in comparisons.values():
        low, high = comparison["trained_models"]["accuracy_ci95"]
        assert low <= comparison["accuracy"]["difference"] <= high
        assert 0.0 <= comparison["trained_models"]["p_value"] <= comparison["trained_models"]["p_holm"] <= 1.0
        assert comparison["procedures"]["seeds_needed"] == 3  # one seed per configuration: no procedure verdict
    assert comparisons["residual_vs_basic"]["procedures"]["verdict"] == (
        "none: needs 3 seeds per side (BasicCNN has 1, ResidualCNN 1)"
    )
    assert json.loads((project / "metrics/comparisons.json").read_text()) == {
        key: {
            "difference": comparison["accuracy"]["difference"],
            "p_trained_models": comparison["trained_models"]["p_value"],
        }
        for key, comparison in comparisons.items()
    }
    selection = json.loads((project / "results/selection.json").read_text())
    assert set(selection) == {"basic", "residual"}
    for name in [
        "grid/basic_lr0.01_bs8_seed42",
        "grid/residual_lr0.001_bs8_seed42",
        "dropout/basic_dropout0.5_seed42",
        "finetune/mobilenet_B_seed42",
    ]:
        header = (project / f"plots/history/{name}.tsv").read_text().splitlines()[0]
        assert header.split("\t") == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    for key in STUDY_KEYS:
        predictions = (project / f"plots/predictions/{key}.csv").read_text().splitlines()
        assert predictions[0] == "seed,image,path,actual,predicted,confidence"
        assert len(predictions) == 1 + 11  # one row per test image and seed
        assert predictions[1].split(",")[3].startswith("synthetic_")
    split = (project / "data/split.csv").read_text().splitlines()
    assert split[0] == "path,label,split" and len(split) == 1 + 66
    report = (project / "reports/report.md").read_text()
    assert "synthetic sample images" in report and "none (random init)" in report
    assert "## Comparisons (test set)" in report and "| Verdict on these trained models |" in report
    assert "No verdict about the training procedures: they need 3 trained models (seeds) per side" in report
    links = re.findall(r"\]\((figures/[^)]+)\)", report)
    for link in links:
        assert (project / "reports" / link).is_file()
    assert {"figures/test_accuracy.png", "figures/curves_residual.png", "figures/near_duplicates.png"} <= set(links)
    assert {f"figures/confusion_{key}.png" for key in STUDY_KEYS} <= set(links)
    assert {"figures/misclassified_best_scratch.png", "figures/misclassified_best_transfer.png"} <= set(links)
    assert "figures/gradcam_chosen.png" in links  # the chosen model's Grad-CAM maps
    assert {f"figures/{path.name}" for path in (project / "reports/figures").iterdir()} == set(links)
    assert "dvc_plots" in (project / ".gitignore").read_text()


def chromium() -> str | None:
    return next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)


def unavailable(reason: str) -> None:
    """Skip where the browser test cannot run, except in CI (the CI variable set), which must run it."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser test")
    pytest.skip(reason)


# Records script errors, rejected promises (vega-embed reports through those) and every resource fetched from
# anywhere but the page's own file, in the page itself.
PROBE = """<script>
window.probeErrors = [];
window.addEventListener("error", e => window.probeErrors.push(String(e.message)));
window.addEventListener("unhandledrejection", e => window.probeErrors.push(String(e.reason)));
window.addEventListener("load", () => setTimeout(() => {
  const network = performance.getEntriesByType("resource").map(r => r.name)
    .filter(name => !/^(file|data|blob):/.test(name));
  const pre = document.createElement("pre"); pre.id = "probe";
  pre.textContent = JSON.stringify({errors: window.probeErrors, network}); document.body.appendChild(pre);
}, 2000));
</script>"""


def rendered(browser: str, page: Path, profile: Path) -> tuple[dict, list[str]]:
    """What the probe saw, and the HTML of each vegaEmbed container, after headless Chromium loads the page.

    Every host name resolves to nothing, so a page that needs the network draws nothing.
    """
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("<head>", "<head>" + PROBE, 1))
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    probe = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert probe, f"{page} did not finish loading:\n{result.stderr[-2000:]}"
    embeds = re.split(r'<div id="[^"]*" class="vega-embed', result.stdout)[1:]  # one container per vegaEmbed call
    return json.loads(probe.group(1).replace("&quot;", '"')), embeds


@pytest.mark.slow
def test_plain_dvc_plots_pages_render_one_chart_per_plot_offline(project, tmp_path):
    browser = chromium()
    if browser is None:
        unavailable("Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    vendor = REPO / "web" / "node_modules"
    if not vendor.is_dir():
        if shutil.which("npm") is None:
            unavailable("web/node_modules is missing and npm is not installed (make writes the plots template)")
        run(REPO, "npm", "ci", "--prefix", "web", "--no-audit", "--no-fund")
    (project / "web" / "node_modules").symlink_to(vendor)
    run(project, sys.executable, "web/inline_scripts.py", "web/plots.html", "web/build/plots.html")  # as make does
    elsewhere = tmp_path / "elsewhere"
    pages = [
        (("show",), (), project / "dvc_plots"),
        (("diff", "HEAD~1"), (), project / "dvc_plots"),
        (("show",), ("-o", str(elsewhere)), elsewhere),
    ]
    charts = {}
    for arguments, output, folder in pages:
        command = " ".join(["dvc plots", *arguments, *output])
        plots = json.loads(dvc(project, "plots", *arguments, "--json"))
        assert not plots.get("errors"), command
        dvc(project, "plots", *arguments, *output)
        probe, embeds = rendered(browser, folder / "index.html", tmp_path / "profile")
        assert probe == {"errors": [], "network": []}, command
        assert all("<canvas" in embed for embed in embeds), f"{command}: every container holds a drawn chart"
        charts[command] = (len(embeds), len(plots["data"]))
    assert charts["dvc plots show"] == (1 + 2 * len(STUDY_KEYS) + 10,) * 2  # grid, 2 per model, 10 curves
    assert all(drawn == plots for drawn, plots in charts.values()), f"one chart per plot: {charts}"


@pytest.mark.slow
def test_foodcnn_repro_side_by_side_builds_the_files_of_sequential_dvc_repro(project, tmp_path):
    # From nothing; tests/test_repro_flows.py compares the two over the everyday flows that follow.
    side = copy_project(tmp_path, TINY)
    output = run(side, sys.executable, "-m", "foodcnn", "repro", "--jobs", "3")
    assert {"train@basic-0.01-8-42", "dropout@residual-0.5-42", "finetune@B-42", "report"} <= stages_run(output)
    git(side, "add", "-A")
    git(side, "commit", "-q", "-m", "side by side")
    git(side, "fetch", "-q", str(project), "refs/tags/sequential")
    assert git(side, "diff", "--stat", "FETCH_HEAD", "HEAD") == ""  # dvc.lock (so every model), metrics, plots


def test_bytecode_written_beside_the_sources_changes_no_stage(project):
    stray = project / "src/foodcnn/models/__pycache__/basic.cpython-311.pyc"
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"whatever the last import wrote")
    try:
        assert "Data and pipelines are up to date" in dvc(project, "status")
    finally:
        stray.unlink()


def test_second_repro_runs_nothing(project):
    output = dvc(project, "repro")
    assert stages_run(output) == set()
    assert "Data and pipelines are up to date" in output


@pytest.mark.slow
def test_editing_a_module_makes_dvc_status_list_exactly_the_stages_that_import_it(project):
    history = project / "src/foodcnn/history.py"
    original = history.read_text()
    history.write_text(original + "\n# edited\n")
    try:
        listed = set(re.findall(r"^(\S+):\s*$", dvc(project, "status"), re.MULTILINE))
    finally:
        history.write_text(original)
    assert {
        "selection",
        "evaluate",
        "report",
        "train@basic-0.01-8-42",
        "dropout@basic-0.5-42",
        "finetune@A-42",
    } <= listed
    assert not listed & {"params", "images", "split", "prepare"}


@pytest.mark.slow
def test_a_params_key_nothing_reads_stops_the_experiment_with_one_line(project):
    result = attempt(project, sys.executable, "-m", "dvc", "exp", "run", "-S", "+train.epoch=3")
    run(project, "git", "checkout", "--", "params.yaml")
    assert result.returncode != 0
    assert "params.yaml: unknown key train.epoch (did you mean train.epochs?)" in result.stdout + result.stderr


def workspace(project: Path) -> dict[str, str]:
    """Every file of the workspace (git's and DVC's, not their own folders) and its md5."""
    return {
        str(path.relative_to(project)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in project.rglob("*")
        if path.is_file() and path.relative_to(project).parts[0] not in {".git", ".dvc"}
    }


@pytest.mark.slow
def test_a_value_foodcnn_exp_run_rejects_leaves_the_workspace_as_it_was(project):
    """`dvc exp run` checks the workspace out to the experiment's pipeline before the params stage runs: with the
    grid's models [basic, basic] it deletes the residual models and their committed learning curves first (shown
    below, then undone). `foodcnn exp run` checks the params first."""
    before = workspace(project)
    rejected = attempt(project, sys.executable, "-m", "foodcnn", "exp", "run", "-S", "grid.model=[basic,basic]")
    assert rejected.returncode == 2, rejected.stdout + rejected.stderr
    assert rejected.stderr == (
        "error: params.yaml: grid.model must be a list of distinct values ('basic' is "
        "repeated), got ['basic', 'basic']\n"
    )
    assert workspace(project) == before
    accepted = run(project, sys.executable, "-m", "foodcnn", "exp", "run", "-S", "dropout.p=[0.5]")  # the same value
    assert " ran in " not in accepted and workspace(project) == before, accepted

    plain = attempt(project, sys.executable, "-m", "dvc", "exp", "run", "-S", "grid.model=[basic,basic]")
    try:
        assert plain.returncode != 0 and "grid.model must be a list of distinct values" in plain.stdout + plain.stderr
        lost = before.keys() - workspace(project).keys()
        residual = "residual_lr0.01_bs8_seed42"
        assert {f"models/grid/{residual}.pt", f"plots/history/grid/{residual}.tsv"} <= lost
    finally:
        run(project, "git", "checkout", "--", ".")
        dvc(project, "checkout")
    assert workspace(project) == before


@pytest.mark.slow
def test_a_model_replaced_by_a_malicious_pickle_stops_evaluate_with_one_line_whose_restore_works(project, tmp_path):
    model, marker = "models/dropout/basic_dropout0.5_seed42.pt", tmp_path / "ran"
    good = (project / model).read_bytes()
    (project / model).unlink()  # a new file: the cache's object stays good
    torch.save({"state_dict": Payload(marker)}, project / model)
    result = attempt(project, sys.executable, "stages/evaluate.py")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: {model} is not a state dict this project wrote (nothing in it "
        f"was run): restore it with `dvc checkout --force {model}`"
    )
    assert not marker.exists()
    dvc(project, "checkout", "--force", model)
    assert (project / model).read_bytes() == good


def foodcnn(project: Path, *arguments: str) -> str:
    return run(project, sys.executable, "-m", "foodcnn", *arguments)


@pytest.mark.slow
def test_applying_the_baseline_after_an_experiment_leaves_no_file_of_it_once_tidied(project):
    """DVC forgets the files of a stage that dvc.yaml no longer has: after applying the baseline, which lacks the
    experiment's p, that run's models and curves stay, and evaluate's and report's folder deps hash them."""
    dvc(project, "exp", "run", "-S", "dropout.p=[0.3]")
    assert json.loads((project / "results/test.json").read_text())["basic_dropout"]["dropout_p"] == 0.3
    dvc(project, "exp", "apply", "HEAD")
    assert run(project, "git", "status", "--porcelain", "--untracked-files=no") == ""
    assert {"evaluate", "report"} <= set(re.findall(r"^(\S+):\s*$", dvc(project, "status"), re.MULTILINE))
    leftover = [f"plots/history/dropout/{model}_dropout0.3_seed42.tsv" for model in ("basic", "residual")]
    assert foodcnn(project, "tidy", "--dry-run").splitlines() == [f"would remove {path}" for path in leftover]
    assert all((project / path).exists() for path in leftover)
    assert foodcnn(project, "tidy").splitlines() == [f"removed {path}" for path in leftover]
    assert run(project, "git", "status", "--porcelain", "--untracked-files=all") == ""
    assert dvc(project, "status").strip().endswith("Data and pipelines are up to date.")


@pytest.mark.slow
def test_tidy_after_applying_an_experiment_keeps_its_own_new_curves(project):
    """An applied experiment's curves for a p the baseline lacks are untracked in git too, so `git clean` would
    delete them with the leftovers; `foodcnn tidy` asks dvc.yaml which files the pipeline makes. The experiments
    hold only their own runs' curves: their params stage removed the others'."""
    dvc(project, "exp", "run", "-n", "only-0.3", "-S", "dropout.p=[0.3]")
    dvc(project, "exp", "run", "-S", "dropout.p=[0.4]")
    dvc(project, "exp", "apply", "only-0.3")
    assert run(project, "git", "status", "--porcelain", "plots/history").count("_dropout0.4_seed42.tsv") == 2
    assert {"evaluate", "report"} <= set(re.findall(r"^(\S+):\s*$", dvc(project, "status"), re.MULTILINE))
    assert foodcnn(project, "tidy").splitlines() == [
        f"removed plots/history/dropout/{model}_dropout0.4_seed42.tsv" for model in ("basic", "residual")
    ]
    assert (project / "plots/history/dropout/basic_dropout0.3_seed42.tsv").is_file()
    assert dvc(project, "status").strip().endswith("Data and pipelines are up to date.")
    dvc(project, "exp", "apply", "HEAD")
    foodcnn(project, "tidy")
    assert run(project, "git", "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.slow
def test_a_finetune_lr_change_retrains_no_scratch_model_and_going_back_uses_the_run_cache(project):
    set_params(project, {"finetune": {"lr": 0.001}})
    assert stages_run(dvc(project, "repro")) == {
        "params",
        "finetune@A-42",
        "finetune@B-42",
        "evaluate",
        "report",
        "publish",
        "export",
    }
    run(project, "git", "checkout", "--", "params.yaml")
    output = dvc(project, "repro")
    assert not stages_run(output) & {"finetune@A-42", "finetune@B-42"}
    assert "Stage 'finetune@A-42' is cached - skipping run, checking out outputs" in output
    assert dvc(project, "status").strip().endswith("Data and pipelines are up to date.")


@pytest.mark.slow
def test_exp_run_with_a_top_level_lr_retrains_the_final_models(lr_experiment, tmp_path):
    project = copy_study(lr_experiment.folder, tmp_path / "study")
    assert stages_run(lr_experiment.output) == {
        "params",
        "dropout@basic-0.5-42",
        "dropout@residual-0.5-42",
        "evaluate",
        "report",
        "publish",
        "export",
    }
    diff = json.loads(dvc(project, "params", "diff", "--json"))
    assert diff["params.yaml"]["lr"] == {"old": "auto", "new": 0.01}
    # What `dvc exp show` lists of it: tests/test_exp_show.py.
    metrics_diff = dvc(project, "metrics", "diff", "--all")
    assert re.search(r"^metrics/test.json +basic_dropout ", metrics_diff, re.MULTILINE), metrics_diff
    assert "macro_f1.basic_dropout" in metrics_diff and "basic_dropout_vs_basic.difference" in metrics_diff
    curves = json.loads(dvc(project, "plots", "diff", "HEAD", "--json"))["data"]
    points = curves["plots/history/dropout/basic_dropout0.5_seed42.tsv"][0]["content"]["data"]["values"]
    revisions = {point["rev"] for point in points}
    assert revisions == {"HEAD", "workspace"}, "plots diff overlays the learning curves of both revisions"


@pytest.mark.slow
def test_three_training_seeds_train_each_study_model_three_times_and_report_mean_and_std(seeded_study):
    """The small study at train.seeds [42, 43, 44] (tests/study.py), run after the study at seed 42 alone."""
    project, ran = seeded_study.folder, stages_run(seeded_study.output)
    assert {"winner@basic-43", "dropout@basic-0.5-44", "finetune@A-43", "finetune@A-44", "report"} <= ran
    # The grid keeps grid.seeds: train.seeds are the study's models' seeds.
    assert not {stage for stage in ran if stage.startswith("train@")} and "finetune@A-42" not in ran
    test_results = json.loads((project / "results/test.json").read_text())
    assert set(test_results) == {"basic", "basic_dropout", "mobilenet_A"}
    assert all("accuracy_std" in values for values in test_results.values())
    seeds = [line.split(",")[0] for line in (project / "plots/predictions/basic.csv").read_text().splitlines()[1:]]
    assert seeds == ["42"] * 11 + ["43"] * 11 + ["44"] * 11
    report = (project / "reports/report.md").read_text()
    assert "(3 trained models each; numbers are means ± std over seeds)" in report and " ± " in report


DATA_STAGES = {"images", "split", "prepare"}


@pytest.mark.slow
def test_a_folder_outside_the_repository_runs_through_split_and_prepare_and_reruns_on_content_only(tmp_path):
    photos = tmp_path / "photos"
    good, bad = write_mixed_folder(photos)
    root = copy_project(
        tmp_path / "project", {"data": {"source": "folder", "folder": {"path": str(photos)}, "image_size": 16}}
    )
    assert stages_run(dvc(root, "repro", "prepare")) == DATA_STAGES
    report = json.loads((root / "data/split_report.json").read_text())
    assert {entry["path"] for entry in report["skipped"]} == set(bad)
    assert sum(report["images"].values()) == len(good)
    split = {line.split(",")[0] for line in (root / "data/split.csv").read_text().splitlines()[1:]}
    assert split == set(good)
    assert stages_run(dvc(root, "repro", "prepare")) == set()

    set_params(root, {"data": {"food101": {"images_per_class": 50}}})  # read by images, changes no file
    assert stages_run(dvc(root, "repro", "prepare")) == {"images"}
    save_image(noise_image(7, (12, 12)), photos / "pizza" / "new.png")  # a flat one could copy another
    assert stages_run(dvc(root, "repro", "prepare")) == DATA_STAGES
    assert "pizza/new.png" in (root / "data/split.csv").read_text()


@pytest.mark.slow
def test_a_food101_copy_in_place_with_its_official_test_split_runs_through_split_and_prepare(tmp_path):
    base = write_fake_food101(
        tmp_path / "project/data/food101", {"apple_pie": (8, 3), "pizza": (9, 3), "sushi": (8, 2)}
    )
    food101 = {"classes": ["apple_pie", "sushi"], "official_test": True}
    root = copy_project(tmp_path / "project", {"data": {"source": "food101", "food101": food101, "image_size": 16}})
    assert "data/food101/" not in run(root, "git", "status", "--porcelain", "--untracked-files=all")
    assert stages_run(dvc(root, "repro", "prepare")) == DATA_STAGES
    official = {f"{entry}.jpg" for entry in (base / "meta/test.txt").read_text().split() if "pizza" not in entry}
    rows = [line.split(",") for line in (root / "data/split.csv").read_text().splitlines()[1:]]
    assert {path for path, _, split in rows if split == "test"} == official
    assert {label for _, label, _ in rows} == {"apple_pie", "sushi"}
    assert (root / "data/prepared/test.pt").is_file()


@pytest.mark.slow
def test_a_weights_file_replaced_in_place_reruns_the_fine_tunes(tmp_path):
    """finetune.weights names a file whose content the backbone stage hashes; the fine-tunes depend on what
    it writes, so the same path with other content retrains them."""
    from torchvision.models import mobilenet_v2

    def export_backbone(seed: int) -> None:
        torch.manual_seed(seed)
        torch.save(mobilenet_v2().state_dict(), root / "weights/backbone.pth")

    root = copy_project(tmp_path, TINY | {"finetune": {**TINY["finetune"], "weights": "weights/backbone.pth"}})
    export_backbone(1)
    assert {"backbone", "finetune@A-42", "finetune@B-42"} <= stages_run(dvc(root, "repro", "finetune"))
    assert stages_run(dvc(root, "repro", "finetune")) == set()
    export_backbone(2)  # a re-exported backbone at the same path
    status = dvc(root, "status", "--with-deps", "finetune")
    assert re.search(r"^backbone:\s+changed deps:\s+modified:\s+weights$", status, re.MULTILINE), status
    assert stages_run(dvc(root, "repro", "finetune")) == {"backbone", "finetune@A-42", "finetune@B-42"}


@pytest.mark.slow
def test_a_missing_photo_folder_stops_dvc_repro_with_the_parameter_named(tmp_path):
    """The images stage depends on data.folder.path whatever the source; DVC itself would stop on it with
    `[Errno 2] No such file or directory` and the path, so the params stage, which runs first, names it."""
    root = copy_project(tmp_path, {"data": {"folder": {"path": "data/nophotos"}}})
    result = attempt(root, sys.executable, "-m", "dvc", "repro")
    assert result.returncode != 0 and "Running stage 'images'" not in result.stdout
    assert (
        "error: params.yaml: data.folder.path: data/nophotos is not a folder, and the images stage depends on it"
        in result.stderr
    )
