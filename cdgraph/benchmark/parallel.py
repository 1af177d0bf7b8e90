"""Grid runs side by side: worker processes, each with its own torch threads (``--jobs``)."""
from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable

import torch

from cdgraph.train.allocator import keep_freed_memory


def start_worker(threads: int, parent: int, modules: list[str]) -> None:
    """A grid worker: ``threads`` torch threads; imports the ``modules`` that registered the
    grid's methods; Ctrl-C is the main process's to handle (it ends the workers); exits when
    the main process is gone, killed or not."""
    keep_freed_memory()
    torch.set_num_threads(threads)
    for module in modules:
        importlib.import_module(module)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_parallel(take: Callable[[], tuple | None], runner: Callable[..., dict[str, Any]],
                 record: Callable[..., None], jobs: int, threads: int, modules: list[str]) -> None:
    """Run what ``take`` gives in ``jobs`` spawned worker processes, ``record``-ing each row."""
    failure: tuple[tuple[str, str, int], BaseException] | None = None
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=start_worker,
                               initargs=(threads, os.getpid(), modules),
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        running: dict = {}
        while True:
            while failure is None and len(running) < jobs:  # keep `jobs` runs in flight
                job = take()
                if job is None:
                    break
                running[pool.submit(runner, *job[1])] = job[0]
            if not running:
                break
            ended, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ended:
                cell = running.pop(future)
                try:
                    record(cell, future.result())
                except Exception as exc:  # noqa: BLE001 - re-raised below, naming the run
                    failure = failure or (cell, exc)
    except BaseException:  # Ctrl-C or an error here: end the runs under way, write nothing more
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=failure is not None, cancel_futures=True)
    if failure is not None:
        (task, method, seed), exc = failure
        raise RuntimeError(f"Benchmark run {task} {method} seed={seed} failed: {type(exc).__name__}: "
                           f"{exc}. The runs that finished are in results.csv; run the grid again "
                           f"to resume.") from exc
