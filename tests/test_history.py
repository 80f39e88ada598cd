from foodcnn.history import EpochRecord, best_record, read_history, write_history


def test_the_best_epoch_is_the_highest_validation_accuracy_and_the_earliest_on_ties():
    history = [
        EpochRecord(1, 2.0, 0.2, 2.0, 0.3),
        EpochRecord(2, 1.0, 0.5, 1.5, 0.5),
        EpochRecord(3, 0.5, 0.7, 1.4, 0.5),
    ]
    assert best_record(history).epoch == 2


def test_a_history_reads_back_as_written(tmp_path):
    history = [EpochRecord(1, 2.302585092994046, 0.125, 2.1, 1 / 3), EpochRecord(2, 1.0, 0.5, 1.5, 0.5)]
    path = tmp_path / "run.tsv"
    write_history(path, history)
    assert read_history(path) == history
    assert path.read_text().splitlines()[0] == "epoch\ttrain_loss\ttrain_accuracy\tval_loss\tval_accuracy"
