"""cdgraph.train.allocator: freed blocks are reused instead of faulted in again."""
import json
import os
import subprocess
import sys

import pytest

from cdgraph.train import allocator

# Allocates, fills and frees a 64 MiB tensor six times; prints the minor page faults of
# the last three rounds (the first ones may still grow the heap). Runs in a fresh process:
# the allocator settings are process-wide.
PROBE = """
import json, resource, sys
import torch
from cdgraph.train.allocator import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
def round_trip():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.empty(16 << 20).fill_(1.0)  # 64 MiB, freed at once
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
for _ in range(3):
    round_trip()
print(json.dumps({"kept": kept, "faults": sum(round_trip() for _ in range(3))}))
"""


def probe(mode: str, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], check=True, capture_output=True, text=True,
                         env={**os.environ, **env})
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_blocks_are_reused_without_page_faults():
    pages = (64 << 20) // 4096
    default, kept = probe("default"), probe("keep", **{allocator.ENV: "1"})  # whatever the caller set
    assert kept["kept"] is True
    assert default["faults"] > 2 * pages  # glibc gives the block back and faults it in again
    assert kept["faults"] < pages // 10  # the same pages, reused


def test_environment_turns_it_off():
    result = probe("keep", **{allocator.ENV: "0"})
    assert result["kept"] is False


@pytest.mark.parametrize("option", [{"trim_threshold": -1}, {"top_pad": 1 << 31}, {"trim_threshold": 1.5}])
def test_bad_sizes_are_refused(option, monkeypatch):
    monkeypatch.setenv(allocator.ENV, "0")  # refused before anything is set, wherever it runs
    with pytest.raises(ValueError, match=next(iter(option))):
        allocator.keep_freed_memory(**option)
