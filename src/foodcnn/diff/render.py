"""`foodcnn diff`'s output: a Markdown table a person reads, JSON for scripts, a forest plot."""

import json
from pathlib import Path

ALPHA_PERCENT = 95


def interval(values: list[float]) -> str:
    low, high = values
    return f"[{100 * low:+.1f}, {100 * high:+.1f}]"


def p_text(p_value: float) -> str:
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def notes(comparison: dict) -> list[str]:
    """The lines that qualify a comparison: unpaired test sets, seed variance, roles on one side only."""
    roles = comparison["roles"].values()
    lines = []
    unpaired = [role for role, result in comparison["roles"].items() if not result["paired"]]
    if unpaired:
        lines.append(f"The test images differ ({', '.join(unpaired)}): those rows are unpaired bootstraps, "
                     f"which need larger differences to show.")
    if roles and not any(result["seed_variance"] for result in roles):
        lines.append("One training seed on each side: seed-to-seed variance is not accounted for "
                     "(add seeds with `dvc exp run -S 'train.seeds=[42,43,44]'`).")
    for side in ("a", "b"):
        if comparison[f"only_in_{side}"]:
            lines.append(f"Only in {side.upper()}: {', '.join(comparison[f'only_in_{side}'])} (not compared).")
    return lines


def side_label(side: dict) -> str:
    commit = side["commit"]
    return side["name"] if commit is None or commit.startswith(side["name"]) else f"{side['name']} ({commit[:7]})"


def table(comparison: dict) -> list[str]:
    """A comparison of B against A: its qualifying notes, one row per role, then per-seed rows where seeds vary."""
    lines = [f"### A = {side_label(comparison['a'])}, B = {side_label(comparison['b'])}", ""]
    lines += [f"- {note}" for note in notes(comparison)] + ([""] if notes(comparison) else [])
    lines += ["| model | A | B | B − A (95 % CI) | macro-F1 B − A (95 % CI) | p | p Holm | verdict | what changed |",
              "|---|---:|---:|---|---|---:|---:|---|---|"]
    for role, result in comparison["roles"].items():
        accuracy, f1 = result["accuracy"], result["macro_f1"]
        lines.append(
            f"| {role} | {100 * accuracy['a']:.1f} | {100 * accuracy['b']:.1f} | "
            f"{100 * accuracy['difference']:+.1f} {interval(accuracy['difference_ci95'])} | "
            f"{100 * f1['difference']:+.1f} {interval(f1['difference_ci95'])} | "
            f"{p_text(result['p_value'])} | {p_text(result['p_holm'])} | {result['verdict']} | {result['changed']} |")
    seeded = {role: result for role, result in comparison["roles"].items() if result["seed_variance"]}
    if seeded:
        lines += ["", "| model | seed A | seed B | B − A | p | P(a B run beats an A run) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for role, result in seeded.items():
            for row in result["seeds"]:
                p_value = p_text(row["p_value"]) if "p_value" in row else "–"
                lines.append(f"| {role} | {row['seed_a']} | {row['seed_b']} | {100 * row['difference']:+.1f} | "
                             f"{p_value} | {result['p_b_beats_a']:.2f} |")
    return lines


def markdown(comparisons: list[dict], warnings: list[str]) -> str:
    """Warnings first, then one table per comparison; accuracies and differences in percentage points."""
    blocks = [[f"> {warning}" for warning in warnings]] if warnings else []
    blocks += [table(comparison) for comparison in comparisons]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def as_json(comparisons: list[dict], warnings: list[str]) -> str:
    return json.dumps({"warnings": warnings, "comparisons": comparisons}, indent=2) + "\n"


def forest_plot(comparisons: list[dict], path: Path) -> None:
    """Every role's accuracy difference (B − A) with its 95 % interval, one marker per B, zero marked."""
    import matplotlib  # here, not above: a table alone should not pay for matplotlib's import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roles = list(dict.fromkeys(role for comparison in comparisons for role in comparison["roles"]))
    figure, axes = plt.subplots(figsize=(7, 0.5 * len(roles) * max(1, len(comparisons)) + 1.5))
    height = 0.8 / max(1, len(comparisons))
    for number, comparison in enumerate(comparisons):
        rows = [(roles.index(role), result["accuracy"]) for role, result in comparison["roles"].items()]
        positions = [row - 0.4 + height * (number + 0.5) for row, _ in rows]
        centres = [100 * accuracy["difference"] for _, accuracy in rows]
        errors = [[centre - 100 * accuracy["difference_ci95"][0] for centre, (_, accuracy) in zip(centres, rows)],
                  [100 * accuracy["difference_ci95"][1] - centre for centre, (_, accuracy) in zip(centres, rows)]]
        axes.errorbar(centres, positions, xerr=errors, fmt="o", capsize=3,
                      label=f"{side_label(comparison['b'])} − {side_label(comparison['a'])}")
    axes.axvline(0, color="grey", linestyle="--", linewidth=1)
    axes.set_yticks(range(len(roles)), roles)
    axes.invert_yaxis()
    axes.set_xlabel(f"test accuracy difference, B − A (percentage points, {ALPHA_PERCENT} % CI)")
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
