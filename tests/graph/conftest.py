"""Small seeded cross-domain data for the graph tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdgraph import CrossDomainData

# Tiny hand-checked example. Users and items get indices in order of appearance:
# users u0..u4 -> 0..4, items i0..i3 -> 0..3 in "a", j0, j1 -> 0, 1 in "b".
#   a: u0: i0 i1 i2 | u1: i0 i1 | u2: i1 i2 | u3: i3        (ratings 1..8 in row order)
#   b: u0: j0       | u1: j0 j1 | u4: j1
TINY_A = [("u0", "i0"), ("u0", "i1"), ("u0", "i2"), ("u1", "i0"), ("u1", "i1"),
          ("u2", "i1"), ("u2", "i2"), ("u3", "i3")]
TINY_B = [("u0", "j0"), ("u1", "j0"), ("u1", "j1"), ("u4", "j1")]


@pytest.fixture
def tiny() -> CrossDomainData:
    frames = {
        "a": pd.DataFrame(TINY_A, columns=["user", "item"]).assign(rating=np.arange(1.0, 9.0)),
        "b": pd.DataFrame(TINY_B, columns=["user", "item"]).assign(rating=np.arange(1.0, 5.0)),
    }
    return CrossDomainData.from_frames(frames, rating="rating")


@pytest.fixture
def synthetic() -> CrossDomainData:
    """Three domains over 60 users, seeded; ratings 1..5."""
    rng = np.random.default_rng(7)
    frames = {}
    for domain, n_items, n_rows in (("books", 25, 300), ("movies", 20, 250), ("music", 15, 120)):
        frames[domain] = pd.DataFrame({
            "user": rng.integers(0, 60, n_rows).astype(str),
            "item": rng.integers(0, n_items, n_rows),
            "rating": rng.integers(1, 6, n_rows).astype(float),
        })
    return CrossDomainData.from_frames(frames, rating="rating")
