"""A run's per-epoch record and the rule that picks the epoch whose weights the run keeps."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from foodcnn.io import read_table, write_table


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float


def best_record(history: Sequence[EpochRecord]) -> EpochRecord:
    """The epoch with the highest validation accuracy, the earliest on ties: the weights a run keeps."""
    return max(history, key=lambda record: (record.val_accuracy, -record.epoch))


def write_history(path: Path, history: Sequence[EpochRecord]) -> None:
    write_table(path, [asdict(record) for record in history], delimiter="\t")


def read_history(path: Path) -> list[EpochRecord]:
    return [
        EpochRecord(int(row["epoch"]), *(float(row[field.name]) for field in fields(EpochRecord)[1:]))
        for row in read_table(path, delimiter="\t")
    ]
