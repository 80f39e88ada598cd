"""Stage selection: the best grid configuration per model, by mean validation accuracy over grid.seeds."""

from foodcnn import cli, params
from foodcnn.io import write_json, write_table
from foodcnn.layout import GRID_TABLE, SELECTION, RunFiles
from foodcnn.runs import run_name
from foodcnn.selection import grid_configs, run_summary, select_winners


def main() -> None:
    settings = params.load()
    grid = settings.grid
    names = [
        run_name(c["config"], seed) for configs in grid_configs(grid).values() for c in configs for seed in grid.seeds
    ]
    winners, table = select_winners(grid, {name: run_summary(RunFiles.of("grid", name)) for name in names})
    write_json(SELECTION, winners)
    write_table(GRID_TABLE, table)
    for model, winner in winners.items():
        print(f"{model}: {winner['config']} (val accuracy {winner['val_accuracy']:.3f})")


if __name__ == "__main__":
    cli.run(main)
