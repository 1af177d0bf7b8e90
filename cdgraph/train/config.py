"""Every training option in one place: :class:`TrainConfig`.

Each field is declared once, with its default, the values it takes and a line of help.
The command line's ``[train]`` flags and config-file keys, the benchmark grid's
``[benchmark.fit]`` keys and every check of a training option are derived from these
fields (:func:`options`), never listed again by hand.

Model options (sizes, components, a method's own settings) are declared by each model's
constructor; :func:`check_number` checks their numeric values with the same wording.
"""
from __future__ import annotations

import numbers
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from typing import Any, Callable, Sequence

import torch

from cdgraph.data.checks import check_number

#: Losses a graph model trains with (see :mod:`cdgraph.nn.losses`).
LOSS_NAMES = ("bpr", "bce", "softmax")


# ------------------------------------------------------------------ value kinds
# Each kind checks a Python value (``check``) and reads the same value from text or TOML
# (``parse``: command-line strings, ``"none"`` for None, ``"auto"``).
@dataclass(frozen=True)
class Kind:
    """How one option's values are checked, read from text and shown."""

    check: Callable[[str, str, Any], Any]
    parse: Callable[[Any], Any]
    metavar: str
    many: bool = False  # a list of values on the command line


def _number(integer: bool, positive: bool, allowed: Sequence[Any] = ()) -> Kind:
    def check(where: str, name: str, value: Any) -> Any:
        return check_number(where, name, value, integer, positive, allowed)

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            if value in allowed:
                return value
            if value.lower() == "none" and None in allowed:
                return None
            try:
                value = int(value) if integer else float(value)
            except ValueError:
                pass  # left to check(), which names what is expected
        return value
    return Kind(check, parse, "N" if integer else "X")


def _choice(*options: Any) -> Kind:
    def check(where: str, name: str, value: Any) -> Any:
        if value not in options or isinstance(value, bool) != isinstance(options[0], bool):
            shown = ", ".join(repr(o) for o in options)
            raise ValueError(f"{where}: {name} must be one of {shown}, got {value!r}.")
        return value

    def parse(value: Any) -> Any:
        return None if isinstance(value, str) and value.lower() == "none" and None in options else value
    return Kind(check, parse, "|".join(str(o) for o in options if o is not None))


def _text(where: str, name: str, value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {name} must be a non-empty string, got {value!r}.")
    return value


def _flag(where: str, name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{where}: {name} must be true, false or None, got {value!r}.")
    return value


def _parse_flag(value: Any) -> Any:
    if isinstance(value, str):
        return {"true": True, "false": False, "none": None}.get(value.lower(), value)
    return value


def _device(where: str, name: str, value: Any) -> Any:
    try:
        torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{where}: {name} must name a torch device such as 'cpu', 'cuda' or 'cuda:0', "
                         f"got {value!r}.") from None
    return value


def _fraction(where: str, name: str, value: Any) -> Any:
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < 1):
        raise ValueError(f"{where}: {name} must be a fraction in [0, 1), got {value!r}.")
    return float(value)


def _many(kind: Kind, optional: bool = False) -> Kind:
    def check(where: str, name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not len(value):
            raise ValueError(f"{where}: {name} must be a non-empty list, got {value!r}.")
        return tuple(kind.check(where, name, v) for v in value)

    def parse(value: Any) -> Any:
        if isinstance(value, str) and value.lower() == "none" and optional:
            return None
        return [kind.parse(v) for v in value] if isinstance(value, (list, tuple)) else value
    return Kind(check, parse, kind.metavar, many=True)


POSITIVE_INT = _number(True, True)
NON_NEGATIVE_INT = _number(True, False)
POSITIVE = _number(False, True)
NON_NEGATIVE = _number(False, False)
TEXT = Kind(_text, lambda v: v, "TEXT")
FLAG = Kind(_flag, _parse_flag, "true|false")
DEVICE = Kind(_device, lambda v: v, "DEVICE")
FRACTION = Kind(_fraction, lambda v: float(v) if isinstance(v, str) else v, "X")


def option(default: Any, kind: Kind, help: str) -> Any:
    """A :class:`TrainConfig` field: its default, its :class:`Kind` and its help line."""
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata={"kind": kind, "help": help})
    return field(default=default, metadata={"kind": kind, "help": help})


