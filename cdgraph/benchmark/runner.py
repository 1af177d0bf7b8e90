"""The benchmark grid: methods x tasks x seeds, resumable, one results CSV.

Every run appends one row to ``<out>/results.csv`` (rewritten atomically), so a run
that is interrupted, killed or crashes resumes where it stopped: finished
(task, method, seed) triples are skipped. After the grid (and whenever asked), the
markdown table, the summary of the reference method against the best other one, and a
bar chart are written next to it.
"""
from __future__ import annotations

import heapq
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from cdgraph import datasets
from cdgraph.data.split import SPLITS
from cdgraph.train.allocator import keep_freed_memory
from cdgraph.io.atomic import atomic_write
from cdgraph.models.registry import MODELS, available_models, make_model
from cdgraph.train.config import TrainConfig, names as train_options
from cdgraph.benchmark import report
from cdgraph.benchmark.parallel import cores, run_parallel
from cdgraph.benchmark.tasks import TASKS, get_task

KEYS = ["task", "method", "seed"]
#: Training options that each run of the grid sets itself (budget, seed, the task's protocol).
GRID_SETS = ("epochs", "seed", "valid_protocol", "valid_negatives", "progress")
#: What ``[benchmark.fit]`` takes: every other training option.
FIT_KEYS = tuple(name for name in train_options() if name not in GRID_SETS)


@dataclass
class GridConfig:
    """What to run; readable from the ``[benchmark]`` table of a TOML file.

    Attributes:
        tasks, methods (list[str]): Names from :data:`~cdgraph.benchmark.tasks.TASKS`
            and :func:`~cdgraph.models.available_models`.
        seeds (list[int]): Training seeds (also the seed of the sampled test negatives).
        epochs (int): Epoch budget of every method; ``task_epochs`` overrides it per task.
        fit (dict): Training options of every run (:class:`~cdgraph.TrainConfig` fields: lr,
            batch_size, patience, ...), less those the grid sets itself (:data:`GRID_SETS`).
        reference (list[str]): cdgraph's own methods; the others are the baselines.
        out (str): Output folder (``results.csv``, ``results.md``, ``summary.md``,
            ``results.json``, ``results.png``, and ``config.json``: the configuration of the
            latest :func:`run_grid` call, which may have run a part of the grid).
        root (str, optional): Dataset root (default: ``$CDGRAPH_DATA`` or the cache).
        notes (dict): Remarks printed next to a method's name in the table.
    """

    tasks: list[str]
    methods: list[str]
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    epochs: int = 30
    task_epochs: dict[str, int] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=lambda: {"lr": 0.01, "batch_size": 8192, "patience": 10})
    reference: list[str] = field(default_factory=lambda: ["cdgraph"])
    out: str = "benchmark-results"
    root: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("tasks", "methods", "reference"):
            value = getattr(self, key)
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key} must be a list of names, e.g. [\"book-music\"], got {value!r}.")
        for t in self.tasks:
            get_task(t)
        unknown = [m for m in self.methods if m not in MODELS]
        if unknown:
            raise ValueError(f"Unknown method(s) {unknown}; available: {available_models()}.")
        if not self.seeds or any(not _count(s, 0) for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds!r}.")
        if not _count(self.epochs, 1):
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}.")
        for task, epochs in self.task_epochs.items():
            try:
                get_task(task)
            except ValueError as exc:
                raise ValueError(f"task_epochs: {exc}") from None
            if not _count(epochs, 1):
                raise ValueError(f"task_epochs: {task} must be a positive integer, got {epochs!r}.")
        if not isinstance(self.fit, dict):
            raise ValueError(f"[benchmark.fit] must be a table of training options, got {self.fit!r}.")
        unknown = sorted(set(self.fit) - set(FIT_KEYS))
        if unknown:
            owned = [k for k in unknown if k in GRID_SETS]
            raise ValueError(f"Unknown option(s) {unknown} in [benchmark.fit]"
                             + (f" ({', '.join(owned)}: set by the grid itself, from epochs, seeds and each "
                                f"task's protocol)" if owned else "")
                             + f"; it takes the training options {', '.join(FIT_KEYS)}.")
        TrainConfig(**self.fit)  # a ValueError names a bad value

    def epochs_for(self, task: str) -> int:
        """The epoch budget of ``task``: its ``task_epochs`` entry, else ``epochs``."""
        return int(self.task_epochs.get(task, self.epochs))

    @classmethod
    def from_toml(cls, path: str | os.PathLike, **overrides: Any) -> "GridConfig":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python < 3.11
            import tomli as tomllib
        try:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"Cannot read benchmark config {os.fspath(path)!r}: {exc}") from None
        table = doc.get("benchmark", doc)
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(table) - known)
        if extra:
            raise ValueError(f"{os.fspath(path)!r}: unknown key(s) {extra} in [benchmark]; "
                             f"known: {sorted(known)}.")
        values = {**table, **{k: v for k, v in overrides.items() if v is not None}}
        if "out" in table and overrides.get("out") is None and not os.path.isabs(table["out"]):
            values["out"] = str(Path(path).resolve().parent / table["out"])
        return cls(**values)


