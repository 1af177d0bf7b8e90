"""The search space of a study: which options are tried, over which values.

The options come from where they are declared: the model's constructor (``dim``, ``layers``,
``source_weight``, a method's own settings) and :class:`~cdgraph.TrainConfig` (``lr``, ``l2``,
``batch_size``, ...). :data:`DEFAULT_RANGES` gives the usual ones a range; an option is
searched by default when the model (or the trainer) takes it, its declared default lies inside
that range (so that a model defined by a fixed value, such as ``bprmf``'s ``layers=0`` or
``lightgcn-target``'s ``source_weight=0``, stays itself) and the user did not fix it.

A space is written as ``[tune.space]`` of a configuration file, or as the same dict in Python::

    lr = {low = 1e-3, high = 0.05, log = true}    # a range: floats, log-uniform
    layers = {low = 1, high = 3}                  # integer bounds: integers
    dim = [32, 64]                                # a list: these choices

Its entries override the defaults of the same name and add others; every bound and choice is
checked as the option itself checks a value, so a mistake is a ``ValueError`` naming the entry
before anything trains.
"""
from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from cdgraph.models import make_model
from cdgraph.train.config import default as train_default, options as train_options, parse as parse_train

WHERE = "[tune.space]"

#: Ranges of the usual options (TOML form); ``source_weight`` tries five weights across the
#: range whose ends are the trainer's default candidates (:class:`~cdgraph.TrainConfig`
#: ``source_weights``).
DEFAULT_RANGES: dict[str, Any] = {
    "lr": {"low": 1e-3, "high": 5e-2, "log": True},
    "l2": {"low": 1e-6, "high": 1e-3, "log": True},
    "batch_size": [2048, 4096, 8192],
    "dim": [32, 64, 128],
    "layers": {"low": 1, "high": 4},
    "source_weight": [0.25, 0.5, 1.0, 2.0, 3.0],
    "meta_lr": {"low": 1e-4, "high": 1e-2, "log": True},
    "map_lr": {"low": 1e-3, "high": 5e-2, "log": True},
}
_RANGE_KEYS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class Dimension:
    """One searched option: ``section`` ``"model"`` or ``"train"``; either ``choices`` or a
    ``low``..``high`` range (integers when both bounds are integers; ``log`` or ``step``)."""

    name: str
    section: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def suggest(self, trial: Any) -> Any:
        """This option's value for an Optuna ``trial``."""
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def spec(self) -> Any:
        """The TOML form: the list of choices, or ``{low, high, log[, step]}``."""
        if self.choices:
            return list(self.choices)
        out = {"low": self.low, "high": self.high, "log": self.log}
        return out if self.step is None else {**out, "step": self.step}

    def describe(self) -> str:
        """In words, e.g. ``"log-uniform 0.001 .. 0.05"`` or ``"one of 32, 64, 128"``."""
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        kind = "integers" if self.integer else "uniform"
        kind = f"log-{kind}" if self.log else kind
        return f"{kind} {self.low} .. {self.high}" + ("" if self.step is None else f", step {self.step}")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this dimension may draw."""
        if self.choices:
            return any(value == c and type(value) is type(c) for c in self.choices)
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return number and (not self.integer or isinstance(value, numbers.Integral)) and \
            self.low <= value <= self.high


class Options:
    """The options that model ``name`` (for ``target``) and the trainer declare, with their
    defaults; ``fixed`` are the model's options given by the user (checked with it)."""

    def __init__(self, name: str, target: str, fixed: Mapping[str, Any] | None = None) -> None:
        self.name, self.target, self.fixed = name, target, dict(fixed or {})
        try:
            model = make_model(name, target, **self.fixed)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model {name!r}: {exc}") from None
        self.model = {k: v for k, v in model.config().items() if k != "target"}
        self.train = train_options()

    def section(self, option: str) -> str | None:
        """``"model"`` for the model's options (first: ``source_weight`` is both), ``"train"``
        for the trainer's, None for neither."""
        return "model" if option in self.model else "train" if option in self.train else None

    def default(self, option: str) -> Any:
        return self.model[option] if option in self.model else train_default(option)

    def integer(self, option: str) -> bool | None:
        """Whether the option takes integers (None: its declaration does not say)."""
        if option in self.model:
            value = self.model[option]
            return None if value is None else isinstance(value, int) and not isinstance(value, bool)
        return self.train[option].metadata["kind"].metavar == "N"

    def check(self, option: str, value: Any) -> None:
        """A ``ValueError`` if ``option`` refuses ``value``, in the option's own words."""
        if option in self.model:
            try:
                make_model(self.name, self.target, **{**self.fixed, option: value})
            except (TypeError, ValueError) as exc:
                raise ValueError(str(exc).rstrip(".")) from None
        else:
            try:
                parse_train(option, value, where="TrainConfig")
            except ValueError as exc:
                raise ValueError(str(exc).split(": ", 1)[-1].rstrip(".")) from None

    def unknown(self, option: str) -> str:
        """What to say of an option neither the model nor the trainer takes."""
        close = difflib.get_close_matches(option, [*self.model, *self.train], n=1)
        return ((f"did you mean {close[0]!r}? " if close else "") +
                f"Model {self.name!r} takes {', '.join(sorted(self.model)) or 'no options'}; the training "
                f"options are {', '.join(self.train)}")


