"""Safety: loading never runs code from a file, training stops on a non-finite loss, saving is atomic."""
from __future__ import annotations

import os
import pickle

import pytest
import torch

import cdgraph
from cdgraph.io import atomic as atomic_module
from cdgraph.io.digest import digest
from cdgraph.nn import register_encoder
from cdgraph.nn.lightgcn import LightGCNEncoder
from cdgraph.data.split import leave_one_out
from cdgraph.train.loop import NonFiniteLoss

from .planted import planted

torch.set_num_threads(1)
FIT = dict(epochs=1, batch_size=64, patience=None, progress=False)


@pytest.fixture(scope="module")
def split():
    return leave_one_out(planted(num_users=40, num_items=16, per_user=4, seed=0), "tgt", seed=0)


@pytest.fixture(scope="module")
def saved(split, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(split, **FIT).save(path)
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
    torch.save({"format": 3, "kind": "graph", "model": Payload(str(marker))}, path)
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
    with pytest.raises(ValueError, match="is a folder; give the model file in it"):
        cdgraph.load_model(tmp_path)


def test_saving_onto_a_folder_names_it_and_leaves_nothing(saved, tmp_path) -> None:
    model = cdgraph.load_model(saved)
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="it is a folder; give a file name"):
        model.save(folder)
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["models"]


@pytest.mark.parametrize("obj", [torch.zeros(3), {"state_dict": {"w": torch.zeros(2)}}, [1, 2, 3],
                                 {"kind": "graph", "format": 999}, {"kind": "no-such-kind", "format": 3}])
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
    model = cdgraph.GraphRecommender("tgt", encoder="test-nan-after", fusion="weighted", dim=8,
                                           encoder_options={"after": steps})
    with pytest.raises(NonFiniteLoss, match=r"epoch 2, step 0"):
        model.fit(split, epochs=3, batch_size=16, patience=None, source_weight=1.0, progress=False)


def test_exploding_learning_rate_raises_non_finite_loss(split) -> None:
    model = cdgraph.GraphRecommender("tgt", dim=8, layers=1)
    with pytest.raises(NonFiniteLoss, match=r"epoch \d+, step \d+"):
        model.fit(split, epochs=20, lr=1e30, batch_size=16, patience=None, progress=False)


# ------------------------------------------------------------------ atomic save
def test_save_is_atomic_when_torch_save_fails(split, saved, tmp_path, monkeypatch) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(saved.read_bytes())
    before = path.read_bytes()
    model = cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(split, **FIT)

    def half_then_fail(obj, fh, *args, **kwargs):
        fh.write(b"partial bytes of a model")
        raise OSError("disk full")

    monkeypatch.setattr(atomic_module.torch, "save", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
    monkeypatch.undo()
    assert cdgraph.load_model(path).target == "tgt"


def test_save_into_new_folder_leaves_no_temporary(split, tmp_path) -> None:
    path = tmp_path / "sub" / "m.pt"
    cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(split, **FIT).save(path)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]


def test_changed_weight_bytes_are_detected(saved, tmp_path) -> None:
    """Bytes flipped inside a tensor's storage (the zip CRC is not checked by torch)."""
    state = torch.load(saved, weights_only=True)
    largest = max(state["model"]["state_dict"].values(), key=lambda t: t.numel())
    blob = bytearray(saved.read_bytes())
    at = blob.find(largest.numpy().tobytes()[:256])
    assert at > 0
    blob[at + 100] ^= 0xFF
    path = tmp_path / "flipped.pt"
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="flipped.pt.*corrupt"):
        cdgraph.load_model(path)


# ------------------------------------------------------------------ what a checksum covers
def resaved(saved, tmp_path, change, digest=None):
    """``saved`` with ``change`` applied to its state, written back with its checksum as it was
    (or recomputed by ``digest``)."""
    state = torch.load(saved, weights_only=True)
    change(state)
    if digest is not None:
        state["sha256"] = digest(state)
    path = tmp_path / "edited.pt"
    torch.save(state, path)
    return path


def reverse_ids(state) -> None:
    for ids in (state["user_ids"], *state["item_ids"].values()):
        ids["values"] = ids["values"].flip(0) if ids["kind"] == "int" else ids["values"][::-1]


@pytest.mark.parametrize("change", [
    reverse_ids,
    lambda state: state["model"]["config"].update(dim=4),
    lambda state: state.update(domains=state["domains"][::-1]),
], ids=["reversed-id-maps", "edited-dim", "reordered-domains"])
def test_edited_config_or_id_maps_are_detected(saved, tmp_path, change) -> None:
    with pytest.raises(ValueError, match="edited.pt.*corrupt"):
        cdgraph.load_model(resaved(saved, tmp_path, change))


@pytest.mark.parametrize("change, error", [
    (lambda state: state.pop("user_ids"), "KeyError: 'user_ids'"),
    (lambda state: state["model"]["config"].update(dim=4), "RuntimeError: Error"),
], ids=["missing-key", "weights-of-another-size"])
def test_inconsistent_file_is_a_clear_error(saved, tmp_path, change, error) -> None:
    """Even with a checksum that matches (rewritten by hand), the file is named as corrupt."""
    path = resaved(saved, tmp_path, change, digest)
    with pytest.raises(ValueError, match=rf"edited.pt.*corrupt or not a cdgraph model \({error}"):
        cdgraph.load_model(path)


def test_files_of_another_format_name_the_version(saved, tmp_path) -> None:
    def format_2(state) -> None:
        state["format"] = 2
    with pytest.raises(ValueError, match="edited.pt.*format 2; this cdgraph reads format 3"):
        cdgraph.load_model(resaved(saved, tmp_path, format_2, digest))


def test_factor_model_checksum_covers_its_id_maps(split, tmp_path) -> None:
    from cdgraph.models import EMCDR
    path = tmp_path / "emcdr.pt"
    EMCDR("tgt", dim=8, map_epochs=2).fit(split, **FIT).save(path)
    assert cdgraph.load_model(path).recommend(list(split.data.user_ids[:2]), k=2).shape[0] == 4
    with pytest.raises(ValueError, match="edited.pt.*corrupt"):
        cdgraph.load_model(resaved(path, tmp_path, reverse_ids))


# ------------------------------------------------------------------ checkpoint= never destroys other files
@pytest.mark.parametrize("kind", ["model", "text"])
def test_fit_never_overwrites_a_file_that_is_not_a_checkpoint(saved, split, tmp_path, kind) -> None:
    path = tmp_path / "keep.pt"
    if kind == "model":
        path.write_bytes(saved.read_bytes())
    else:
        path.write_text("notes I want to keep\n")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"keep.pt.*not a cdgraph training checkpoint.*another path or delete"):
        cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(split, checkpoint=path, source_weight=1.0,
                                                                   **FIT)
    assert path.read_bytes() == before


def test_fit_overwrites_its_own_checkpoint_without_resume(split, tmp_path) -> None:
    path = tmp_path / "run.pt"
    model = cdgraph.GraphRecommender("tgt", dim=8, layers=1)
    model.fit(split, checkpoint=path, source_weight=1.0, **dict(FIT, epochs=2))
    model.fit(split, checkpoint=path, source_weight=1.0, **FIT)
    assert torch.load(path, weights_only=True)["done"]["train"]["loop"]["epoch"] == 1
