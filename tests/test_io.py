import torch

from foodcnn.io import save_torch


def test_save_torch_writes_the_same_bytes_for_the_same_data(tmp_path):
    data = {"images": torch.arange(24, dtype=torch.uint8).view(2, 3, 2, 2), "paths": ["a.jpg", "b.jpg"]}
    save_torch(tmp_path / "first.pt", data)
    save_torch(tmp_path / "second.pt", data)
    assert (tmp_path / "first.pt").read_bytes() == (tmp_path / "second.pt").read_bytes()
    assert torch.equal(torch.load(tmp_path / "second.pt", weights_only=True)["images"], data["images"])
    assert not list(tmp_path.glob(".*.tmp"))
