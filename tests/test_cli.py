"""The command line, driven as a user would: ``python -m cdgraph ...`` in a subprocess.

One tiny training run of the configurable graph model on Douban Book->Music (target music,
1 epoch, 16 dimensions, source weight 1 to skip the automatic search) is made once per
module and reused.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from tests.conftest import REPO, find_mirror

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = ["--epochs", "1", "--source-weight", "1", "--dim", "16", "--layers", "2"]
GRAPH = ["--model", "graph", *TINY]  # the configurable graph model: one short loop
DOUBAN = ["--dataset", "douban-book-music", "--target", "music"]


def cli(*args: str, cwd: Path | None = None, data: Path | None = None) -> subprocess.CompletedProcess:
    mirror = data or find_mirror()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    if mirror is not None:
        env["CDGRAPH_DATA"] = str(mirror)
    return subprocess.run([sys.executable, "-m", "cdgraph", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd or REPO, timeout=600)


# Runs cdgraph.cli.main.main on several argument lists in one interpreter (``python -m cdgraph``
# is ``sys.exit(main())``), returning each exit code, stdout and stderr: the many help and
# mistake cases then pay for importing torch once instead of once each.
BATCH = """
import contextlib, io, json, sys
from cdgraph.cli.main import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def cli_batch(argvs: list[list[str]], cwd: Path | None = None,
              data: Path | None = None) -> list[subprocess.CompletedProcess]:
    mirror = data or find_mirror()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    if mirror is not None:
        env["CDGRAPH_DATA"] = str(mirror)
    argvs = [[str(a) for a in argv] for argv in argvs]
    done = subprocess.run([sys.executable, "-c", BATCH, json.dumps(argvs)], capture_output=True,
                          text=True, env=env, cwd=cwd or REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [subprocess.CompletedProcess(argv, code, out, err)
            for argv, (code, out, err) in zip(argvs, json.loads(done.stdout.splitlines()[-1]))]


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def usage_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit code 2 and one line on stderr, without a traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "error" in lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 5_000, (path, len(data))


@pytest.fixture(scope="module")
def run(mirror, tmp_path_factory) -> Path:
    """One trained run directory (the module's only full training run)."""
    out = tmp_path_factory.mktemp("runs")
    stdout = ok(cli("train", *DOUBAN, *GRAPH, "--out", out, data=mirror))
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1 and str(folders[0]) in stdout
    return folders[0]


# ------------------------------------------------------------------ help
HELP = [[], ["datasets"], ["datasets", "info"], ["datasets", "download"], ["train"], ["evaluate"],
        ["recommend"], ["compare"], ["export"]]


@pytest.fixture(scope="module")
def helps() -> list[subprocess.CompletedProcess]:
    return cli_batch([[*command, "--help"] for command in HELP])


def test_help_from_python_m():
    assert ok(cli("--help")).startswith("usage: cdgraph")


@pytest.mark.parametrize("index", range(len(HELP)), ids=[" ".join(c) or "cdgraph" for c in HELP])
def test_help(helps, index):
    command = HELP[index]
    text = ok(helps[index])
    assert text.startswith("usage: cdgraph" + "".join(f" {c}" for c in command))
    if command == ["train"]:
        for flag in ("--dataset", "--files", "--model", "--source-weight", "--config", "--out", "--resume"):
            assert flag in text


# ------------------------------------------------------------------ train
@pytest.mark.realdata
def test_train_writes_a_complete_run_directory(run):
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["data"] == {"dataset": "douban-book-music", "target": "music",
                              "split": "leave_one_out", "split_seed": 0}
    assert config["model"]["name"] == "graph" and config["model"]["dim"] == 16
    assert config["train"]["epochs"] == 1 and config["train"]["source_weight"] == 1.0
    assert config["evaluate"] == {"k": [5, 10, 20], "num_negatives": 99}

    with open(run / "history.csv", newline="") as fh:
        history = list(csv.DictReader(fh))
    assert len(history) == 1 and float(history[0]["loss"]) > 0 and "valid/NDCG@10" in history[0]

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["num_negatives"] == 99 and metrics["k"] == [5, 10, 20]
    assert {"NDCG@10", "HR@10", "MRR"} <= set(metrics["sampled"])
    assert {"NDCG@10", "Recall@20"} <= set(metrics["full"])
    assert all(0 <= v <= 1 for p in ("sampled", "full") for v in metrics[p].values())
    assert metrics["source_weight"] == 1.0
    assert (run / "model.pt").stat().st_size > 0

    plots = sorted((run / "plots").glob("*.png"))
    assert [p.name for p in plots] == ["degree.png", "loss.png", "overlap.png", "valid.png"]
    for plot in plots:
        assert_png(plot)

    report = (run / "report.md").read_text()
    for needle in ("NDCG@10", "HR@10", "Recall@20", "douban-book-music", "leave_one_out", "[train]"):
        assert needle in report
    for plot in plots:
        assert f"](plots/{plot.name})" in report
    assert not list(run.glob(".*.tmp")), "a temporary file was left behind"


@pytest.mark.realdata
def test_config_toml_repeats_the_run(run, mirror, tmp_path):
    ok(cli("train", "--config", run / "config.toml", "--out", tmp_path, cwd=tmp_path, data=mirror))
    (again,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert again.name != run.name
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (run, again))
    assert first["sampled"] == second["sampled"] and first["full"] == second["full"]


@pytest.mark.realdata
def test_resume_continues_the_run(run, mirror, tmp_path):
    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    assert (copy / "checkpoint.pt").is_file()
    ok(cli("train", "--resume", copy, "--epochs", "2", data=mirror))
    assert len(pd.read_csv(copy / "history.csv")) == 2
    assert tomllib.loads((copy / "config.toml").read_text())["train"]["epochs"] == 2
    usage_error(cli("train", "--resume", copy, "--lr", "0.1", data=mirror), "--lr")


# ------------------------------------------------------------------ evaluate / recommend
@pytest.mark.realdata
def test_evaluate_reproduces_metrics_json(run, mirror):
    saved = json.loads((run / "metrics.json").read_text())
    again = json.loads(ok(cli("evaluate", run, "--json", data=mirror)))
    for protocol in ("sampled", "full"):
        assert set(again[protocol]) == set(saved[protocol])
        for metric, value in saved[protocol].items():
            assert again[protocol][metric] == pytest.approx(value, abs=1e-6), (protocol, metric)
    table = ok(cli("evaluate", run, "--protocol", "sampled", "-k", "10", "--num-negatives", "49", data=mirror))
    assert "NDCG@10" in table and "Recall" not in table and "49 sampled negatives" in table


@pytest.mark.realdata
def test_recommend_raw_ids_without_seen_items(run, mirror):
    from cdgraph import datasets
    from cdgraph.data import split

    out = json.loads(ok(cli("recommend", run, "--user", "1", "--user", "2", "-k", "5", "--json", data=mirror)))
    assert [r["user"] for r in out] == [1, 2]
    sp = split.leave_one_out(datasets.load("douban-book-music", root=mirror), "music")
    train = sp.train["music"]
    data = sp.data
    for rec in out:
        assert len(rec["items"]) == 5 and rec["scores"] == sorted(rec["scores"], reverse=True)
        seen = set(data.item_ids["music"][train.loc[train["user"] == data.user_index([rec["user"]])[0], "item"]])
        assert not seen & set(rec["items"])
        assert set(rec["items"]) <= set(data.item_ids["music"])
    unknown, not_int = cli_batch([["recommend", run, "--user", "987654321"],
                                  ["recommend", run, "--user", "abc"]], data=mirror)
    usage_error(unknown, "987654321")
    usage_error(not_int, "'abc'", "integer")


# ------------------------------------------------------------------ compare / export
@pytest.mark.realdata
def test_compare_table_and_chart(mirror, tmp_path):
    stdout = ok(cli("compare", *DOUBAN, *TINY, "--models", "cdgraph", "pop", "--seeds", "0", "1",
                    "--out", tmp_path, data=mirror))
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    runs = pd.read_csv(folder / "compare.csv")
    assert list(zip(runs["model"], runs["seed"])) == [("cdgraph", 0), ("cdgraph", 1), ("pop", 0), ("pop", 1)]
    assert runs["NDCG@10"].between(0, 1).all() and (runs["protocol"] == "sampled").all()
    md = (folder / "compare.md").read_text()
    assert "NDCG@10" in md and "±" in md and "](compare.png)" in md
    assert "cdgraph" in stdout and "pop" in stdout and "±" in stdout
    assert_png(folder / "compare.png")
    config = tomllib.loads((folder / "config.toml").read_text())
    assert config["compare"] == {"models": ["cdgraph", "pop"], "seeds": [0, 1]}


@pytest.mark.realdata
def test_export_embeddings_and_recbole(run, mirror, tmp_path):
    out = tmp_path / "export"
    ok(cli("export", run, "--recbole", "--out", out, data=mirror))
    users, items = np.load(out / "user_embeddings.npy"), np.load(out / "music_embeddings.npy")
    user_ids, item_ids = pd.read_csv(out / "user_ids.csv"), pd.read_csv(out / "music_ids.csv")
    assert users.shape == (len(user_ids), 16) and items.shape == (len(item_ids), 16)
    assert np.isfinite(users).all() and user_ids["id"].is_unique
    inter = out / "recbole" / "douban-book-music_music" / "douban-book-music_music.test.inter"
    assert inter.read_text().startswith("user_id:token\titem_id:token")

    result = cli("export", run, "--format", "parquet", "--out", out, data=mirror)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        usage_error(result, "pyarrow")
    else:
        ok(result)
        table = pd.read_parquet(out / "user_embeddings.parquet")
        assert table.shape == (len(user_ids), 17) and table["id"].tolist() == user_ids["id"].tolist()


# ------------------------------------------------------------------ datasets
@pytest.mark.realdata
def test_datasets_list_info_download(mirror):
    listing = ok(cli("datasets", data=mirror))
    assert "douban-book-music" in listing and "book & music" in listing and "1 + 99 sampled" in listing
    info = json.loads(ok(cli("datasets", "info", "douban-book-music", "--json", data=mirror)))
    assert info["domains"] == ["book", "music"] and info["protocol"]["split"] == "leave_one_out"
    assert "verified" in ok(cli("datasets", "download", "douban-book-music", "--root", mirror, data=mirror))


# ------------------------------------------------------------------ your own files, mistakes
def _write_files(folder: Path) -> dict[str, Path]:
    from cdgraph.datasets import synthetic

    data = synthetic(num_users=120, items_per_domain=40, interactions_per_domain=1500, seed=3)
    paths = {}
    for domain in data.domains:
        frame = data.interactions(domain, raw=True)
        frame = pd.DataFrame({"u": "u" + frame["user"].astype(str), "i": "i" + frame["item"].astype(str)})
        paths[domain] = folder / f"{domain}.csv"
        frame.to_csv(paths[domain], index=False)
    return paths


def test_train_on_own_files_with_string_ids(tmp_path):
    paths = _write_files(tmp_path)
    files = [f"{d}={p.name}" for d, p in paths.items()]
    ok(cli("train", "--files", *files, "--user-col", "u", "--item-col", "i", "--target", "b",
           "--split", "ratio", *TINY, "--out", "runs", cwd=tmp_path))
    (run,) = list((tmp_path / "runs").iterdir())
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["data"]["files"]["a"] == str(paths["a"].resolve())  # absolute: repeatable anywhere
    user = pd.read_csv(paths["b"])["u"].iloc[0]
    out = json.loads(ok(cli("recommend", run, "--user", user, "-k", "3", "--json")))
    assert out[0]["user"] == user and len(out[0]["items"]) == 3 and out[0]["items"][0].startswith("i")


def test_cdgraph_on_the_command_line_is_the_benchmarks_best_model(tmp_path):
    paths = _write_files(tmp_path)
    files = [f"{d}={p.name}" for d, p in paths.items()]
    ok(cli("train", "--files", *files, "--user-col", "u", "--item-col", "i", "--target", "b",
           "--split", "ratio", *TINY, "--out", "runs", cwd=tmp_path))
    (run,) = list((tmp_path / "runs").iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    # ratio split: every held-out user is warm, so the target-only part is trained and weighed
    assert metrics["target_only_weight"] in (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)
    assert metrics["bridge_weight"] == 0.0 and metrics["source_weight"] == 1.0
    again = json.loads(ok(cli("evaluate", run, "--protocol", "full", "--json", cwd=tmp_path)))
    assert again["full"] == pytest.approx(metrics["full"], abs=1e-6)


OWN_FILES = ["train", "--files", "a=a.csv", "b=b.csv", "--user-col", "u", "--item-col", "i", "--target", "b",
             "--split", "ratio"]
MISTAKES = [
    (["train", "--dataset", "no-such-data", "--target", "music"], "no-such-data"),
    (["train", *DOUBAN, "--model", "no-such-model"], "no-such-model"),
    (["train", *DOUBAN, "--epochs", "-1"], "--epochs"),
    (["train", *DOUBAN, "--lr", "fast"], "--lr"),
    (["train", *DOUBAN, "--source-weight", "heavy"], "--source-weight"),
    (["train", *DOUBAN, "--encoder", "no-such-encoder"], "no-such-encoder"),
    (["train", *DOUBAN, "--model", "pop", "--dim", "8"], "pop"),
    (["train", "--dataset", "douban-book-music", "--target", "video"], "video"),
    (["train", "--target", "b"], "--files"),
    (["train", "--files", "a=a.csv", "b=missing.csv", "--target", "b"], "missing.csv"),
    (["train", "--files", "a=a.csv", "b=b.csv", "--user-col", "user_id", "--item-col", "i", "--target", "b"], "user_id"),
    (["train", "--config", "bad.toml"], "warp_speed"),
    (["train", "--config", "no-such.toml"], "no-such.toml"),
    (["compare", *DOUBAN, "--models", "cdgraph", "no-such-model"], "no-such-model"),
    # caught before a run directory exists or anything trains
    ([*OWN_FILES, "--valid-metric", "NDGC@10"], "NDGC@10"),
    ([*OWN_FILES, "--config", "bad-encoder.toml"], "'view'"),
    ([*OWN_FILES, "--model", "cdgraph", "--scorer", "mlp"], "must be 'dot'"),
    (["compare", *OWN_FILES[1:], "--models", "pop", "cdgraph", "--scorer", "mlp"], "must be 'dot'"),
    (["compare", *OWN_FILES[1:], "--models", "pop", "emcdr", "--encoder", "sage"], "none of the models"),
    ([*OWN_FILES[:-1], "cold_start", "--valid-metric", "cold/NDGC@10"], "cold/NDGC@10"),
    ([*OWN_FILES, "--valid-metric", "cold/NDCG@10"], "this one has none"),
    ([*OWN_FILES, "--epochz", "1"], "cdgraph train: error: unrecognized arguments: --epochz 1"),
    (["compare", *OWN_FILES[1:], "--models", "pop", "--metric", "NDGC@10"], "NDGC@10"),
    (["evaluate", "no-such-run"], "no-such-run"),
    (["recommend", ".", "--user", "1"], "not a run directory"),
    (["datasets", "info", "no-such-data"], "no-such-data"),
    (["datasets", "download", "no-such-data"], "no-such-data"),
]


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory) -> tuple[Path, list[subprocess.CompletedProcess]]:
    folder = tmp_path_factory.mktemp("mistakes")
    _write_files(folder)
    (folder / "bad.toml").write_text("[train]\nepochs = 1\nwarp_speed = 9\n")
    (folder / "bad-encoder.toml").write_text('[model]\nencoder_options = {view = "split"}\n')
    out = folder / "runs"
    argvs = [[*args, "--out", out] if args[0] in ("train", "compare") else args for args, _ in MISTAKES]
    return folder, cli_batch(argvs, cwd=folder)


def test_a_mistake_from_python_m_exits_2_with_one_line(tmp_path):
    usage_error(cli("train", "--dataset", "no-such-data", "--target", "x", cwd=tmp_path), "no-such-data")


@pytest.mark.parametrize("index", range(len(MISTAKES)), ids=[m[1] for m in MISTAKES])
def test_user_mistakes_exit_2_with_one_line(mistakes, index):
    folder, results = mistakes
    usage_error(results[index], MISTAKES[index][1])
    runs = folder / "runs"
    assert not runs.exists() or not list(runs.iterdir()), "a mistake left a run directory"


# ------------------------------------------------------------------ in-process pieces
def test_config_toml_round_trip_and_checks(tmp_path):
    from cdgraph.cli import config as cfg

    config = {"data": {"files": {"my book": "/x/a b.csv", "música": 'q"uote\\.csv'}, "sep": "\t",
                       "target": "música"},
              "model": {"alignment": ["contrastive"], "encoder_options": {"views": "split", "k": 2}},
              "train": {"lr": 0.001, "patience": "none", "source_weight": "auto"}}
    text = cfg.dumps(config, header="a header\nof two lines")
    assert tomllib.loads(text) == config
    (tmp_path / "c.toml").write_text(text)
    assert cfg.read(tmp_path / "c.toml")["train"] == config["train"]
    with pytest.raises(cfg.CLIError, match=r"\[train\] epochs"):
        cfg.check("train", "epochs", 1.5)
    with pytest.raises(cfg.CLIError, match="Unknown configuration section"):
        cfg.check("nope", "epochs", 1)


def test_plots_without_matplotlib_say_how_to_install(monkeypatch):
    from cdgraph.cli import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert not plots.available()
    with pytest.raises(RuntimeError, match=r"pip install"):
        plots.loss_curve(pd.DataFrame({"epoch": [1], "loss": [0.5]}))


@pytest.mark.realdata
def test_concurrent_trains_into_one_out_folder_never_collide(mirror, tmp_path):
    """Two processes writing runs to the same --out at the same time: two complete, separate runs."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), CDGRAPH_DATA=str(mirror))
    args = [sys.executable, "-m", "cdgraph", "train", *DOUBAN, *GRAPH, "--out", str(tmp_path)]
    procs = [subprocess.Popen(args + ["--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=REPO) for seed in (0, 1)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(runs) == 2
    for folder in runs:
        assert json.loads((folder / "metrics.json").read_text())
        assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".tmp")]
    seeds = {tomllib.loads((folder / "config.toml").read_text())["train"]["seed"] for folder in runs}
    assert seeds == {0, 1}


def test_a_split_the_data_cannot_give_names_a_command_line_remedy():
    from cdgraph.cli import pipeline
    from cdgraph.cli.config import CLIError
    from cdgraph.datasets import synthetic

    sparse = synthetic(num_users=100, items_per_domain=50, interactions_per_domain=300, seed=0)
    config = {"data": {"split": "ratio", "target": sparse.domains[-1], "split_seed": 0}}
    with pytest.raises(CLIError, match=r"valid part is empty.*choose another --split"):
        pipeline.make_split(config, sparse)
    config["data"]["split"] = "leave_one_out"
    assert len(pipeline.make_split(config, sparse).valid)
