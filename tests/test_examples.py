"""The README's main job, examples/quickstart.py, runs end to end on the real mirror."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.realdata
def test_quickstart_runs_on_real_data(mirror):
    env = dict(os.environ, CDGRAPH_DATA=str(mirror), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py"), "--epochs", "1"],
                         capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for needle in ("cdgraph (default)", "LightGCN, target only", "LightGCN, joint graph",
                   "NDCG@10 (1+999)", "Recall@20 (full)", "Top-5 cloth items"):
        assert needle in text, text[-2000:]
