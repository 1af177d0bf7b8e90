"""Fixtures shared by all tests: the read-only mirror of the real public datasets."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest -n N: the workers share the cores, a thread each
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))


def find_mirror() -> Path | None:
    """$CDGRAPH_DATA, else ../shared/data next to the repository; None if neither holds the data."""
    for candidate in (os.environ.get("CDGRAPH_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "amazon_disencdr").is_dir():
            return Path(candidate).resolve()  # absolute: subprocesses may run elsewhere
    return None


@pytest.fixture(scope="session")
def mirror() -> Path:
    root = find_mirror()
    if root is None:
        message = ("Mirrored datasets not found: set CDGRAPH_DATA to a folder with the upstream "
                   "layout (amazon_disencdr/, amazon_cdrib_coldstart/, douban_gadtcdr/).")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root


