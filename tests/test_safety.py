"""Safety: loading never runs code from a file, training stops on a non-finite loss, saving is atomic."""
from __future__ import annotations

import os
import pickle

import pytest
import torch

import cdgraph
from cdgraph import model as model_module
from cdgraph.nn import register_encoder
from cdgraph.nn.lightgcn import LightGCNEncoder
from cdgraph.split import leave_one_out
from cdgraph.training import NonFiniteLoss

from .nn.planted import planted

torch.set_num_threads(1)
FIT = dict(epochs=1, batch_size=64, patience=None, progress=False)


@pytest.fixture(scope="module")
def split():
    return leave_one_out(planted(num_users=40, num_items=16, per_user=4, seed=0), "tgt", seed=0)


@pytest.fixture(scope="module")
def saved(split, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    cdgraph.CrossDomainRecommender("tgt", dim=8, layers=1).fit(split, **FIT).save(path)
    return path


class Payload:
    """Unpickling this object would create ``marker`` (standing in for os.system)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "kind": "CrossDomainRecommender", "config": Payload(str(marker))}, path)
    assert not marker.exists()
    with pytest.raises(ValueError, match="weights_only"):
        cdgraph.load_model(path)
    assert not marker.exists()


def test_plain_pickle_file_is_refused(tmp_path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(ValueError, match="weights_only"):
        cdgraph.load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 1, 100, -100, -1])
def test_truncated_model_file_is_a_clear_error(saved, tmp_path, cut: int) -> None:
    blob = saved.read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(blob[:cut] if cut >= 0 else blob[:cut])
    with pytest.raises(ValueError, match="cut.pt"):
        cdgraph.load_model(path)


def test_corrupt_bytes_and_missing_file_are_clear_errors(saved, tmp_path) -> None:
    blob = bytearray(saved.read_bytes())
    blob[:64] = os.urandom(64)  # the zip header and the start of the pickle
    path = tmp_path / "corrupt.pt"
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="corrupt.pt"):
        cdgraph.load_model(path)
    with pytest.raises(ValueError, match="does not exist"):
        cdgraph.load_model(tmp_path / "nope.pt")


@pytest.mark.parametrize("obj", [torch.zeros(3), {"state_dict": {"w": torch.zeros(2)}}, [1, 2, 3],
                                 {"kind": "CrossDomainRecommender", "format": 999}])
def test_non_model_torch_file_is_refused(tmp_path, obj) -> None:
    path = tmp_path / "other.pt"
    torch.save(obj, path)
    with pytest.raises(ValueError, match="other.pt"):
        cdgraph.load_model(path)


def test_saved_model_loads(saved, split) -> None:
    loaded = cdgraph.load_model(saved)
    assert len(loaded.recommend(list(split.data.user_ids[:3]), k=2)) == 6


# ------------------------------------------------------------------ non-finite loss
@register_encoder("test-nan-after")
class NaNAfterEncoder(LightGCNEncoder):
    """LightGCN whose output turns NaN from its ``after``-th forward call on."""

    def __init__(self, dim: int = 64, layers: int = 1, after: int = 3) -> None:
        super().__init__(dim, layers, views="joint")
        self.after, self.calls = after, 0

    def forward(self, ctx):
        out = super().forward(ctx)
        self.calls += self.training
        if self.training and self.calls > self.after:
            out.users = {d: u * float("nan") for d, u in out.users.items()}
        return out


def test_nan_loss_stops_training_naming_epoch_and_step(split) -> None:
    steps = -(-len(split.train["tgt"]) // 16)  # training steps an epoch: NaN from epoch 2, step 0 on
    model = cdgraph.CrossDomainRecommender("tgt", encoder="test-nan-after", fusion="weighted", dim=8,
                                           encoder_options={"after": steps})
    with pytest.raises(NonFiniteLoss, match=r"epoch 2, step 0"):
        model.fit(split, epochs=3, batch_size=16, patience=None, source_weight=1.0, progress=False)


def test_exploding_learning_rate_raises_non_finite_loss(split) -> None:
    model = cdgraph.CrossDomainRecommender("tgt", dim=8, layers=1)
    with pytest.raises(NonFiniteLoss, match=r"epoch \d+, step \d+"):
        model.fit(split, epochs=20, lr=1e30, batch_size=16, patience=None, progress=False)


# ------------------------------------------------------------------ atomic save
def test_save_is_atomic_when_torch_save_fails(split, saved, tmp_path, monkeypatch) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(saved.read_bytes())
    before = path.read_bytes()
    model = cdgraph.CrossDomainRecommender("tgt", dim=8, layers=1).fit(split, **FIT)

    def half_then_fail(obj, fh, *args, **kwargs):
        fh.write(b"partial bytes of a model")
        raise OSError("disk full")

    monkeypatch.setattr(model_module.torch, "save", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
    monkeypatch.undo()
    assert cdgraph.load_model(path).target == "tgt"


def test_save_into_new_folder_leaves_no_temporary(split, tmp_path) -> None:
    path = tmp_path / "sub" / "m.pt"
    cdgraph.CrossDomainRecommender("tgt", dim=8, layers=1).fit(split, **FIT).save(path)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]


def test_changed_weight_bytes_are_detected(saved, tmp_path) -> None:
    """Bytes flipped inside a tensor's storage (the zip CRC is not checked by torch)."""
    state = torch.load(saved, weights_only=True)
    largest = max(state["state_dict"].values(), key=lambda t: t.numel())
    blob = bytearray(saved.read_bytes())
    at = blob.find(largest.numpy().tobytes()[:256])
    assert at > 0
    blob[at + 100] ^= 0xFF
    path = tmp_path / "flipped.pt"
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="flipped.pt.*corrupt"):
        cdgraph.load_model(path)
