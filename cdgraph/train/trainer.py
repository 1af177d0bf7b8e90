"""The one Trainer that fits every model: :class:`Trainer`."""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any, Callable, Iterator, Sequence

import pandas as pd
import torch

from cdgraph.evaluation.protocols import check_metric, valid_protocol
from cdgraph.train.checkpoint import Checkpoint, data_fingerprint
from cdgraph.train.config import TrainConfig
from cdgraph.train.distributed import distributed
from cdgraph.train.loop import run_loop
from cdgraph.train.phases import Fit, Loop, LoopResult, Search, SearchResult

log = logging.getLogger(__name__)

Callback = Callable[[str, dict], None]


class Trainer:
    """Fits a model by running the phases it declares (see :mod:`cdgraph.train.phases`).

    The trainer owns what every model's training shares: the optimisation loop with
    early stopping and progress bars (:func:`~cdgraph.train.loop.run_loop`), negative
    sampling through the loops' seeded generator, the memory check, the search over
    candidate runs (the source-weight search), and checkpoints with exact resume for
    every phase of every model, parts fitted inside another model included.

    Example::

        trainer = Trainer(TrainConfig(epochs=20), lr=0.005)   # a config, and/or overrides
        trainer.fit(model, split, checkpoint="run.ckpt")      # model.fit(split, ...) does this

    Args:
        config (TrainConfig, optional): The options (default: :class:`TrainConfig`'s defaults).
        **overrides: Options changed from ``config``.
    """

    def __init__(self, config: TrainConfig | None = None, **overrides: Any) -> None:
        self.config = TrainConfig.build(config, **overrides)
        self.checkpoint: Checkpoint | None = None
        self.callbacks: Sequence[Callback] = ()
        self.stale = False  # a phase trained in this fit: later checkpointed phases are out of date

    def fit(self, model: Any, split: Any, checkpoint: str | os.PathLike | None = None, resume: bool = False,
            callbacks: Sequence[Callback] = ()) -> Any:
        """Train ``model`` on ``split.train``, selecting on ``split.valid``; returns ``model``.

        Args:
            checkpoint (path, optional): Written after every epoch and every phase (atomically),
                with everything an exact resume needs (see :mod:`cdgraph.train.checkpoint`).
                An existing file that is not a checkpoint is never overwritten.
            resume (bool): Continue from ``checkpoint`` (from the start when it does not exist
                yet). Finished phases are restored, the phase under way continues after its
                last epoch, and on CPU with the same seed the fit ends with exactly the weights,
                histories and metrics of an uninterrupted one. ``epochs`` may grow (it stays the
                total budget) and ``progress`` change; anything else that differs (data, split,
                the model's configuration, other options) is refused with a ``ValueError``.
            callbacks: ``callback(path, state)`` after every epoch of every loop, once the
                checkpoint is written (``path`` names the phase, e.g. ``"bridge/train"``).
        """
        if split.target != model.target:
            raise ValueError(f"This model recommends {model.target!r}; the split's target is "
                             f"{split.target!r}. Make the split with target={model.target!r}.")
        if resume and checkpoint is None:
            raise ValueError("resume=True needs checkpoint=<path of the checkpoint file>.")
        config = self.resolved(split)
        if config.epochs == 0:
            log.warning("fit(epochs=0) trains nothing: the model keeps its initial weights.")
        self.callbacks = tuple(callbacks)
        self.checkpoint, self.stale = None, False
        if checkpoint is not None:
            header = {"model": {"class": type(model).__name__, **_plain(model.config())},
                      "train": config.to_dict(), "fingerprint": data_fingerprint(split)}
            self.checkpoint = Checkpoint(checkpoint, header)
            if not (resume and self.checkpoint.load()):
                self.checkpoint.protect()
        self.run(model, split, config, prefix="")
        return model

    def resolved(self, split: Any) -> TrainConfig:
        """The config with the split's validation protocol filled in, checked against the split."""
        protocol, negatives = valid_protocol(split, self.config.valid_protocol, self.config.valid_negatives)
        config = replace(self.config, valid_protocol=protocol, valid_negatives=negatives)
        if len(split.valid):
            check_metric(config.valid_metric, protocol, groups=len(split.cold_users) > 0)
        return config

    # ------------------------------------------------------------------ phases
    def run(self, model: Any, split: Any, config: TrainConfig, prefix: str) -> None:
        """Run ``model.phases(split, config)``, sending each phase's result back into it."""
        phases: Iterator[Any] = iter(model.phases(split, config))
        send = getattr(phases, "send", None)
        histories: dict[str, pd.DataFrame] = {}
        result: Any = None
        while True:
            try:
                phase = send(result) if send is not None else next(phases)
            except StopIteration:
                break
            path = prefix + phase.name
            if isinstance(phase, Loop):
                result = self.loop(phase, config, path)
                histories[phase.name] = result.history
            elif isinstance(phase, Fit):
                self.run(phase.model, phase.split, replace(config, **phase.overrides), prefix=path + "/")
                result = phase.model
            elif isinstance(phase, Search):
                result = self.search(phase, config, path)
            else:
                raise TypeError(f"{type(model).__name__}.phases yielded {phase!r}; a phase is a Loop, "
                                f"a Fit or a Search (cdgraph.train.phases).")
        model.histories_ = histories
        model.train_config_ = config

    def loop(self, loop: Loop, config: TrainConfig, path: str, record: bool = True,
             last: dict[str, Any] | None = None) -> LoopResult:
        """Run one loop, or restore it from the checkpoint, or continue it there. ``record``:
        keep its final state in the checkpoint; ``last``: filled with its final loop state.

        A finished loop is restored as it ended, unless the epoch budget grew (and it did not
        stop early): then it continues. Once a loop has trained in this fit, the later
        phases' finished states are stale (they learned from what came before) and train again.
        """
        ckpt = self.checkpoint
        epochs = config.epochs if loop.epochs is None else loop.epochs
        resume = None
        if ckpt is not None and not self.stale:
            done = ckpt.done.get(path) if record else None
            if done is not None:
                state = done["loop"]
                if state["epoch"] > epochs and config.epochs:
                    raise ValueError(f"The checkpoint has already trained {state['epoch']} epochs of {path!r}; "
                                     f"the epoch budget is the total, so pass at least {state['epoch']}.")
                if state["stopped"] or state["epoch"] >= epochs or config.epochs == 0:
                    loop.module.load_state_dict(state["best_state"] or state["network"])
                    loop.module.eval()
                    return LoopResult(pd.DataFrame(state["history"]), state["best_score"], state["best_epoch"])
                resume = state  # a larger budget than the finished run's: continue it
            elif ckpt.running is not None and ckpt.running["path"] == path:
                resume = ckpt.running["loop"]
        if config.epochs == 0:  # an untrained model: no phase optimises anything
            loop.module.eval()
            return LoopResult(pd.DataFrame(), float("-inf"), 0)
        if config.check_memory and loop.memory is not None:
            loop.memory()
        self.stale = True
        final: dict[str, Any] = {}

        def on_epoch_end(state: dict[str, Any]) -> None:
            final.clear()
            final.update(state)
            if ckpt is not None and loop.checkpoint:
                ckpt.running = {"path": path, "loop": state}
                ckpt.write()
            for callback in self.callbacks:
                callback(path, state)

        result = run_loop(loop, config, on_epoch_end, resume, label=path)
        if last is not None:
            last.update(final)
        if ckpt is not None and record and final:
            ckpt.done[path] = {"loop": final}
            ckpt.running = None
            ckpt.write()
        return result

    def search(self, search: Search, config: TrainConfig, path: str) -> SearchResult:
        """The best candidate by validation after a short loop each; the winner's final loop
        state comes back to be continued (see :class:`~cdgraph.train.phases.Search`)."""
        if config.epochs == 0:
            raise ValueError(f"{path}: choosing among {search.candidates} trains each candidate, so "
                             f"epochs must be at least 1.")
        if search.first is not None and search.first < search.epochs and len(search.candidates) > search.keep:
            return self._halving(search, config, path)
        ckpt = self.checkpoint
        entry = ckpt.done.get(path) if ckpt is not None and not self.stale else None
        scores = {c: s for c, s in entry["scores"]} if entry else {}
        best, best_state = (entry["best"], entry["state"]) if entry else (None, None)
        eval_every = config.eval_every
        keep = (search.validate_at_end or search.epochs % eval_every == 0) and distributed()[1] == 1
        searched = False
        for candidate in search.candidates:
            if candidate in scores:
                continue
            searched = True
            loop = search.make_loop(candidate)
            loop.epochs = search.epochs
            if search.validate_at_end:
                loop.eval_every = search.epochs
            last: dict[str, Any] = {}
            result = self.loop(loop, config, f"{path}/{candidate}", record=False, last=last)
            scores[candidate] = result.best_score
            if best is None or scores[candidate] > scores[best]:
                best, best_state = candidate, (dict(last) if keep and last else None)
            if ckpt is not None:
                ckpt.done[path] = {"scores": [[c, s] for c, s in scores.items()], "best": best,
                                   "state": best_state}
                ckpt.running = None
                ckpt.write()
        if searched:
            log.info("%s: %s -> %s", path, scores, best)
        return SearchResult(best, scores, best_state)

    def _halving(self, search: Search, config: TrainConfig, path: str) -> SearchResult:
        """Successive halving: every candidate for ``search.first`` epochs, the ``search.keep``
        best continued (exactly, from their loop states) to ``search.epochs``. A checkpoint
        keeps the finished search only; an interrupted one runs again (to the same result)."""
        ckpt = self.checkpoint
        entry = ckpt.done.get(path) if ckpt is not None and not self.stale else None
        if entry is not None:
            return SearchResult(entry["best"], {c: s for c, s in entry["scores"]}, entry["state"])
        order = {c: i for i, c in enumerate(search.candidates)}

        def ranked(scores: dict[Any, float]) -> list[Any]:  # best first, ties to the earlier candidate
            return sorted(scores, key=lambda c: (-scores[c], order[c]))

        # a loop validates at its last epoch: a rung that ends between validations is not the run
        # trained straight through, so its winner is then trained afresh
        exact = (distributed()[1] == 1 and search.first % config.eval_every == 0
                 and search.epochs % config.eval_every == 0)
        first: dict[Any, float] = {}
        states: dict[Any, dict[str, Any]] = {}
        for candidate in search.candidates:
            loop = search.make_loop(candidate)
            loop.epochs = search.first
            last: dict[str, Any] = {}
            first[candidate] = self.loop(loop, config, f"{path}/{candidate}", record=False, last=last).best_score
            states[candidate] = dict(last)
            for dropped in ranked(first)[search.keep:]:  # hold the states of the running best only
                states.pop(dropped, None)
        scores: dict[Any, float] = {}
        best, best_state = None, None
        for candidate in ranked(first)[:search.keep]:
            state = states[candidate]
            if state.get("stopped"):  # early-stopped in its first rung: nothing to continue
                scores[candidate], last = first[candidate], state
            else:
                loop = search.make_loop(candidate)
                loop.epochs, loop.start = search.epochs, state
                last = {}
                scores[candidate] = self.loop(loop, config, f"{path}/{candidate}", record=False,
                                              last=last).best_score
            if best is None or scores[candidate] > scores[best]:
                best, best_state = candidate, (dict(last) if exact and last else None)
        scores = {**{c: s for c, s in first.items() if c not in scores}, **scores}
        if ckpt is not None:
            ckpt.done[path] = {"scores": [[c, s] for c, s in scores.items()], "best": best, "state": best_state}
            ckpt.running = None
            ckpt.write()
        log.info("%s: first %d epochs %s; continued to %d: %s -> %s", path, search.first, first, search.epochs,
                 {c: scores[c] for c in ranked(first)[:search.keep]}, best)
        return SearchResult(best, scores, best_state)


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """A model configuration as checkpoint values (tuples as lists, classes and objects by name)."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
            return value
        return getattr(value, "registered_name", None) or type(value).__qualname__
    return plain(config)
