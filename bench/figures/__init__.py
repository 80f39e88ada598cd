"""One module a figure of bench/bench.py; each measures and prints its figure with `measure`."""
