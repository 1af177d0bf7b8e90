"""Resumable training: a checkpoint after every epoch, and resuming it ends like an uninterrupted run."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

import cdgraph
from cdgraph.train import checkpoint as checkpoint_module
from cdgraph.nn import register_encoder
from cdgraph.nn.lightgcn import LightGCNEncoder
from cdgraph.data.split import leave_one_out
from cdgraph.train.loop import NonFiniteLoss

from .planted import planted
from .test_safety import NaNAfterEncoder  # noqa: F401  (registers "test-nan-after")

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
SLOW = float(os.environ.get("CDGRAPH_TEST_SLOW", "0"))  # seconds slept per training step
FIT = dict(lr=0.02, batch_size=128, seed=3, patience=None, source_weight=1.0, progress=False)


@register_encoder("test-resume-slow")
class SlowEncoder(LightGCNEncoder):
    """LightGCN that sleeps ``CDGRAPH_TEST_SLOW`` seconds per training forward (0 in the tests)."""

    def __init__(self, dim: int = 64, layers: int = 1) -> None:
        super().__init__(dim, layers, views="joint")

    def forward(self, ctx):
        if self.training and SLOW:
            time.sleep(SLOW)
        return super().forward(ctx)


def make_split(split_seed: int = 0, **options) -> cdgraph.data.split.Split:
    return leave_one_out(planted(**options), "tgt", seed=split_seed)


def epoch_in(path) -> int:
    """The last epoch of the main loop that the checkpoint at ``path`` holds."""
    state = torch.load(path, weights_only=True)
    loop = state["running"]["loop"] if state["running"] else state["done"]["train"]["loop"]
    return loop["epoch"]


def make_model(**options) -> cdgraph.GraphRecommender:
    return cdgraph.GraphRecommender("tgt", encoder="test-resume-slow", dim=16, layers=2, **options)


@pytest.fixture(scope="module")
def split():
    return make_split()


def same_run(a: cdgraph.GraphRecommender, b: cdgraph.GraphRecommender, split) -> None:
    assert a.evaluate(split) == b.evaluate(split)
    assert a.evaluate(split, on="valid", k=(10,)) == b.evaluate(split, on="valid", k=(10,))
    timings = ["train_seconds", "valid_seconds"]
    pd.testing.assert_frame_equal(a.history_.drop(columns=timings, errors="ignore"),
                                  b.history_.drop(columns=timings, errors="ignore"))


@pytest.mark.parametrize("k, options", [(3, {}), (2, dict(patience=1, lr=0.05)), (7, dict(loss="softmax"))])
def test_resume_equals_uninterrupted_run(split, tmp_path, k, options) -> None:
    fit = dict(FIT, **options)
    whole = make_model().fit(split, epochs=8, **fit)
    path = tmp_path / "run.pt"
    first = make_model().fit(split, epochs=k, checkpoint=path, **fit)
    assert len(first.history_) == k
    state = torch.load(path, weights_only=True)
    assert epoch_in(path) == k and len(state["done"]["train"]["loop"]["history"]) == k
    resumed = make_model().fit(split, epochs=8, checkpoint=path, resume=True, **fit)
    same_run(whole, resumed, split)
    assert len(resumed.history_) == len(whole.history_)
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]
    if options.get("patience"):
        assert len(whole.history_) < 8  # early stopping happened after the resume point


def test_resume_a_finished_run_trains_no_more(split, tmp_path) -> None:
    path = tmp_path / "run.pt"
    whole = make_model().fit(split, epochs=4, checkpoint=path, **FIT)
    again = make_model().fit(split, epochs=4, checkpoint=path, resume=True, **FIT)
    same_run(whole, again, split)
    with pytest.raises(ValueError, match="already trained 4 epochs"):
        make_model().fit(split, epochs=3, checkpoint=path, resume=True, **FIT)


def test_resume_without_checkpoint_starts_fresh(split, tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="cdgraph.train.checkpoint"):
        fresh = make_model().fit(split, epochs=2, checkpoint=tmp_path / "none.pt", resume=True, **FIT)
    assert "no checkpoint" in caplog.text and (tmp_path / "none.pt").is_file()
    same_run(make_model().fit(split, epochs=2, **FIT), fresh, split)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        make_model().fit(split, epochs=2, resume=True, **FIT)


@pytest.mark.parametrize("search", [dict(source_weights=(0.5, 2.0)),
                                    dict(source_weights=(0.25, 0.5, 2.0, 3.0), search_halving=1)],
                         ids=["full", "halving"])
def test_auto_source_weight_is_not_searched_again(split, tmp_path, caplog, search) -> None:
    fit = dict(FIT, source_weight="auto", **search)
    path = tmp_path / "run.pt"
    model = make_model()
    model.fit(split, epochs=4, checkpoint=path, **fit)
    search = torch.load(path, weights_only=True)["done"]["source-weight"]
    assert search["best"] == model.source_weight_ and dict(search["scores"]) == model.source_search_
    with caplog.at_level(logging.INFO, logger="cdgraph.train.trainer"):
        resumed = make_model().fit(split, epochs=4, checkpoint=path, resume=True, **fit)
    assert "source-weight:" not in caplog.text
    assert resumed.source_weight_ == model.source_weight_ and resumed.source_search_ == model.source_search_
    same_run(model, resumed, split)


@pytest.mark.parametrize("options, continued", [({}, True), (dict(patience=1, lr=0.05), True),
                                                 (dict(eval_every=2), True),
                                                 (dict(search_epochs=None), True),
                                                 (dict(eval_every=2, search_epochs=None), False)])
def test_auto_source_weight_continues_the_winners_short_run(split, caplog, options, continued) -> None:
    """The final run picks up the search winner's short run: the same result as training the
    chosen weight from scratch, without its first epochs (an eighth by default, validated at
    their end; half with ``search_epochs=None``). With eval_every=2 and half the epochs, the
    short run (3 of 6 epochs) validates where the full run would not, so it is trained afresh
    instead."""
    fit = dict(FIT, **options)
    with caplog.at_level(logging.INFO, logger="cdgraph.models.graph"):
        auto = make_model().fit(split, epochs=6, **dict(fit, source_weight="auto", source_weights=(0.5, 2.0)))
    assert ("continuing the search's run" in caplog.text) == continued
    direct = make_model().fit(split, epochs=6, **dict(fit, source_weight=auto.source_weight_))
    if "eval_every" in options and "search_epochs" not in options:
        # the search's run ended at epoch 1 and was validated there, where the direct run was not
        assert auto.history_["valid/NDCG@10"].notna().tolist() == [True, True, False, True, False, True]
    else:
        same_run(auto, direct, split)
    for name, value in direct.network_.state_dict().items():
        assert torch.equal(auto.network_.state_dict()[name], value), name


# ------------------------------------------------------------------ killed process
SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from tests.test_resume import FIT, make_model, make_split
make_model().fit(make_split(), epochs={epochs}, checkpoint={path!r}, **FIT)
"""


