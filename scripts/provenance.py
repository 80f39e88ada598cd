"""Record this machine's CPU and libraries in provenance.json: run it when committing results this machine made."""

from foodcnn import cli, provenance


def main() -> None:
    record = provenance.Provenance(provenance.this_cpu(), provenance.library_versions())
    provenance.PROVENANCE.write_text(record.to_json())
    print(
        f"{provenance.PROVENANCE}: {record.cpu.describe()}, "
        + ", ".join(f"{name} {version}" for name, version in record.libraries.items())
    )


if __name__ == "__main__":
    cli.run(main)
