"""``cdgraph tune`` and ``cdgraph.tune``: the search space, resuming a study from its SQLite
file, the best configuration repeated by ``cdgraph train``, and mistakes refused with exit 2.

The real-data tests share one small study of ``lightgcn-target`` on Douban Book->Music (target
music, 2 epochs, 16 dimensions, 1 layer; lr, l2 and batch_size searched): one trial in Python,
killed during its second trial, then continued by the command line to three trials.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from cdgraph.tune import DEFAULT_RANGES, search_space
from cdgraph.tune.study import pruning_callback
from tests.conftest import REPO

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

optuna = pytest.importorskip("optuna")

DOUBAN = ["--dataset", "douban-book-music", "--target", "music"]
TINY = ["--model", "lightgcn-target", "--epochs", "2", "--dim", "16", "--layers", "1"]
STUDY = "tiny"


def cli(*argv: str) -> tuple[int, str, str]:
    """``cdgraph ARGV`` in this interpreter: exit code, stdout, stderr (logging as it was after)."""
    from cdgraph.cli.main import main

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as exc:
                code = exc.code
    finally:
        root.handlers[:], root.level = handlers, level
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ search space (no data)
def test_default_space_follows_the_declared_options():
    space = search_space("lightgcn-joint", "music")
    assert {"lr", "l2", "batch_size", "dim", "layers", "source_weight"} <= set(space)
    assert space["lr"].section == "train" and space["lr"].log and space["dim"].section == "model"
    assert space["source_weight"].choices == tuple(DEFAULT_RANGES["source_weight"])
    # a model defined by a fixed value stays itself: target-only LightGCN, MF without layers
    assert "source_weight" not in search_space("lightgcn-target", "music")
    assert "layers" not in search_space("bprmf", "music")
    assert "source_weight" not in search_space("graph", "music")  # "auto": the model searches it
    # options the user fixed are not searched; the space overrides and extends the defaults
    space = search_space("lightgcn-joint", "music", {"dim": [8, 16], "loss": ["bpr", "bce"],
                                                     "layers": {"low": 1, "high": 2}},
                         fixed={"lr", "source_weight"})
    assert "lr" not in space and "source_weight" not in space
    assert space["dim"].choices == (8, 16) and space["loss"].section == "train"
    assert space["layers"].integer and (space["layers"].low, space["layers"].high) == (1, 2)
    assert set(search_space("lightgcn-joint", "music", {"lr": [0.01]}, defaults=False)) == {"lr"}


@pytest.mark.parametrize("space, message", [
    ({"lrr": [0.01]}, "lrr: no such option; did you mean 'lr'"),
    ({"lr": {"low": 0.1, "high": 0.01}}, "lr: low (0.1) is above high (0.01)"),
    ({"lr": {"low": 0, "high": 0.01, "log": True}}, "lr: a log range needs low > 0"),
    ({"lr": "fast"}, "lr: give a list of choices"),
    ({"lr": {"low": 0.01}}, "lr: a range has low and high"),
    ({"lr": {"low": "a", "high": 1}}, "lr: low must be a number"),
    ({"layers": {"low": 1.5, "high": 3}}, "layers: takes integers"),
    ({"dim": [16, "x"]}, "dim: 'x' is refused"),
    ({"batch_size": []}, "batch_size: the list of choices is empty"),
    ({"encoder_options": [{"views": "joint"}]}, "encoder_options: a choice must be a number"),
])
def test_bad_spaces_name_the_entry(space, message):
    with pytest.raises(ValueError, match=r"^\[tune\.space\] " + re.escape(message)):
        search_space("lightgcn-joint", "music", space)


def test_pruning_reports_the_main_loop_only():
    class Trial:
        def __init__(self):
            self.reported = []

        def report(self, value, step):
            self.reported.append((value, step))

        def should_prune(self):
            return len(self.reported) >= 2

    trial = Trial()
    report = pruning_callback(trial, "NDCG@10")
    row = {"epoch": 1, "loss": 0.5, "valid/NDCG@10": 0.1}
    report("source-weight/1.0", {"history": [row]})  # a search candidate's loop: not reported
    report("train", {"history": [{"epoch": 1, "loss": 0.5}]})  # an epoch without validation
    report("train", {"history": [row]})
    with pytest.raises(optuna.TrialPruned):
        report("train", {"history": [row, {**row, "epoch": 2, "valid/NDCG@10": 0.05}]})
    assert trial.reported == [(0.1, 1), (0.05, 2)]


def test_without_optuna_the_command_says_how_to_install(mirror):
    code = ("import sys; sys.modules['optuna'] = None\n"
            "import cdgraph\n"  # the library imports without optuna
            "from cdgraph.cli.main import main\n"
            f"sys.exit(main(['tune', *{DOUBAN!r}, '--model', 'pop', '--trials', '1']))")
    env = dict(os.environ, CDGRAPH_DATA=str(mirror), OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("pip install 'cdgraph[tune]'.")


# ------------------------------------------------------------------ a study on real data
@pytest.fixture(scope="module")
def study(mirror, tmp_path_factory):
    """A study killed in its second trial (from Python), continued by ``cdgraph tune --trials 3``."""
    import cdgraph
    from cdgraph.tune import Tuner

    folder = tmp_path_factory.mktemp("tune")
    storage = f"sqlite:///{folder / 'study.db'}"
    split = cdgraph.split.leave_one_out(cdgraph.datasets.load("douban-book-music", root=mirror), "music")
    tuner = Tuner(split, "lightgcn-target", model_options={"dim": 16, "layers": 1},
                  train_options={"epochs": 2}, storage=storage, study_name=STUDY)
    fit = tuner.objective

    def killed_in_trial_1(trial):
        if trial.number == 1:
            raise KeyboardInterrupt
        return fit(trial)
    tuner.objective = killed_in_trial_1
    with pytest.raises(KeyboardInterrupt):
        tuner.run(3)
    code, out, err = cli("tune", *DOUBAN, *TINY, "--root", mirror, "--trials", 3, "--storage", storage,
                         "--study", STUDY, "--out", folder / "runs")
    assert code == 0, err
    run = next((folder / "runs").iterdir())
    return {"folder": folder, "run": run, "storage": storage, "out": out, "mirror": mirror}


@pytest.mark.realdata
def test_a_killed_study_resumes_to_the_requested_trials(study):
    trials = optuna.load_study(study_name=STUDY, storage=study["storage"]).trials
    states = [t.state.name for t in trials]
    assert states == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]  # the interrupted trial does not count
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4  # the resumed sampler draws anew
    frame = pd.read_csv(study["run"] / "trials.csv")
    assert list(frame["state"]) == states and "value (NDCG@10)" in frame
    # the run's config.toml continues the same study; with the same count it has nothing to do
    code, out, err = cli("tune", "--config", study["run"] / "config.toml", "--out", study["folder"] / "again")
    assert code == 0, err
    assert "4 trials (3 complete, 1 fail)" in out
    assert len(optuna.load_study(study_name=STUDY, storage=study["storage"]).trials) == 4


@pytest.mark.realdata
def test_the_run_directory_has_config_trials_and_plots(study):
    run = study["run"]
    for name in ("best.toml", "config.toml", "trials.csv", "report.md", "plots/history.png",
                 "plots/importance.png"):
        assert (run / name).is_file(), name
    assert (run / "plots/importance.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["tune"]["trials"] == 3 and config["tune"]["study"] == STUDY
    assert config["train"] == {"epochs": 2}  # as given: the searched options are not fixed there
    assert "best trial" in study["out"] and "best.toml" in study["out"]
    assert not list(run.glob(".*.tmp"))  # every file written atomically


@pytest.mark.realdata
def test_best_toml_repeats_its_trial_through_cdgraph_train(study):
    best = optuna.load_study(study_name=STUDY, storage=study["storage"]).best_trial
    config = tomllib.loads((study["run"] / "best.toml").read_text())
    assert {k: config["train"].get(k, config["model"].get(k)) for k in best.params} == best.params
    assert config["train"]["seed"] == 0
    code, _, err = cli("train", "--config", study["run"] / "best.toml", "--out", study["folder"] / "train")
    assert code == 0, err
    history = pd.read_csv(next((study["folder"] / "train").iterdir()) / "history.csv")
    assert abs(history["valid/NDCG@10"].max() - best.value) < 1e-6


@pytest.mark.realdata
@pytest.mark.parametrize("args, message", [
    (["--storage", "not-a-url"], "storage 'not-a-url' is not a database URL"),
    (["--storage", "nodb://x"], "storage 'nodb://x' cannot be opened"),
    (["--storage", "sqlite:////no/such/folder/study.db"], "cannot be opened"),
    (["--config", "space.toml"], "[tune.space] lr: low (0.5) is above high (0.01)"),
    (["--config", "space.toml", "--lr", "0.01"], "[tune.space] lr: it is also set to a fixed value"),
    (["--config", "typo.toml"], "Unknown configuration key 'trails' in [tune]"),
])
def test_mistakes_exit_2_with_one_line(mirror, tmp_path, args, message):
    (tmp_path / "space.toml").write_text("[tune.space]\nlr = {low = 0.5, high = 0.01}\n")
    (tmp_path / "typo.toml").write_text("[tune]\ntrails = 3\n")
    args = [str(tmp_path / a) if a.endswith(".toml") else a for a in args]
    code, _, err = cli("tune", *DOUBAN, *TINY, "--root", mirror, "--trials", 1, "--out", tmp_path / "runs",
                       *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "runs").exists()  # refused before anything is written


def test_help_lists_the_search_flags():
    code, out, _ = cli("tune", "--help")
    assert code == 0 and out.startswith("usage: cdgraph tune")
    for flag in ("--trials", "--timeout", "--storage", "--study", "--no-prune", "--config", "--out",
                 "--lr", "--dim", "--dataset"):
        assert flag in out, flag


@pytest.mark.realdata
def test_cdgraph_tune_in_python_and_its_best_options(mirror):
    import cdgraph

    split = cdgraph.split.leave_one_out(cdgraph.datasets.load("douban-book-music", root=mirror), "music")
    tuner = cdgraph.tune(split, "lightgcn-target", trials=2, space={"lr": [0.005, 0.02]}, defaults=False,
                         model_options={"dim": 8, "layers": 1}, train_options={"epochs": 1})
    assert [t.state.name for t in tuner.study.trials] == ["COMPLETE", "COMPLETE"]
    assert set(tuner.dimensions) == {"lr"}
    options, config = tuner.best_options()
    assert options == {"dim": 8, "layers": 1} and config.lr == tuner.best_trial.params["lr"] and config.epochs == 1
    model = cdgraph.make_model("lightgcn-target", "music", **options).fit(split, config)
    assert abs(model.history_["valid/NDCG@10"].max() - tuner.best_trial.value) < 1e-6
    assert len(tuner.trials_frame()) == 2