def test_killed_training_resumes_to_the_same_result(split, tmp_path) -> None:
    epochs, path = 8, tmp_path / "run.pt"
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT.format(repo=str(REPO), epochs=epochs, path=str(path))))
    env = dict(os.environ, OMP_NUM_THREADS="1", CDGRAPH_TEST_SLOW="0.1")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not path.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint written within 120 s"
            time.sleep(0.01)
        assert proc.poll() is None, "training finished before it could be killed; make it slower"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    reached = epoch_in(path)
    assert 1 <= reached < epochs
    resumed = make_model().fit(split, epochs=epochs, checkpoint=path, resume=True, **FIT)
    same_run(make_model().fit(split, epochs=epochs, **FIT), resumed, split)


# ------------------------------------------------------------------ refusals
@pytest.fixture(scope="module")
def checkpoint(split, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "run.pt"
    make_model().fit(split, epochs=2, checkpoint=path, **FIT)
    return path


@pytest.mark.parametrize("other, message", [
    (dict(num_users=100), r"data with 120 users / src 40, tgt 40 items; this split has 100 users"),
    (dict(num_items=32), r"tgt 40 items; this split has 120 users / src 32, tgt 32 items"),
    (dict(seed=1), r"other user/item ids \(id maps differ\)"),
    (dict(split_seed=1), r"train interactions differ \(domain 'tgt'\)"),
])
def test_checkpoint_of_other_data_or_split_is_refused(checkpoint, other, message) -> None:
    split_seed = other.pop("split_seed", 0)
    with pytest.raises(ValueError, match=message):
        make_model().fit(make_split(split_seed, **other), epochs=4, checkpoint=checkpoint, resume=True, **FIT)


def test_checkpoint_of_other_id_map_is_refused(split, checkpoint) -> None:
    data = split.data
    frames = {d: pd.DataFrame({"user": data.user_ids[split.train[d]["user"]].astype(str),
                               "item": data.item_ids[d][split.train[d]["item"]]}) for d in data.domains}
    renamed = cdgraph.CrossDomainData.from_frames(frames)
    with pytest.raises(ValueError, match=r"id maps differ"):
        make_model().fit(leave_one_out(renamed, "tgt", seed=0), epochs=4, checkpoint=checkpoint,
                         resume=True, **FIT)


def test_checkpoint_of_other_model_or_options_is_refused(split, checkpoint) -> None:
    with pytest.raises(ValueError, match=r"another configuration \(dim differ"):
        cdgraph.GraphRecommender("tgt", encoder="test-resume-slow", dim=8, layers=2).fit(
            split, epochs=4, checkpoint=checkpoint, resume=True, **FIT)
    with pytest.raises(ValueError, match=r"lr=0.02 in the checkpoint, 0.01 now"):
        make_model().fit(split, epochs=4, checkpoint=checkpoint, resume=True, **dict(FIT, lr=0.01))
    with pytest.raises(ValueError, match="source_weight=1.0 in the checkpoint, 2.0 now"):
        make_model().fit(split, epochs=4, checkpoint=checkpoint, resume=True, **dict(FIT, source_weight=2.0))


def test_model_file_is_not_a_checkpoint(split, tmp_path) -> None:
    path = tmp_path / "model.pt"
    make_model().fit(split, epochs=1, **FIT).save(path)
    with pytest.raises(ValueError, match="not a cdgraph training checkpoint"):
        make_model().fit(split, epochs=2, checkpoint=path, resume=True, **FIT)


# ------------------------------------------------------------------ non-finite loss
def test_nan_loss_leaves_the_last_checkpoint_intact(split, tmp_path, monkeypatch) -> None:
    path = tmp_path / "run.pt"
    written: list[bytes] = []
    original = checkpoint_module.atomic_save

    def recording(obj, where):
        original(obj, where)
        written.append(Path(where).read_bytes())

    monkeypatch.setattr(checkpoint_module, "atomic_save", recording)
    steps = -(-len(split.train["tgt"]) // FIT["batch_size"])  # NaN from epoch 3, step 0 on
    model = cdgraph.GraphRecommender("tgt", encoder="test-nan-after", dim=16, layers=2,
                                           encoder_options={"after": 2 * steps})
    with pytest.raises(NonFiniteLoss, match="epoch 3, step 0"):
        model.fit(split, epochs=5, checkpoint=path, **FIT)
    assert len(written) == 2 and path.read_bytes() == written[-1]
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]
    state = torch.load(path, weights_only=True)["running"]["loop"]
    assert state["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in state["network"].values())
