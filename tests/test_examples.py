"""Every script of examples/ runs end to end on the real mirror, on a small budget.

Each runs as a user runs it (a subprocess, one thread) with one epoch, and its printed report
is checked. ``examples/distributed.py`` is not here: ``tests/test_docs.py`` runs it under
torchrun with two processes (the command of ``docs/scaling.md``).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

#: script -> (arguments besides --epochs 1, strings its output must hold)
EXAMPLES = {
    "quickstart.py": ([], ["cdgraph (best model)", "LightGCN, target only", "LightGCN, joint graph",
                           "NDCG@10 (1+99)", "Recall@20 (full)", "Budget: at most 1 epochs",
                           "Top-5 music items for users"]),
    "own_data.py": (["--out", "{tmp}"], ["customer,product,stars,when", "shared_music", "Top-5 music items:",
                                         "  reader-", "loaded back as FactorRecommender: the same recommendations"]),
    "cold_start_users.py": (["--meta-epochs", "1", "--layers", "1"], [
        "217 validation and test users, 0 of them with a video purchase in training", "cdgraph (best model)",
        "PTUPCDR (LightGCN factors)", "EMCDR (LightGCN factors)", "LightGCN, joint graph", "popularity", "NDCG@5",
        "Top-10 videos by cdgraph"]),
    "custom_graph_builder.py": ([], ["Built by 'with-activity': {'user': (2216, 4), 'book': (6777, 2)",
                                     "GraphSAGE + with-activity features", "GraphSAGE, ids only"]),
    "content_features.py": (["--settings", "new-items", "--quick"], [
        "new items (cold_items 20%)", "NDCG@10 id + text", "HR@10 id only", "Top-5 new food items",
        "held-out item ranked", "joint-graph part alone (--quick)"]),
}


@pytest.mark.realdata
@pytest.mark.parametrize("script", list(EXAMPLES))
def test_example_runs_on_real_data(script, mirror, tmp_path):
    args, needles = EXAMPLES[script]
    env = dict(os.environ, CDGRAPH_DATA=str(mirror), OMP_NUM_THREADS="1")
    command = [sys.executable, str(REPO / "examples" / script), "--epochs", "1",
               *(a.format(tmp=tmp_path) for a in args)]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    for needle in needles:
        assert needle in out.stdout, f"{needle!r} not in the output of {script}:\n{out.stdout[-3000:]}"
    if script == "own_data.py":  # --out keeps the files
        assert {p.name for p in tmp_path.iterdir()} >= {"book.csv", "music.csv", "music.pt"}