def _count(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def run_one(task_name: str, method: str, seed: int, epochs: int, fit: dict[str, Any],
            root: str | None = None) -> dict[str, Any]:
    """Train ``method`` on ``task_name`` with ``seed`` and evaluate it; one results row."""
    task = get_task(task_name)
    data = datasets.load(task.dataset, root=root)
    sp = SPLITS.get(task.split)(data, task.target)
    model = make_model(method, task.target)
    config = TrainConfig(**{"valid_metric": task.metric, **fit, "epochs": epochs, "seed": seed,
                            "valid_protocol": "sampled", "valid_negatives": task.num_negatives,
                            "progress": False})
    started, cpu = time.perf_counter(), time.process_time()
    model.fit(sp, config)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    sampled = model.evaluate(sp, protocol="sampled", num_negatives=task.num_negatives, k=(1, 5, 10), seed=seed)
    full = model.evaluate(sp, protocol="full", k=(20,))
    history = getattr(model, "history_", None)
    row: dict[str, Any] = {"task": task_name, "method": method, "seed": seed, "epochs_budget": epochs,
                           "epochs_run": 0 if history is None else len(history), "seconds": round(seconds, 1),
                           "cpu_seconds": round(cpu, 1)}
    row.update({k: v for k, v in sampled.items() if "/" not in k})
    row.update({k: v for k, v in full.items() if k in ("Recall@20", "NDCG@20")})
    row["full/MRR"] = full.get("MRR")
    for attr, column in (("source_weight_", "source_weight"), ("beta_", "bridge_weight"),
                         ("gamma_", "target_only_weight")):
        if getattr(model, attr, None) is not None:
            row[column] = getattr(model, attr)
    return row


def _read(csv: Path) -> pd.DataFrame:
    return pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=KEYS)


def _write_csv(frame: pd.DataFrame, csv: Path) -> None:
    atomic_write(csv, lambda fh: fh.write(frame.to_csv(index=False).encode()))


def write_reports(config: GridConfig, results: pd.DataFrame | None = None) -> dict[str, Path]:
    """Rewrite the table, the summary, the JSON and the plot from ``results.csv``."""
    out = Path(config.out)
    results = _read(out / "results.csv") if results is None else results
    results = results[results["task"].isin(config.tasks) & results["method"].isin(config.methods)]
    if results.empty:
        return {}
    ref = config.reference[0] if config.reference else "cdgraph"
    head = ("# Benchmark results\n\nMean ± std over seeds; each seed trains the model and draws the "
            "sampled test negatives. The best baseline (best method other than cdgraph's own) is "
            "marked; p is a one-sided paired t-test over seeds that the row beats it (mean "
            f"difference in brackets). Made by `cdgraph benchmark` (see `benchmarks/README.md`); fit "
            f"options {json.dumps(config.fit)}.\n\n")
    paths = {"table": out / "results.md", "summary": out / "summary.md", "json": out / "results.json"}
    md = head + report.table(results, config.reference, config.notes)
    atomic_write(paths["table"], lambda fh: fh.write(md.encode()))
    summ = report.summary(results, ref)
    lines = [f"# {ref} against the best other method per task", "",
             "p: one-sided paired t-test over seeds; wins: higher mean and p < 0.05. beats: the "
             "other methods of the task it wins against so (a method run on one seed only can "
             "not be beaten so).", "",
             "| " + " | ".join(summ.columns) + " |", "|---" * len(summ.columns) + "|"]
    lines += ["| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |"
              for row in summ.itertuples(index=False)]
    if summ.empty:
        lines[4:] = [f"No task has results of {ref!r} yet."]
    atomic_write(paths["summary"], lambda fh: fh.write(("\n".join(lines) + "\n").encode()))
    atomic_write(paths["json"], lambda fh: fh.write(
        json.dumps(results.to_dict(orient="records"), indent=1, default=float).encode()))
    if report.plot(results, out / "results.png"):
        paths["plot"] = out / "results.png"
    return paths


