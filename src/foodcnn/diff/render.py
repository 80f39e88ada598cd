"""`foodcnn diff`'s output: Markdown tables a person reads, JSON for scripts, a forest plot.

Each comparison has two tables, one per kind of verdict: about these trained models (only the test images vary)
and about the training procedures (seeds and test images vary), so that no verdict is read as the other.
"""

import json
from pathlib import Path

from foodcnn.procedures import MIN_SEEDS
from foodcnn.report import points  # the report's way of writing a difference, so that both read alike

ALPHA_PERCENT = 95
SEEDS_HINT = "`dvc exp run -S 'train.seeds=[43,44,45]'`"


def interval(values: list[float]) -> str:
    low, high = values
    return f"[{points(low)}, {points(high)}]"


def p_text(p_value: float) -> str:
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def notes(comparison: dict) -> list[str]:
    """The lines that qualify a comparison: pairing, missing files, seeds, roles on one side only."""
    roles = comparison["roles"]
    lines = []
    unpaired = [role for role, result in roles.items() if not result["paired"]]
    if unpaired:
        lines.append(
            f"The test images differ ({', '.join(unpaired)}): those rows are unpaired, which needs larger "
            f"differences to show."
        )
    for role, result in roles.items():
        if result["paired"] and any(result["left_out"]):
            (only_a, only_b), (total_a, total_b) = result["left_out"], result["test_images"]
            lines.append(
                f"{role}: paired on the {total_a - only_a} test images both sides scored; left out "
                f"{only_a} of A's {total_a} and {only_b} of B's {total_b}."
            )
    for side in ("a", "b"):
        if comparison[side]["missing"]:
            lines.append(
                f"{side.upper()}'s {', '.join(comparison[side]['missing'])} not in the DVC cache (`dvc pull` "
                f"fetches them): what changed is unavailable; the comparisons come from the predictions "
                f"in git."
            )
    if roles and all("seeds_needed" in result["procedures"] for result in roles.values()):
        lines.append(
            f"No verdict about the training procedures: they need {MIN_SEEDS} seeds per side (here "
            f"{' and '.join(map(str, next(iter(roles.values()))['seeds']))}). The verdicts are about "
            f"these trained models only; another seed can move a small CNN's accuracy by several points. "
            f"Add seeds with {SEEDS_HINT}."
        )
    for side in ("a", "b"):
        if comparison[f"only_in_{side}"]:
            lines.append(f"Only in {side.upper()}: {', '.join(comparison[f'only_in_{side}'])} (not compared).")
    return lines


def side_label(side: dict) -> str:
    commit = side["commit"]
    return side["name"] if commit is None or commit.startswith(side["name"]) else f"{side['name']} ({commit[:7]})"


def trained_models_table(roles: dict) -> list[str]:
    lines = [
        "These trained models (only the test images vary):",
        "",
        "| model | A | B | B − A (95 % CI) | macro-F1 B − A (95 % CI) | test | p | p Holm | "
        "verdict on these models | what changed |",
        "|---|---:|---:|---|---|---|---:|---:|---|---|",
    ]
    for role, result in roles.items():
        accuracy, f1, models = result["accuracy"], result["macro_f1"], result["trained_models"]
        changed = "unavailable" if result["changed"] is None else result["changed"]
        lines.append(
            f"| {role} | {100 * accuracy['a']:.1f} | {100 * accuracy['b']:.1f} | "
            f"{points(accuracy['difference'])} {interval(models['accuracy_ci95'])} | "
            f"{points(f1['difference'])} {interval(models['macro_f1_ci95'])} | {models['test']} | "
            f"{p_text(models['p_value'])} | {p_text(models['p_holm'])} | {models['verdict']} | {changed} |"
        )
    return lines


