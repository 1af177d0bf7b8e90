"""What a model asks the :class:`~cdgraph.train.Trainer` to do: the phases of its training.

A model's ``phases(split, config)`` is a generator. It yields one phase at a time and
receives what the phase produced; code between the yields (building a network, reading
learned factors) runs in order, on a fresh run and on a resumed one alike:

* :class:`Loop`: one optimisation loop (a network, its batches and its loss), run by
  :func:`cdgraph.train.loop.run_loop` with early stopping, checkpoints and progress; it
  sends back a :class:`LoopResult`;
* :class:`Fit`: another model fitted through the same trainer (EMCDR's per-domain factor
  models, GraphMix's parts); it sends back that model, fitted;
* :class:`Search`: the best of several candidate loops by validation (the source-weight
  search), each trained for a short budget; it sends back a :class:`SearchResult`, whose
  winner's loop state a later :class:`Loop` can continue.

Example (a one-loop model)::

    def phases(self, split, config):
        self.network_ = build(...)
        yield Loop("train", self.network_, steps=..., loss=..., validate=self.validator(split, config))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pandas as pd
from torch import Tensor, nn

#: A phase's options that default to the :class:`~cdgraph.train.TrainConfig`'s.
FROM_CONFIG = None


@dataclass
class Loop:
    """An optimisation loop over epochs.

    Attributes:
        name (str): Its name among the model's phases (checkpoints and progress bars).
        module (nn.Module): The parameters optimised (Adam) and checkpointed.
        steps (callable): ``steps(generator)`` -> the epoch's batches; all its randomness
            comes from ``generator``, which the trainer seeds and checkpoints.
        loss (callable): ``loss(module, batch)`` -> named loss terms, summed and minimised;
            ``module`` is the loop's module, wrapped for data-parallel training when the
            loop is ``parallel`` and a process group is initialised.
        validate (callable, optional): ``validate()`` -> validation metrics; with ``patience``
            the loop stops early and restores the best weights.
        epochs, lr, patience, eval_every (optional): Defaults: the config's.
        weight_decay (float): Adam's weight decay. (default: 0)
        parallel (bool): Data-parallel under ``torch.distributed``. (default: False)
        memory (callable, optional): Called before training when the config's
            ``check_memory`` is on; raises ``MemoryError`` when the loop would not fit.
        start (dict, optional): A loop state to continue (a :class:`SearchResult`'s ``state``).
        checkpoint (bool): Write a checkpoint after every epoch (else only at the end).
    """

    name: str
    module: nn.Module
    steps: Callable[[Any], Iterable[Any]]
    loss: Callable[[nn.Module, Any], dict[str, Tensor]]
    validate: Callable[[], dict[str, float]] | None = None
    epochs: int | None = FROM_CONFIG
    lr: float | None = FROM_CONFIG
    patience: int | None | str = "config"
    eval_every: int | None = FROM_CONFIG
    weight_decay: float = 0.0
    parallel: bool = False
    memory: Callable[[], Any] | None = None
    start: dict[str, Any] | None = None
    checkpoint: bool = True


@dataclass
class LoopResult:
    """What a :class:`Loop` sends back.

    Attributes:
        history (DataFrame): One row per epoch: ``epoch``, ``loss``, ``loss/<term>``,
            ``train_seconds`` and, where validated, ``valid/<metric>`` and ``valid_seconds``.
        best_score (float): The best validation ``valid_metric`` (``-inf`` unvalidated).
        best_epoch (int): Its epoch (0 unvalidated).
        state (dict, optional): The loop's state at its end, to continue it (kept for
            :class:`Search` candidates only).
    """

    history: pd.DataFrame
    best_score: float
    best_epoch: int
    state: dict[str, Any] | None = None


@dataclass
class Fit:
    """Fit ``model`` on ``split`` through the same trainer, with the config's options
    changed by ``overrides`` (e.g. ``{"source_weight": None}`` for a part that has no
    source weight of its own)."""

    name: str
    model: Any
    split: Any
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Search:
    """The best of ``candidates`` by validation ``valid_metric``: ``make_loop(candidate)``
    builds each candidate's :class:`Loop` (its module built afresh), trained for ``epochs``,
    validated every ``eval_every`` epochs or, with ``validate_at_end``, once at the end.

    With ``first`` (successive halving, Jamieson & Talwalkar, AISTATS 2016), every candidate
    trains ``first`` epochs, and only the ``keep`` best by validation then continue, each
    from where it stopped, to ``epochs``."""

    name: str
    candidates: list[Any]
    make_loop: Callable[[Any], Loop]
    epochs: int
    validate_at_end: bool = False
    first: int | None = None
    keep: int = 2


@dataclass
class SearchResult:
    """What a :class:`Search` sends back: the winner, every candidate's best validation
    score, and the winner's loop state at the end of its short run (None when it cannot
    be continued exactly; then train the winner afresh)."""

    best: Any
    scores: dict[Any, float]
    state: dict[str, Any] | None
