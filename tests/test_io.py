import pytest
import torch

from foodcnn.io import fresh_dir, save_torch


def test_save_torch_writes_the_same_bytes_for_the_same_data(tmp_path):
    data = {"images": torch.arange(24, dtype=torch.uint8).view(2, 3, 2, 2), "paths": ["a.jpg", "b.jpg"]}
    save_torch(tmp_path / "first.pt", data)
    save_torch(tmp_path / "second.pt", data)
    assert (tmp_path / "first.pt").read_bytes() == (tmp_path / "second.pt").read_bytes()
    assert torch.equal(torch.load(tmp_path / "second.pt", weights_only=True)["images"], data["images"])
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_fresh_folder_is_emptied_and_a_failure_puts_the_old_one_back(tmp_path):
    folder = tmp_path / "reports"
    (folder / "figures").mkdir(parents=True)
    (folder / "figures/old.png").write_bytes(b"old")
    with pytest.raises(RuntimeError), fresh_dir(folder):
        assert not folder.exists()
        (folder / "half").mkdir(parents=True)
        raise RuntimeError("an input went missing")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "reports",
        "reports/figures",
        "reports/figures/old.png",
    ]
    with fresh_dir(folder):
        (folder / "new.md").parent.mkdir(parents=True)
        (folder / "new.md").write_text("new")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["reports", "reports/new.md"]


def test_a_run_killed_inside_a_fresh_folder_leaves_the_last_good_one_for_the_next_run(tmp_path):
    folder, previous = tmp_path / "raw", tmp_path / ".raw.previous"
    (previous / "a").mkdir(parents=True)
    (previous / "a/good.jpg").write_bytes(b"good")
    (folder / "a").mkdir(parents=True)
    (folder / "a/half.jpg").write_bytes(b"ha")
    with pytest.raises(RuntimeError), fresh_dir(folder):
        raise RuntimeError("fails again")
    assert [p.name for p in folder.rglob("*.jpg")] == ["good.jpg"] and not previous.exists()