def procedures_table(roles: dict) -> list[str]:
    lines = [
        "The training procedures (seeds and test images vary):",
        "",
        "| model | seeds A | seeds B | B − A (95 % CI) | p | p Holm | verdict on the procedures |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for role, result in roles.items():
        procedures, (seeds_a, seeds_b) = result["procedures"], result["seeds"]
        if "p_value" in procedures:
            lines.append(
                f"| {role} | {seeds_a} | {seeds_b} | {points(result['accuracy']['difference'])} "
                f"{interval(procedures['accuracy_ci95'])} | {p_text(procedures['p_value'])} | "
                f"{p_text(procedures['p_holm'])} | {procedures['verdict']} |"
            )
        else:
            lines.append(f"| {role} | {seeds_a} | {seeds_b} | – | – | – | {procedures['verdict']} |")
    return lines


def seeds_table(roles: dict) -> list[str]:
    """Each trained model's accuracy, where a side has several."""

    def listed(accuracy: dict) -> str:
        return ", ".join(f"{seed}: {100 * value:.1f}" for seed, value in accuracy.items())

    rows = [
        f"| {role} | {listed(result['seed_accuracy']['a'])} | {listed(result['seed_accuracy']['b'])} |"
        for role, result in roles.items()
        if max(result["seeds"]) > 1
    ]
    return (
        ["Each trained model's test accuracy (seed: %):", "", "| model | A | B |", "|---|---|---|", *rows]
        if rows
        else []
    )


def table(comparison: dict) -> list[str]:
    """A comparison of B against A: its qualifying notes, then a table per kind of verdict, then the seeds."""
    lines = [f"### A = {side_label(comparison['a'])}, B = {side_label(comparison['b'])}", ""]
    lines += [f"- {note}" for note in notes(comparison)] + ([""] if notes(comparison) else [])
    roles = comparison["roles"]
    lines += trained_models_table(roles)
    if not all("seeds_needed" in result["procedures"] for result in roles.values()):
        lines += ["", *procedures_table(roles)]
    seeds = seeds_table(roles)
    return lines + (["", *seeds] if seeds else [])


def markdown(comparisons: list[dict], warnings: list[str]) -> str:
    """Warnings first, then the tables of each comparison; accuracies and differences in percentage points."""
    blocks = [[f"> {warning}" for warning in warnings]] if warnings else []
    blocks += [table(comparison) for comparison in comparisons]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def as_json(comparisons: list[dict], warnings: list[str]) -> str:
    return json.dumps({"warnings": warnings, "comparisons": comparisons}, indent=2) + "\n"


def forest_plot(comparisons: list[dict], path: Path) -> None:
    """Every role's accuracy difference (B − A) with its 95 % intervals, zero marked: a circle for these trained
    models, a square for the procedures where there are enough seeds."""
    import matplotlib  # here, not above: a table alone should not pay for matplotlib's import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roles = list(dict.fromkeys(role for comparison in comparisons for role in comparison["roles"]))
    kinds = [("trained_models", "o", "these trained models"), ("procedures", "s", "procedures")]
    slots = len(comparisons) * len(kinds)
    figure, axes = plt.subplots(figsize=(7, 0.5 * len(roles) * max(1, slots) + 1.5))
    height = 0.8 / max(1, slots)
    for number, comparison in enumerate(comparisons):
        for offset, (kind, marker, words) in enumerate(kinds):
            rows = [
                (roles.index(role), result)
                for role, result in comparison["roles"].items()
                if "accuracy_ci95" in result[kind]
            ]
            if not rows:
                continue
            slot = number * len(kinds) + offset
            positions = [row - 0.4 + height * (slot + 0.5) for row, _ in rows]
            centres = [100 * result["accuracy"]["difference"] for _, result in rows]
            lows = [100 * result[kind]["accuracy_ci95"][0] for _, result in rows]
            highs = [100 * result[kind]["accuracy_ci95"][1] for _, result in rows]
            axes.errorbar(
                centres,
                positions,
                fmt=marker,
                capsize=3,
                xerr=[
                    [c - low for c, low in zip(centres, lows, strict=True)],
                    [h - c for c, h in zip(centres, highs, strict=True)],
                ],
                label=f"{side_label(comparison['b'])} − {side_label(comparison['a'])}: {words}",
            )
    axes.axvline(0, color="grey", linestyle="--", linewidth=1)
    axes.set_yticks(range(len(roles)), roles)
    axes.invert_yaxis()
    axes.set_xlabel(f"test accuracy difference, B − A (percentage points, {ALPHA_PERCENT} % CI)")
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