def merge_results(csv: str | os.PathLike, merge: list[str | os.PathLike] = ()) -> pd.DataFrame:
    """The rows of ``csv`` with those of the ``merge`` CSVs folded in (of rows with the same
    task, method and seed the last is kept); ``csv`` is rewritten when anything was merged."""
    csv = Path(csv)
    done = _read(csv)
    if merge:
        frames = [f for f in [done] + [_read(Path(m)) for m in merge] if len(f)]
        done = pd.concat(frames, ignore_index=True).drop_duplicates(KEYS, keep="last").reset_index(drop=True)
        csv.parent.mkdir(parents=True, exist_ok=True)
        _write_csv(done, csv)
    return done


def _todo(config: GridConfig, done: pd.DataFrame, timings: pd.DataFrame | None = None
          ) -> list[tuple[str, str, int]]:
    """The (task, method, seed) runs of ``config`` not in ``done``, in the order they run.

    Seed by seed, so that an interrupted grid leaves complete seeds behind, which paired
    tests can use; within a seed the longest runs first by the mean ``seconds`` of their
    task and method in ``timings`` (runs with none first, then the grid's order), so that
    runs side by side do not end on one long run alone.
    """
    have = set(zip(done["task"], done["method"], done["seed"].astype(int)))
    cells = [(t, m, s) for s in config.seeds for t in config.tasks for m in config.methods
             if (t, m, s) not in have]
    return sorted(cells, key=_order(config, timings))


def _order(config: GridConfig, timings: pd.DataFrame | None) -> Callable[[tuple[str, str, int]], tuple]:
    """Sort key of runs: seed by seed, then the longest by ``timings`` first (untimed ones first)."""
    mean, rank = _mean_seconds(timings), {s: n for n, s in enumerate(config.seeds)}
    return lambda cell: (rank[cell[2]], -mean.get(cell[:2], float("inf")))


def _mean_seconds(timings: pd.DataFrame | None) -> dict[tuple[str, str], float]:
    if timings is None or not len(timings) or "seconds" not in timings:
        return {}
    return timings.groupby(["task", "method"])["seconds"].mean().to_dict()


def estimate(config: GridConfig, timings: pd.DataFrame, jobs: int = 1) -> dict[str, Any]:
    """How long the runs still to go in ``<out>/results.csv`` will take, from ``timings``.

    Each run is expected to take the mean ``seconds`` (fit time) of the rows of
    ``timings`` with its task and method (any seed), e.g. an earlier grid's
    ``results.csv``; ``wall_seconds`` replays the grid's order on ``jobs`` workers.
    Evaluation, data loading and process start are not counted, and the estimate holds
    at the speed (and threads per run) ``timings`` was measured with.

    Returns:
        dict: ``runs`` (to go), ``estimated`` (runs with a timing), ``core_seconds``,
        ``wall_seconds`` and ``missing`` (the (task, method) pairs with no timing).
    """
    return _replay(_todo(config, _read(Path(config.out) / "results.csv"), timings), timings, jobs)


def _replay(todo: list[tuple[str, str, int]], timings: pd.DataFrame, jobs: int) -> dict[str, Any]:
    mean = _mean_seconds(timings)
    known = [mean[(t, m)] for t, m, _ in todo if (t, m) in mean]
    workers = [0.0] * max(1, min(jobs, len(known)))
    for seconds in known:  # each run goes to the worker that is free first
        heapq.heappush(workers, heapq.heappop(workers) + seconds)
    return {"runs": len(todo), "estimated": len(known), "core_seconds": float(sum(known)),
            "wall_seconds": max(workers), "missing": sorted({(t, m) for t, m, _ in todo if (t, m) not in mean})}


