"""Benchmarks users can rerun: methods x tasks x seeds on the public datasets.

* :data:`TASKS`: the ten tasks (six warm, four cold-start) with their papers' protocols;
* :class:`GridConfig` / :func:`run_grid`: a resumable grid writing ``results.csv``,
  a markdown table with mean ± std, the best baseline marked and paired tests, a
  summary and a plot; also ``cdgraph benchmark --config grid.toml``;
* :func:`estimate`: how long the runs still to go will take, from an earlier grid's timings.
"""
from __future__ import annotations

from cdgraph.benchmark.report import plot, summary, table
from cdgraph.benchmark.runner import (GridConfig, estimate, merge_results, run_grid, run_one, write_reports)
from cdgraph.benchmark.tasks import TASKS, Task, get_task

__all__ = ["TASKS", "Task", "get_task", "GridConfig", "estimate", "merge_results", "run_grid", "run_one", "write_reports",
           "table", "summary", "plot"]
