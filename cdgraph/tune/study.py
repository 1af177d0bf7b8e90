"""Running a study: :class:`Tuner` (an Optuna study of one model on one split) and :func:`tune`.

Each trial builds the model with the trial's options, fits it with the shared Trainer and
scores it on the split's validation part (``valid_metric``, higher is better); the TPE sampler
is seeded with the training seed, and the median pruner stops a trial whose validation after
an epoch of the model's main loop (the loop named ``"train"``) falls below the median of the
earlier trials at that epoch. With a ``storage`` (``sqlite:///study.db``) the study lives in a
database: a rerun with the same study name continues it up to the requested number of trials,
and refuses to when its model, options, space or data differ from the study's.

Optuna is optional (``pip install 'cdgraph[tune]'``) and imported only when a study runs.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from cdgraph.models import make_model
from cdgraph.train.checkpoint import data_fingerprint
from cdgraph.train.config import TrainConfig
from cdgraph.train.loop import NonFiniteLoss
from cdgraph.train.trainer import Trainer
from cdgraph.tune.space import Dimension, search_space

log = logging.getLogger(__name__)

INSTALL = "pip install 'cdgraph[tune]'"
#: Training options that may change between the runs of one study.
FREE_OPTIONS = ("progress", "device", "check_memory")
SETTINGS = {"model": "the model", "model_options": "the model's options", "train_options": "the training "
            "options", "space": "the search space", "data": "the data or split"}


def require_optuna() -> Any:
    """The ``optuna`` module; an ImportError saying how to install it otherwise."""
    try:
        import optuna
    except ImportError:
        raise ImportError(f"Hyper-parameter search needs optuna, which is not installed: "
                          f"{INSTALL}.") from None
    return optuna


def open_storage(url: str) -> Any:
    """The Optuna database storage at ``url``; a ``ValueError`` naming it if it cannot be opened."""
    optuna = require_optuna()
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"storage {url!r} is not a database URL; give one such as sqlite:///study.db.")
    try:
        return optuna.storages.RDBStorage(url)
    except (ImportError, ValueError, SQLAlchemyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"storage {url!r} cannot be opened ({reason}); give a database URL that opens, "
                         f"such as sqlite:///study.db (in a folder that exists).") from None


def _plain(value: Any) -> Any:
    """JSON's view of ``value`` (tuples as lists), as a study's stored attributes read back."""
    return json.loads(json.dumps(value, default=str))


class Tuner:
    """An Optuna study of ``model`` on ``split``, checked and opened; :meth:`run` runs trials.

    Args:
        split: The split; trials fit on its training part and are scored on its validation part.
        model (str): A registered model.
        space (dict, optional): Entries that override or extend the default ranges (see
            :mod:`cdgraph.tune.space`).
        defaults (bool): Search the default ranges (:data:`~cdgraph.tune.space.DEFAULT_RANGES`).
        model_options, train_options (dict, optional): Fixed options of the model and the
            training (:class:`~cdgraph.TrainConfig`); fixed options are not searched.
        storage (str, optional): An Optuna storage URL such as ``sqlite:///study.db``; the study
            lives there and a second Tuner of the same name continues it (default: in memory).
        study_name (str, optional): Default ``"<model>-<target>"``.
        prune (bool): Stop unpromising trials early (median pruner).

    Attributes:
        dimensions (dict[str, Dimension]): The searched options.
        config (TrainConfig): The fixed training options (each trial changes the searched ones).
        study (optuna.Study): The study, with the trials of earlier runs when resumed.
    """

    def __init__(self, split: Any, model: str = "cdgraph", *, space: Mapping[str, Any] | None = None,
                 defaults: bool = True, model_options: Mapping[str, Any] | None = None,
                 train_options: Mapping[str, Any] | None = None, storage: str | None = None,
                 study_name: str | None = None, prune: bool = True) -> None:
        optuna = require_optuna()
        self.split, self.model, self.storage, self.prune = split, model, storage, prune
        self.model_options, self.train_options = dict(model_options or {}), dict(train_options or {})
        try:
            self.config = TrainConfig.build(**self.train_options)
            Trainer(self.config).resolved(split)  # the validation metric fits the protocol
        except (TypeError, ValueError) as exc:
            raise ValueError(f"training options: {exc}") from None
        if not len(split.valid):
            raise ValueError("A search selects on validation, and this split has no validation "
                             "interactions; make the split with a validation part.")
        self.dimensions: dict[str, Dimension] = search_space(model, split.target, space, self.train_options,
                                                             self.model_options, defaults)
        self.study_name = study_name or f"{model}-{split.target}"
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=self.config.epochs // 4)
                  if prune else optuna.pruners.NopPruner())
        self.study = optuna.create_study(study_name=self.study_name, direction="maximize",
                                         storage=None if storage is None else open_storage(storage),
                                         pruner=pruner, load_if_exists=True)
        self._check_settings()
        # a resumed study draws on from where it stopped, not from the first trial's seed again
        self.study.sampler = optuna.samplers.TPESampler(seed=self.config.seed + len(self.study.trials))

    def settings(self) -> dict[str, Any]:
        """What a resumed study must agree on: model, fixed options, space and data."""
        train = {k: v for k, v in self.train_options.items() if k not in FREE_OPTIONS}
        return _plain({"model": self.model, "model_options": self.model_options, "train_options": train,
                       "space": {n: [d.section, d.spec()] for n, d in self.dimensions.items()},
                       "data": data_fingerprint(self.split)})

    def _check_settings(self) -> None:
        saved, mine = self.study.user_attrs.get("cdgraph"), self.settings()
        if saved is None:
            self.study.set_user_attr("cdgraph", mine)
            return
        differ = [k for k in mine if saved.get(k) != mine[k]]
        if differ:
            raise ValueError(f"Study {self.study_name!r} in {self.storage} was started with other settings "
                             f"({SETTINGS[differ[0]]} changed); continue it with the same ones, or give "
                             f"another study name to start a new study.")

    def finished(self) -> int:
        """Trials of the study that ran to a result (completed or pruned), earlier runs' included;
        a failed trial (interrupted, or its loss non-finite) does not count."""
        optuna = require_optuna()
        return sum(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
                   for t in self.study.trials)

    def options(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], TrainConfig]:
        """The model's options and the TrainConfig of a trial's ``params``."""
        model = {**self.model_options, **{k: v for k, v in params.items()
                                          if self.dimensions[k].section == "model"}}
        train = {k: v for k, v in params.items() if self.dimensions[k].section == "train"}
        return model, TrainConfig.build(self.config, **train)

    def objective(self, trial: Any) -> float:
        """Fit one trial's model; its validation ``valid_metric`` (of the model fit returns)."""
        params = {name: dim.suggest(trial) for name, dim in self.dimensions.items()}
        model_options, config = self.options(params)
        model = make_model(self.model, self.split.target, **model_options)
        started = time.perf_counter()
        callbacks = [pruning_callback(trial, config.valid_metric)] if self.prune else []
        model.fit(self.split, config, callbacks=callbacks)
        trial.set_user_attr("fit_seconds", round(time.perf_counter() - started, 3))
        if model.history_ is not None:
            trial.set_user_attr("epochs_run", int(len(model.history_)))
        scores = model.validator(self.split, model.train_config_ or config)()
        return float(scores[config.valid_metric])

    def run(self, trials: int = 20, timeout: float | None = None,
            callbacks: Sequence[Callable[[Any, Any], None]] = ()) -> "Tuner":
        """Run trials until the study has ``trials`` finished ones (see :meth:`finished`; those of
        earlier runs count) or ``timeout`` seconds have passed; a trial whose loss turns
        non-finite fails and the study goes on."""
        optuna = require_optuna()
        todo = trials - self.finished()
        if todo <= 0:
            log.info("study %r already has %d finished trials of %d", self.study_name, trials - todo, trials)
            return self
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        stop = optuna.study.MaxTrialsCallback(trials, states=states)  # counts other workers' trials too
        self.study.optimize(self.objective, n_trials=todo, timeout=timeout, catch=(NonFiniteLoss,),
                            callbacks=[stop, *callbacks])
        return self

    # ------------------------------------------------------------------ results
    def completed(self) -> list[Any]:
        optuna = require_optuna()
        return [t for t in self.study.trials if t.state == optuna.trial.TrialState.COMPLETE]

    @property
    def best_trial(self) -> Any:
        """The best completed trial (a ``ValueError`` when none completed)."""
        if not self.completed():
            raise ValueError(f"Study {self.study_name!r} has no completed trial yet.")
        return self.study.best_trial

    def best_options(self) -> tuple[dict[str, Any], TrainConfig]:
        """The best trial's model options and TrainConfig: ``make_model(model, target,
        **options).fit(split, config)`` repeats it."""
        return self.options(self.best_trial.params)

    def trials_frame(self) -> pd.DataFrame:
        """One row per trial: number, state, value, params, timings, fit seconds, epochs run."""
        frame = self.study.trials_dataframe()
        metric = self.config.valid_metric
        return frame.rename(columns={"value": f"value ({metric})"}) if len(frame) else frame