def human_duration(seconds: float) -> str:
    """``"7.5 h"`` from an hour on, ``"3 min"`` below."""
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{max(1, round(seconds / 60))} min"


def run_grid(config: GridConfig, echo: Callable[[str], None] = print,
             runner: Callable[..., dict[str, Any]] = run_one,
             merge: list[str | os.PathLike] = (), jobs: int = 1) -> pd.DataFrame:
    """Run every (task, method, seed) not yet in ``<out>/results.csv``; returns all rows.

    ``merge``: results CSVs of other grids (e.g. processes run side by side with their own
    ``out``) folded in first; of rows with the same task, method and seed the last is kept.

    Runs go seed by seed; within a seed the longest first, by the mean fit seconds of
    their task and method among the rows already there (e.g. of earlier seeds). Each
    progress line ends with the time left, estimated so, once every run to go has such
    a timing.

    ``jobs``: runs at a time, each in a worker process of its own with ``cores // jobs``
    torch threads (at least one); this process alone writes the CSV, a row as each run
    ends. With ``jobs > 1`` ``runner`` must be picklable (a module-level function); the
    workers import the modules that registered the grid's methods, and a method
    registered in the script itself must be registered at its top level (the workers
    run it as ``__mp_main__``, not as ``__main__``). If a run fails, no further run starts;
    the runs under way finish and are written, then the error is raised, naming the run.

    This process and the workers keep freed memory for reuse
    (:func:`cdgraph.train.allocator.keep_freed_memory`), which saves page faults (metrics may
    change in the last float digits); ``CDGRAPH_KEEP_FREED_MEMORY=0`` turns that off.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}.")
    keep_freed_memory()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "config.json", lambda fh: fh.write(json.dumps(asdict(config), indent=1).encode()))
    csv = out / "results.csv"
    done = merge_results(csv, merge)
    todo = _todo(config, done, done)
    have = len(done)
    threads = max(1, cores() // jobs)
    echo(f"{have} runs done, {len(todo)} to go -> {csv}"
         + (f" ({jobs} at a time, {threads} thread{'s' * (threads > 1)} each)" if jobs > 1 and todo else ""))
    recorded: set[tuple[str, str, int]] = set()

    def record(cell: tuple[str, str, int], row: dict[str, Any]) -> None:
        nonlocal done
        done = pd.concat([done, pd.DataFrame([row])], ignore_index=True) if len(done) else pd.DataFrame([row])
        _write_csv(done, csv)
        recorded.add(cell)
        metric = get_task(cell[0]).metric
        left = _replay(sorted((c for c in todo if c not in recorded), key=_order(config, done)), done, jobs)
        eta = (f"; about {human_duration(left['wall_seconds'])} left"
               if left["runs"] and left["estimated"] == left["runs"] else "")
        echo(f"[{len(recorded)}/{len(todo)}] {cell[0]} {cell[1]} seed={cell[2]}: {metric}={row[metric]:.4f} "
             f"({row['seconds']:.0f}s){eta}")

    pending = list(todo)

    def take() -> tuple[tuple, tuple] | None:
        """The next run (by the timings of all rows so far) and its runner arguments."""
        if not pending:
            return None
        pending.sort(key=_order(config, done))
        task, method, seed = cell = pending.pop(0)
        return cell, (task, method, seed, config.epochs_for(task), config.fit,
                      config.root)

    if jobs == 1 or len(todo) <= 1:
        while (job := take()) is not None:
            record(job[0], runner(*job[1]))
    else:
        modules = sorted({MODELS.get(m).__module__ for m in config.methods} - {"__main__", "__mp_main__"})
        run_parallel(take, runner, record, min(jobs, len(todo)), threads, modules)
    write_reports(config, done)
    return done


__all__ = ["GridConfig", "estimate", "merge_results", "run_grid", "run_one", "write_reports", "TASKS"]
