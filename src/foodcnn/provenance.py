"""Which machine made the committed results, and what `make repro` on another machine should say about them.

The study's results are byte-identical on CPUs of the family that made them, not on every CPU
(docs/reproducibility.md), and they change with the pinned libraries. So the committed results carry a record
of the machine and the libraries that made them, provenance.json, written by `python scripts/provenance.py`
when results are committed and never by a stage: a stage output naming the machine would differ on every
machine, even where the results do not.
"""

import json
import platform
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

PROVENANCE = Path("provenance.json")
CPUINFO = Path("/proc/cpuinfo")
# The instruction sets that decide which code the libraries may pick, as /proc/cpuinfo names them.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")
NOTICE_EXAMPLES = 3  # changed files named in the notice; the rest are counted


@dataclass(frozen=True)
class CpuFamily:
    """A CPU as the libraries see it: the same vendor, family and model run the same code and blocking."""

    vendor: str  # vendor_id: GenuineIntel, AuthenticAMD
    family: int
    model: int | None  # None where a record did not keep it
    name: str  # model name, as the (virtual) machine reports it
    isa: tuple[str, ...]  # the ISA_FLAGS it has

    def describe(self) -> str:
        model = "" if self.model is None else f" model {self.model}"
        return f"{self.name} ({self.vendor} family {self.family}{model})"


def parse_cpuinfo(text: str) -> CpuFamily:
    """The first processor of a /proc/cpuinfo text (every core of a machine is the same model)."""
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    return CpuFamily(
        fields.get("vendor_id", "unknown"),
        int(fields.get("cpu family", "0")),
        int(fields["model"]) if fields.get("model", "").isdigit() else None,
        fields.get("model name", "unknown"),
        tuple(flag for flag in ISA_FLAGS if flag in flags),
    )


def this_cpu() -> CpuFamily:
    """This machine's CPU; unknown where there is no /proc/cpuinfo (not Linux), which no record matches."""
    try:
        return parse_cpuinfo(CPUINFO.read_text())
    except OSError:
        return CpuFamily("unknown", 0, None, platform.processor() or platform.machine(), ())


def same_family(recorded: CpuFamily, here: CpuFamily) -> bool | None:
    """Whether two CPUs are of one family (vendor, family and model); None where the record lacks the model."""
    if (recorded.vendor, recorded.family) != (here.vendor, here.family):
        return False
    if recorded.model is None or here.model is None:
        return None
    return recorded.model == here.model


def library_versions() -> dict[str, str]:
    """torch and the versions of the MKL and oneDNN it was built with, which compute every result."""
    import torch  # here, not at the top: `foodcnn repro` pays torch's start-up only when results changed

    config = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version (\S+)", config)
    onednn = re.search(r"MKL-DNN (v\S+)", config)
    return {
        "torch": torch.__version__,
        "MKL": mkl.group(1) if mkl else "none",
        "oneDNN": onednn.group(1) if onednn else "none",
    }


@dataclass(frozen=True)
class Provenance:
    cpu: CpuFamily
    libraries: dict[str, str]

    def to_json(self) -> str:
        return json.dumps({"cpu": asdict(self.cpu), "libraries": self.libraries}, indent=2) + "\n"

    @staticmethod
    def from_json(text: str) -> "Provenance":
        data = json.loads(text)
        return Provenance(CpuFamily(**{**data["cpu"], "isa": tuple(data["cpu"]["isa"])}), data["libraries"])


def recorded_outputs(lock: str) -> dict[str, str | None]:
    """Each output a dvc.lock's text lists, with the hash it records."""
    stages = (yaml.safe_load(lock) or {}).get("stages", {})
    return {out["path"]: out.get("md5") for stage in stages.values() for out in stage.get("outs", [])}


def committed_result_paths(repo: Path) -> list[str]:
    """dvc.lock and every output it lists: the files a run may change (git reports only those it tracks)."""
    return ["dvc.lock", *sorted(recorded_outputs((repo / "dvc.lock").read_text()))]


def lock_outputs_changed(repo: Path) -> bool:
    """Whether dvc.lock records other outputs or hashes than the commit's: a changed dependency alone (an edited
    module, say) changes the file but no result."""
    committed = subprocess.run(["git", "show", "HEAD:dvc.lock"], cwd=repo, capture_output=True, text=True)
    here = recorded_outputs((repo / "dvc.lock").read_text())
    return here != (recorded_outputs(committed.stdout) if committed.returncode == 0 else {})


def changed_files(repo: Path, paths: list[str]) -> list[str]:
    """Those of paths (files or folders) that differ from the commit checked out, new files included."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", *paths],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line[3:] for line in status.splitlines()]


def _cpu_verdict(recorded: CpuFamily, here: CpuFamily) -> str:
    same = same_family(recorded, here)
    if same is None:
        return "the same vendor and family (the record has no model number)"
    return "the same CPU family" if same else "another CPU family"


def _library_changes(recorded: dict[str, str], here: dict[str, str]) -> str:
    changes = [
        f"{name} {here.get(name, 'none')} instead of {version}"
        for name, version in recorded.items()
        if here.get(name) != version
    ]
    return f", with {', '.join(changes)}" if changes else ""


def committed_results_notice(changed: list[str], recorded: Provenance, here: Provenance) -> str | None:
    """The one line that says committed results changed, why that may be, and how to test whether it is
    evidence; None when none changed."""
    if not changed:
        return None
    named = ", ".join(changed[:NOTICE_EXAMPLES]) + (
        f" and {len(changed) - NOTICE_EXAMPLES} more" if len(changed) > NOTICE_EXAMPLES else ""
    )
    return (
        f"committed results changed ({named}): made on {recorded.cpu.describe()}, this is "
        f"{here.cpu.describe()}, {_cpu_verdict(recorded.cpu, here.cpu)}"
        f"{_library_changes(recorded.libraries, here.libraries)}; `foodcnn diff HEAD workspace` tests whether "
        f"the change is evidence, docs/reproducibility.md says what to expect"
    )


def notice_after_repro(repo: Path) -> str | None:
    """committed_results_notice for the project at repo as it stands, against its provenance.json; None outside
    a git work tree (a copy without history has no committed results to compare)."""
    try:
        changed = changed_files(repo, committed_result_paths(repo))
        if "dvc.lock" in changed and not lock_outputs_changed(repo):
            changed.remove("dvc.lock")
    except (OSError, subprocess.CalledProcessError):
        return None
    if not changed:
        return None
    recorded = Provenance.from_json((repo / PROVENANCE).read_text())
    return committed_results_notice(changed, recorded, Provenance(this_cpu(), library_versions()))
