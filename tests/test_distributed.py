"""Data-parallel training with torchrun: 2 CPU processes (gloo) reach the quality of 1."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = """
import json, os, sys
sys.path.insert(0, {repo!r})
import torch
import torch.distributed as dist
import cdgraph
from tests.planted import planted

torch.set_num_threads(1)
if "WORLD_SIZE" in os.environ:
    dist.init_process_group("gloo")
split = cdgraph.data.split.leave_one_out(planted(num_users=200, per_user=8, seed=0), "tgt", seed=0)
model = cdgraph.GraphRecommender("tgt", dim=16, layers=2, source_weight=1.0)
model.fit(split, epochs=12, lr=0.02, batch_size=512, patience=None, progress=False)
metrics = model.evaluate(split, protocol="sampled", num_negatives=20, k=(10,))
if not dist.is_initialized() or dist.get_rank() == 0:
    print("METRICS", json.dumps({{"world": dist.get_world_size() if dist.is_initialized() else 1, **metrics}}))
if dist.is_initialized():
    dist.destroy_process_group()
"""


def _metrics(out: subprocess.CompletedProcess) -> dict:
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(l for l in out.stdout.splitlines() if l.startswith("METRICS "))
    return json.loads(line.split(" ", 1)[1])


def test_two_process_torchrun_matches_one_process(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(repo=str(REPO)))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    single = _metrics(subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                     env=env, timeout=300))
    multi = _metrics(subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                     "--nproc_per_node=2", str(script)],
                                    capture_output=True, text=True, env=env, timeout=300))
    assert single["world"] == 1 and multi["world"] == 2
    # the planted task is easy (random ranking of 1 + 20 gives NDCG@10 ~ 0.2)
    assert single["NDCG@10"] > 0.5
    assert multi["NDCG@10"] > single["NDCG@10"] - 0.05, (single, multi)