def pruning_callback(trial: Any, metric: str) -> Callable[[str, dict], None]:
    """A Trainer callback that reports the main loop's validation ``metric`` after each epoch
    to ``trial`` and raises ``optuna.TrialPruned`` when the pruner says so."""
    optuna = require_optuna()

    def report(path: str, state: dict) -> None:
        if path != "train" or not state["history"]:
            return
        row = state["history"][-1]
        value = row.get(f"valid/{metric}")
        if value is None:
            return
        trial.report(float(value), int(row["epoch"]))
        if trial.should_prune():
            raise optuna.TrialPruned(f"{metric} {value:.5f} at epoch {row['epoch']} is below the median")
    return report


def tune(split: Any, model: str = "cdgraph", trials: int = 20, *, space: Mapping[str, Any] | None = None,
         defaults: bool = True, model_options: Mapping[str, Any] | None = None,
         train_options: Mapping[str, Any] | None = None, timeout: float | None = None,
         storage: str | None = None, study_name: str | None = None, prune: bool = True,
         callbacks: Sequence[Callable[[Any, Any], None]] = ()) -> Tuner:
    """Search ``model``'s hyper-parameters on ``split`` with Optuna; returns the :class:`Tuner`
    (``.study``, ``.best_trial``, ``.best_options()``, ``.trials_frame()``).

    Example::

        tuner = cdgraph.tune(split, "lightgcn-joint", trials=30, train_options={"epochs": 20},
                             space={"dim": [32, 64]}, storage="sqlite:///study.db")
        options, config = tuner.best_options()
        model = cdgraph.make_model("lightgcn-joint", split.target, **options).fit(split, config)

    The arguments are :class:`Tuner`'s; ``trials`` counts the study's finished trials, those
    of earlier runs on the same storage included; ``callbacks`` go to ``study.optimize``.
    """
    tuner = Tuner(split, model, space=space, defaults=defaults, model_options=model_options,
                  train_options=train_options, storage=storage, study_name=study_name, prune=prune)
    return tuner.run(trials, timeout=timeout, callbacks=callbacks)
