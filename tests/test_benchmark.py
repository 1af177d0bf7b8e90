"""The benchmark grid: resumes after an interruption, reports the best baseline and tests, reads TOML."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from cdgraph.benchmark import TASKS, GridConfig, estimate, run_grid
from cdgraph.models import make_model, register_model
from tests.test_cli import PNG_MAGIC, cli

#: Fake NDCG/MRR per method: cdgraph best, lightgcn-joint the best baseline, pop worst.
LEVEL = {"cdgraph": 0.30, "lightgcn-joint": 0.25, "pop": 0.10}


def fake_row(task, method, seed, epochs):
    value = LEVEL.get(method, 0.2) + 0.01 * ((seed * 7 + len(method)) % 3)
    return {"task": task, "method": method, "seed": seed, "epochs_budget": epochs, "epochs_run": epochs,
            "seconds": 1.0, "MRR": value, "NDCG@10": value, "HR@10": 2 * value, "Recall@20": value / 2,
            "NDCG@20": value / 3}


def fake_runner(calls: list, fail_after: int | None = None):
    def run(task, method, seed, epochs, fit, root):
        if fail_after is not None and len(calls) >= fail_after:
            raise RuntimeError("killed")
        calls.append((task, method, seed))
        return fake_row(task, method, seed, epochs)
    return run


class WorkerRun:
    """A picklable fake runner for worker processes: fails on ``fail``, sleeps ``sleep`` s, drops its
    pid into the folder ``pids``; its row records pid, threads and whether the method is registered."""

    def __init__(self, fail: tuple | None = None, sleep: float = 0.05, pids: str | None = None) -> None:
        self.fail, self.sleep, self.pids = fail, sleep, pids

    def __call__(self, task, method, seed, epochs, fit, root):
        import time

        import torch
        if self.pids:
            open(os.path.join(self.pids, str(os.getpid())), "w").close()
        if (task, method, seed) == self.fail:
            raise ValueError("bad cell")
        time.sleep(self.sleep)
        from cdgraph.models import available_models
        row = {**fake_row(task, method, seed, epochs), "pid": os.getpid(), "threads": torch.get_num_threads()}
        return {**row, "registered": method in available_models()}


def config(tmp_path, **kw):
    base = dict(tasks=["sport-cloth", "game-video-cold"], methods=["cdgraph", "lightgcn-joint", "pop"],
                seeds=[0, 1, 2], epochs=3, out=str(tmp_path / "grid"))
    return GridConfig(**{**base, **kw})


def test_grid_resumes_after_an_interruption_without_repeating_runs(tmp_path):
    calls: list = []
    cfg = config(tmp_path)
    with pytest.raises(RuntimeError, match="killed"):
        run_grid(cfg, echo=lambda _: None, runner=fake_runner(calls, fail_after=7))
    partial = pd.read_csv(tmp_path / "grid" / "results.csv")
    assert len(partial) == 7 and not (tmp_path / "grid" / "results.md").exists()
    before = list(calls)
    lines: list[str] = []
    results = run_grid(cfg, echo=lines.append, runner=fake_runner(calls))
    assert lines[0].startswith("7 runs done, 11 to go")
    # every run to go has a timing from seed 0, so each line but the last says what is left
    assert all(line.endswith("(1s); about 1 min left") for line in lines[1:-1]) and lines[-1].endswith("(1s)")
    assert len(results) == 18 and not results.duplicated(["task", "method", "seed"]).any()
    assert set(calls[len(before):]).isdisjoint(before)
    calls.clear()
    run_grid(cfg, echo=lambda _: None, runner=fake_runner(calls))
    assert calls == []  # everything was done


def test_grids_run_side_by_side_merge_into_one(tmp_path):
    a = config(tmp_path, tasks=["sport-cloth"], out=str(tmp_path / "a"))
    b = config(tmp_path, tasks=["game-video-cold"], out=str(tmp_path / "b"))
    run_grid(a, echo=lambda _: None, runner=fake_runner([]))
    run_grid(b, echo=lambda _: None, runner=fake_runner([]))
    calls: list = []
    merged = run_grid(config(tmp_path, out=str(tmp_path / "all")), echo=lambda _: None,
                      runner=fake_runner(calls), merge=[tmp_path / "a" / "results.csv", tmp_path / "b" / "results.csv"])
    assert calls == [] and len(merged) == 18


def test_parallel_grid_writes_the_same_rows_and_resumes_after_a_failed_run(tmp_path):
    serial = run_grid(config(tmp_path, out=str(tmp_path / "serial")), echo=lambda _: None,
                      runner=fake_runner([]))
    lines: list[str] = []
    cfg = config(tmp_path, out=str(tmp_path / "par"))
    with pytest.raises(RuntimeError, match=r"sport-cloth pop seed=1 failed: ValueError: bad cell") as err:
        run_grid(cfg, echo=lines.append, runner=WorkerRun(fail=("sport-cloth", "pop", 1)), jobs=2)
    assert isinstance(err.value.__cause__, ValueError)
    partial = pd.read_csv(tmp_path / "par" / "results.csv")
    cells = list(zip(partial["task"], partial["method"], partial["seed"]))
    # seed by seed: every seed-0 run started before the failing seed-1 run, so each finished and
    # was written (within a seed the order follows measured times, so it is not fixed); then none
    # started
    seed0 = {c for c in zip(serial["task"], serial["method"], serial["seed"]) if c[2] == 0}
    assert seed0 <= set(cells) and ("sport-cloth", "pop", 1) not in cells and len(cells) < 18
    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    assert (partial["pid"] != os.getpid()).all() and (partial["threads"] == threads).all()
    assert lines[0].endswith(f"(2 at a time, {threads} thread{'s' * (threads > 1)} each)")
    lines.clear()
    results = run_grid(cfg, echo=lines.append, runner=WorkerRun(), jobs=3)
    assert lines[0].startswith(f"{len(partial)} runs done, {18 - len(partial)} to go")
    key = ["task", "method", "seed"]
    merged = results.sort_values(key).reset_index(drop=True)
    expected = serial.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged[expected.columns], expected, check_dtype=False)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        run_grid(cfg, echo=lambda _: None, jobs=0)


def test_parallel_workers_know_methods_registered_in_the_users_modules(tmp_path, monkeypatch):
    import importlib

    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "my_cdr_plugin.py").write_text(
        "from cdgraph.models import make_model, register_model\n\n"
        "@register_model('plugin-pop', overwrite=True)\n"
        "def plugin_pop(target, **options):\n    return make_model('pop', target)\n")
    monkeypatch.syspath_prepend(str(plugin))  # workers are spawned with the parent's sys.path
    importlib.import_module("my_cdr_plugin")
    cfg = config(tmp_path, tasks=["sport-cloth"], methods=["pop", "plugin-pop"], seeds=[0])
    results = run_grid(cfg, echo=lambda _: None, runner=WorkerRun(), jobs=2)
    assert results["registered"].all() and (results["pid"] != os.getpid()).all()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc to see the workers")
def test_interrupted_parallel_grid_ends_its_workers(tmp_path):
    import signal
    import threading
    import time

    pids = tmp_path / "pids"
    pids.mkdir()

    def interrupt_when_both_run():
        while len(list(pids.iterdir())) < 2:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C

    threading.Thread(target=interrupt_when_both_run, daemon=True).start()
    # a shell's background job starts with SIGINT ignored: Python then raises nothing on Ctrl-C
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_grid(config(tmp_path, tasks=["sport-cloth"], methods=["cdgraph", "pop"], seeds=[0]),
                     echo=lambda _: None, runner=WorkerRun(sleep=60, pids=str(pids)), jobs=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    workers = [int(p.name) for p in pids.iterdir()]
    for _ in range(300):  # up to 30 s on a loaded machine, still well short of the runs' 60 s
        if not any(_running(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert len(workers) == 2 and not any(_running(pid) for pid in workers)
    assert not (tmp_path / "grid" / "results.csv").exists()


def test_estimate_replays_the_runs_to_go_on_the_workers(tmp_path):
    cfg = config(tmp_path, tasks=["sport-cloth"], seeds=[0, 1])
    run_grid(config(tmp_path, tasks=["sport-cloth"], methods=["pop"], seeds=[0]), echo=lambda _: None,
             runner=fake_runner([]))
    timings = pd.DataFrame({"task": ["sport-cloth"] * 4 + ["book-music"],
                            "method": ["cdgraph", "cdgraph", "pop", "pop", "lightgcn-joint"],
                            "seconds": [8.0, 12.0, 1.0, 1.0, 99.0]})
    # to go, in order: cdgraph 0, lightgcn-joint 0, cdgraph 1, pop 1, lightgcn-joint 1
    one = estimate(cfg, timings, jobs=1)
    assert (one["runs"], one["estimated"], one["core_seconds"], one["wall_seconds"]) == (5, 3, 21.0, 21.0)
    assert one["missing"] == [("sport-cloth", "lightgcn-joint")]
    assert estimate(cfg, timings, jobs=2)["wall_seconds"] == 11.0  # 10 | 10, then 1 on the first free
    assert estimate(cfg, timings, jobs=8)["wall_seconds"] == 10.0
    assert estimate(cfg, timings.iloc[:0], jobs=2)["estimated"] == 0


def test_runs_of_a_seed_start_longest_first_by_earlier_timings(tmp_path):
    cfg = config(tmp_path, tasks=["sport-cloth"], seeds=[0, 1, 2])
    seconds = {"cdgraph": 1.0, "lightgcn-joint": 5.0, "pop": 30.0}
    calls: list = []
    timed = fake_runner(calls)

    def run(task, method, seed, epochs, fit, root):
        return {**timed(task, method, seed, epochs, fit, root), "seconds": seconds[method]}

    results = run_grid(cfg, echo=lambda _: None, runner=run)
    longest_first = ["pop", "lightgcn-joint", "cdgraph"]
    # seed 0 in the grid's order; the later seeds by seed 0's timings, taken during the same run
    assert [m for _, m, _ in calls] == cfg.methods + longest_first * 2
    # in the grid's order (1, 5, 30) two workers would end on pop alone, at 1 + 30 = 31
    seed0 = results[results["seed"] == 0]
    assert estimate(config(tmp_path, tasks=["sport-cloth"], seeds=[0], out=str(tmp_path / "new")),
                    seed0, jobs=2)["wall_seconds"] == 30.0


def test_reports_mark_best_baseline_and_test_against_it(tmp_path):
    cfg = config(tmp_path)
    run_grid(cfg, echo=lambda _: None, runner=fake_runner([]))
    md = (tmp_path / "grid" / "results.md").read_text()
    assert md.count("**lightgcn-joint** (best baseline)") == 2
    cdgraph_rows = [line for line in md.splitlines() if line.startswith("| cdgraph |")]
    assert len(cdgraph_rows) == 2 and all("(+0.05" in line for line in cdgraph_rows)
    summary = (tmp_path / "grid" / "summary.md").read_text()
    assert summary.count("| True | 2/2 | - |") == 2 and "lightgcn-joint" in summary
    assert (tmp_path / "grid" / "results.png").read_bytes()[:8] == PNG_MAGIC


def test_toml_config_is_checked_and_flags_override_it(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('[benchmark]\ntasks = ["book-music"]\nmethods = ["pop"]\nseeds = [0, 1]\nout = "res"\n'
                    '[benchmark.task_epochs]\nbook-music = 100\n')
    cfg = GridConfig.from_toml(path, seeds=[3], out=None, tasks=None)
    assert cfg.seeds == [3] and cfg.task_epochs == {"book-music": 100}
    assert cfg.out == str(tmp_path / "res")
    path.write_text('[benchmark]\ntasks = ["book-music"]\nmethods = ["pop"]\nepoch = 3\n')
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['epoch'\]"):
        GridConfig.from_toml(path)
    with pytest.raises(ValueError, match="Unknown method"):
        GridConfig(tasks=["book-music"], methods=["nope"])
    with pytest.raises(ValueError, match="Unknown benchmark task"):
        GridConfig(tasks=["nope"], methods=["pop"])


@pytest.mark.parametrize("bad, message", [
    ({"tasks": "book-music"}, "tasks must be a list of names"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": "1"}, "epochs must be a positive integer"),
    ({"seeds": [True]}, "seeds must be non-negative integers"),
    ({"task_epochs": {"book-musc": 5}}, "task_epochs: Unknown benchmark task 'book-musc'"),
    ({"task_epochs": {"book-music": 0}}, "task_epochs: book-music must be a positive integer"),
    ({"fit": {"lr": 0.01, "lerning_rate": 0.1}}, r"Unknown option\(s\) \['lerning_rate'\] in \[benchmark.fit\]"),
])
def test_config_values_are_checked_before_anything_runs(bad, message):
    with pytest.raises(ValueError, match=message):
        GridConfig(**{"tasks": ["book-music"], "methods": ["pop", "ptupcdr"], **bad})


def test_registered_method_is_usable_by_name():
    @register_model("test-popularity", overwrite=True)
    def _pop(target, **options):
        return make_model("pop", target)

    assert type(make_model("test-popularity", "cloth")).__name__ == "Popularity"
    assert set(TASKS) >= {"sport-cloth", "book-music", "game-video-cold", "sport-cloth-cold"}


@pytest.mark.realdata
def test_cli_benchmark_runs_and_resumes_on_real_data(mirror, tmp_path):
    args = ["benchmark", "--tasks", "game-video-cold", "--methods", "pop", "bprmf", "--seeds", "0", "1",
            "--epochs", "1", "--out", tmp_path / "b"]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    results = pd.read_csv(tmp_path / "b" / "results.csv")
    assert len(results) == 4 and results["MRR"].between(0, 1).all()
    assert (results[results["method"] == "bprmf"]["epochs_run"] == 1).all()
    again = cli(*args)
    assert again.returncode == 0 and "4 runs done, 0 to go" in again.stdout
    plan = cli("benchmark", "--tasks", "game-video-cold", "--methods", "pop", "bprmf", "--seeds", "0", "1",
               "2", "--out", tmp_path / "b", "--jobs", "2", "--estimate", tmp_path / "b" / "results.csv")
    seconds = results[results["method"] == "bprmf"]["seconds"].mean() + results[results["method"] == "pop"]["seconds"].mean()
    assert plan.returncode == 0 and plan.stdout.startswith("2 runs to go") and f"{seconds:.0f} s =" in plan.stdout
    assert len(pd.read_csv(tmp_path / "b" / "results.csv")) == 4  # nothing was trained
    bad = cli("benchmark", "--tasks", "game-video-cold", "--methods", "nope", "--out", tmp_path / "c")
    assert bad.returncode == 2 and "Unknown method" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_summary_names_the_methods_not_beaten():
    from cdgraph.benchmark.report import summary
    rows = [{"task": "game-video-cold", "method": m, "seed": s, "MRR": level + 0.001 * s * (m == "cdgraph")}
            for s in range(3) for m, level in (("cdgraph", 0.20), ("emcdr", 0.10), ("ptupcdr", 0.25))]
    out = summary(pd.DataFrame(rows)).iloc[0]
    assert out["best other"] == "ptupcdr" and not out["wins"]
    assert out["beats"] == "1/2" and out["not beaten at p < 0.05"] == "ptupcdr" and out["seeds"] == 3


def test_report_only_merges_side_by_side_grids(tmp_path):
    a = config(tmp_path, tasks=["sport-cloth"], out=str(tmp_path / "a"))
    run_grid(a, echo=lambda _: None, runner=fake_runner([]))
    out = tmp_path / "all"
    done = cli("benchmark", "--tasks", "sport-cloth", "--methods", "cdgraph", "lightgcn-joint", "pop",
               "--out", out, "--report-only", "--merge", tmp_path / "a" / "results.csv")
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(out / "results.csv")) == 9 and (out / "summary.md").exists()
    missing = cli("benchmark", "--tasks", "sport-cloth", "--methods", "pop", "--out", out, "--report-only",
                  "--merge", tmp_path / "nope.csv")
    assert missing.returncode == 2 and "no such results file" in missing.stderr


def test_compare_grid_reports_speedup_metric_differences_and_changed_choices(tmp_path):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_grid.py"
    spec = importlib.util.spec_from_file_location("compare_grid", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    old = pd.DataFrame({"task": ["a", "a", "b"], "method": ["m", "n", "m"], "seed": [0, 0, 0],
                        "NDCG@10": [0.2, 0.3, 0.4], "seconds": [10.0, 4.0, 6.0],
                        "source_weight": [1.0, None, 0.5]})
    new = old.iloc[:2].copy()
    new["seconds"], new.loc[1, "NDCG@10"], new.loc[0, "source_weight"] = [5.0, 4.0], 0.31, 2.0
    table = module.compare(old, new).set_index("method")
    assert table["speedup"].tolist() == [2.0, 1.0]
    assert table.loc["m", "max_metric_diff"] == 0 and table.loc["n", "max_metric_diff"] == pytest.approx(0.01)
    assert table["same_choice"].tolist() == [False, True]
    assert "| **all** | 2 | 14 | 9 | 1.56 | 1.0e-02 |" in module.markdown(table.reset_index(), wall=None)
    with pytest.raises(ValueError, match="not in the committed grid"):
        module.compare(old, new.assign(task="c"))
