"""Let the C allocator keep freed memory for reuse, so that training stops paying page faults.

A training step allocates and frees the same large tensors step after step: the propagated
tables, and the logits of the ``graph-contrastive`` loss (4,096 x 4,096 floats, 64 MiB, four
times a step). glibc hands a block above its mmap threshold back to the kernel as soon as it
is freed, and trims the free top of its heap beyond a threshold, so the next step's block
comes back as fresh pages that the kernel must fault in and zero (``benchmarks/results/
allocator.md`` measures what that costs). :func:`keep_freed_memory` tells glibc to
serve every block from its heap and to keep up to ``trim_threshold`` bytes of free heap: the
next step reuses the same pages. What is computed is unchanged, but arrays start at other
addresses, and the last float digits of some results follow (presumably vectorised loops that
align their start and so add in another order), as they do between thread counts, while
each setting is deterministic run to run. The cost is memory: the process keeps its peak
heap until it exits.

The command line (``cdgraph ...``) and the benchmark workers call it. A library user calls it
once at the start of a training script; ``CDGRAPH_KEEP_FREED_MEMORY=0`` turns it off
everywhere.
"""
from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

#: glibc's ``mallopt`` parameters (``<malloc.h>``)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
#: the environment variable that turns :func:`keep_freed_memory` off when ``"0"``
ENV = "CDGRAPH_KEEP_FREED_MEMORY"


def keep_freed_memory(trim_threshold: int = 1 << 30, top_pad: int = 64 << 20) -> bool:
    """Make glibc serve all blocks from its heap and keep freed memory for reuse.

    Args:
        trim_threshold (int): Free bytes at the top of the heap kept rather than given back
            to the kernel. (default: 1 GiB)
        top_pad (int): Extra bytes taken from the kernel whenever the heap grows.
            (default: 64 MiB)

    Returns:
        bool: Whether the settings took effect: False off Linux, with a C library other than
        glibc (e.g. musl, whose ``mallopt`` does nothing), or when ``CDGRAPH_KEEP_FREED_MEMORY``
        is ``"0"``.
    """
    for value, name in ((trim_threshold, "trim_threshold"), (top_pad, "top_pad")):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 31:
            raise ValueError(f"{name} must be an integer number of bytes in [0, 2**31), got {value!r}.")
    if os.environ.get(ENV, "1").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = [mallopt(M_MMAP_MAX, 0), mallopt(M_TRIM_THRESHOLD, trim_threshold), mallopt(M_TOP_PAD, top_pad)]
    if not all(r == 1 for r in done):
        log.debug("mallopt refused some settings (%s): this C library does not honour them.", done)
        return False
    return True
