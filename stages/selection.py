"""Stage selection: the best grid configuration per model, by validation accuracy."""

from foodcnn import cli, params
from foodcnn.io import write_json, write_table
from foodcnn.runs import read_run_metrics
from foodcnn.selection import grid_runs, select_winners


def main() -> None:
    grid = params.load().grid
    names = [run["run"] for runs in grid_runs(grid).values() for run in runs]
    winners, table = select_winners(grid, read_run_metrics("grid", names))
    write_json("metrics/selection.json", winners)
    write_table("plots/grid.csv", table)
    for model, winner in winners.items():
        print(f"{model}: {winner['run']} (val accuracy {winner['val_accuracy']:.3f})")


if __name__ == "__main__":
    cli.run(main)