def dimension(option: str, spec: Any, options: Options) -> Dimension:
    """The :class:`Dimension` of one space entry, checked; ``ValueError`` naming it otherwise."""
    where = f"{WHERE} {option}"
    section = options.section(option)
    if section is None:
        raise ValueError(f"{where}: no such option; {options.unknown(option)}.")
    if isinstance(spec, (list, tuple)):
        return _choices(option, section, spec, options)
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: give a list of choices (e.g. [32, 64]) or a range (e.g. {{low = 0.001, "
                         f"high = 0.05, log = true}}), got {spec!r}; fix one value in [model] or [train].")
    unknown = sorted(set(spec) - set(_RANGE_KEYS))
    if unknown or "low" not in spec or "high" not in spec:
        raise ValueError(f"{where}: a range has low and high (and optionally log, step), got "
                         f"{', '.join(map(str, spec)) or 'nothing'}.")
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    for key, value in (("low", low), ("high", high), ("step", step)):
        if value is not None and (not isinstance(value, numbers.Real) or isinstance(value, bool)
                                  or not math.isfinite(value)):
            raise ValueError(f"{where}: {key} must be a number, got {value!r}.")
    if not isinstance(log, bool):
        raise ValueError(f"{where}: log must be true or false, got {log!r}.")
    if low > high:
        raise ValueError(f"{where}: low ({low!r}) is above high ({high!r}); swap them.")
    if log and (low <= 0 or step is not None):
        raise ValueError(f"{where}: a log range needs low > 0 and no step, got low={low!r}"
                         f"{'' if step is None else f', step={step!r}'}.")
    if step is not None and step <= 0:
        raise ValueError(f"{where}: step must be positive, got {step!r}.")
    integers = all(isinstance(v, numbers.Integral) for v in (low, high) + (() if step is None else (step,)))
    if options.integer(option) and not integers:
        raise ValueError(f"{where}: takes integers; give integer bounds (e.g. low = 1, high = 4), "
                         f"got low={low!r}, high={high!r}{'' if step is None else f', step={step!r}'}.")
    if options.integer(option) is False and integers:  # a float option: float bounds
        low, high, step = float(low), float(high), None if step is None else float(step)
    for value in (low, high):
        _check(option, value, options)
    return Dimension(option, section, low=low, high=high, log=log, step=step)


def _choices(option: str, section: str, spec: Any, options: Options) -> Dimension:
    where = f"{WHERE} {option}"
    if not len(spec):
        raise ValueError(f"{where}: the list of choices is empty; give at least one value.")
    for value in spec:
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"{where}: a choice must be a number, a string or true/false, got {value!r}; "
                             f"fix a table or list value in [model] instead.")
        _check(option, value, options)
    if len(set(map(repr, spec))) < len(spec):
        raise ValueError(f"{where}: a choice is listed twice in {list(spec)!r}.")
    return Dimension(option, section, choices=tuple(spec))


def _check(option: str, value: Any, options: Options) -> None:
    try:
        options.check(option, value)
    except ValueError as exc:
        raise ValueError(f"{WHERE} {option}: {value!r} is refused: {exc}.") from None


def search_space(model: str, target: str, space: Mapping[str, Any] | None = None,
                 fixed: Iterable[str] = (), model_options: Mapping[str, Any] | None = None,
                 defaults: bool = True) -> dict[str, Dimension]:
    """The searched options of ``model`` for ``target``: :data:`DEFAULT_RANGES` (unless
    ``defaults`` is False) for the options the model or trainer takes, less those in ``fixed``
    (the options the user set), updated with ``space``'s entries.

    ``model_options`` are the model's fixed options (checked together with each value). A
    ``ValueError`` names an unknown option, a bad bound or choice, or an option both fixed and
    searched.
    """
    options = Options(model, target, model_options)
    fixed = set(fixed) | set(options.fixed)
    out: dict[str, Dimension] = {}
    if defaults:
        for option, spec in DEFAULT_RANGES.items():
            if option in fixed or options.section(option) is None:
                continue
            dim = dimension(option, spec, options)
            if dim.contains(options.default(option)):
                out[option] = dim
    for option, spec in (space or {}).items():
        if option in fixed:
            raise ValueError(f"{WHERE} {option}: it is also set to a fixed value (in [model] or [train], "
                             f"or by a flag); search it or fix it, not both.")
        out[option] = dimension(str(option), spec, options)
    return out