@dataclass
class TrainConfig:
    """The options of training, shared by every model and its :class:`~cdgraph.train.Trainer`.

    ``model.fit(split, epochs=10)`` builds one from keyword overrides;
    ``model.fit(split, config=TrainConfig(epochs=10))`` takes one whole. Every value is
    checked when the config is made; a ``ValueError`` names the option and what it takes.
    """

    epochs: int = option(30, NON_NEGATIVE_INT, "training epochs: passes over the target domain's "
                         "training interactions (0 trains nothing: an untrained model)")
    lr: float = option(0.01, POSITIVE, "Adam learning rate")
    batch_size: int = option(8192, POSITIVE_INT, "target positives per step (each source domain adds as many)")
    max_steps: int | None = option(None, _number(True, True, (None,)), "at most this many steps an epoch: "
                                   "a larger graph's batch grows to its target interactions / max_steps and the "
                                   "learning rate by the square root of that growth (none: batch_size as given)")
    seed: int = option(0, NON_NEGATIVE_INT, "seeds initialisation and sampling: the same seed gives the "
                       "same metrics on CPU")
    patience: int | None = option(10, _number(True, True, (None,)), "validations without improvement "
                                  "before stopping, the best weights restored; none trains every epoch")
    eval_every: int = option(1, POSITIVE_INT, "validate every this many epochs")
    valid_metric: str = option("NDCG@10", TEXT, "validation metric that selects the model, e.g. NDCG@10 or MRR")
    valid_protocol: str | None = option(None, _choice(None, "full", "sampled"), "validation protocol "
                                        "(default: the dataset's own, else full)")
    valid_negatives: int | None = option(None, _number(True, True, (None,)), "negatives per held-out item "
                                         "of sampled validation (default: the dataset's, else 999)")
    loss: str = option("bpr", _choice(*LOSS_NAMES), "ranking loss: bpr (Rendle et al., UAI 2009), bce "
                       "or softmax (sampled softmax)")
    l2: float = option(1e-4, NON_NEGATIVE, "L2 weight on the batch's layer-0 embeddings")
    source_weight: float | str | None = option(None, _number(False, False, ("auto", None)), "weight of "
                                               "the source domains' losses; auto chooses it on validation "
                                               "among source_weights (default: the model's own)")
    source_weights: tuple[float, ...] = option((0.25, 3.0), _many(NON_NEGATIVE), "candidate source "
                                               "weights that source_weight=auto tries (the ends of the "
                                               "range: validation scores were monotone or flat in between)")
    search_epochs: int | str | None = option("auto", _number(True, True, (None, "auto")), "epochs of each "
                                             "candidate's short run in a search (source_weight=auto), "
                                             "validated once at its end; auto: an eighth of epochs with at "
                                             "most two candidates, else as none; none: half of epochs, "
                                             "validated every eval_every")
    search_halving: int | str | None = option("auto", _number(True, True, (None, "auto")), "successive halving "
                                              "in a search: every candidate trains this many epochs, the best "
                                              "two continue to search_epochs (or half of epochs); auto: without "
                                              "search_epochs and more than two candidates, a sixth of "
                                              "epochs, the best two to half; "
                                              "none: every candidate trains search_epochs or half of epochs")
    neighbors: tuple[int, ...] | None = option(None, _many(POSITIVE_INT, optional=True), "mini-batch "
                                               "mode: neighbours sampled per node at each hop, one per "
                                               "layer, e.g. 10 5 5 (default: full-batch)")
    cold_simulation: float = option(0.0, FRACTION, "each epoch, hide the target edges of this share of "
                                    "the shared users (they stay in the loss): cold-start simulation")
    check_memory: bool = option(True, FLAG, "refuse a full-batch run that would not fit in memory")
    progress: bool | None = option(None, FLAG, "progress bars (default: when on a terminal)")
    device: str = option("cpu", DEVICE, "where training runs: cpu, cuda, cuda:1, mps")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = f.metadata["kind"].check("TrainConfig", f.name, getattr(self, f.name))
            setattr(self, f.name, value)

    @classmethod
    def build(cls, config: "TrainConfig | None" = None, **overrides: Any) -> "TrainConfig":
        """``config`` (or the defaults) with ``overrides`` applied; an unknown name is a
        ``TypeError`` that lists the options."""
        if config is not None and not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}.")
        unknown = sorted(set(overrides) - set(names()))
        if unknown:
            raise TypeError(f"Unknown training option(s) {', '.join(unknown)}; the options are "
                            f"{', '.join(names())} (see cdgraph.TrainConfig).")
        return replace(config or cls(), **overrides)

    def to_dict(self) -> dict[str, Any]:
        """The options as plain values (tuples as lists), e.g. for a checkpoint or a TOML file."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def options() -> dict[str, Field]:
    """Every training option: name -> dataclass field (``.default``, ``.metadata["kind"]``,
    ``.metadata["help"]``)."""
    return {f.name: f for f in fields(TrainConfig)}


def names() -> list[str]:
    """The training options' names, in declaration order."""
    return [f.name for f in fields(TrainConfig)]


def default(name: str) -> Any:
    """The default of option ``name``."""
    f = options()[name]
    return f.default if f.default is not MISSING else f.default_factory()


def parse(name: str, value: Any, where: str = "[train]") -> Any:
    """Option ``name`` read from text or TOML (``"none"`` for None) and checked; a
    ``ValueError`` names it and says what it takes."""
    kind = options()[name].metadata["kind"]
    return kind.check(where, name, kind.parse(value))


#: Options that may differ between a checkpoint and the run resuming it.
RESUMABLE_CHANGES = ("epochs", "progress")
