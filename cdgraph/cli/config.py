"""Run configuration of the command line: a TOML file, flags on top, one resolved dict.

A configuration has the sections ``[data]``, ``[model]``, ``[train]``, ``[evaluate]``,
``[compare]`` and ``[run]`` (see :data:`SCHEMA`). Values come, lowest first, from the
library's defaults, a ``--config`` file and the command-line flags. :func:`resolve`
checks every value, fills the defaults and turns paths absolute, so that the
``config.toml`` written into a run directory repeats the run from any working directory:
``cdgraph train --config RUN_DIR/config.toml``. Nothing is listed twice: ``[train]`` is
:class:`cdgraph.TrainConfig` (its fields, defaults and checks), ``[model]`` is the ``name``
of a registered model (:data:`cdgraph.models.MODELS`) and that model's constructor options.
``[tune]`` (with the search space ``[tune.space]``) is read by ``cdgraph tune`` alone
(:mod:`cdgraph.cli.tuning`); :func:`resolve` leaves it out.

TOML has no null: an unset optional value is left out, and ``patience = "none"``
means no early stopping.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable

import torch

from cdgraph import datasets
from cdgraph.data.split import SPLITS
from cdgraph.models import MODELS, make_model
from cdgraph.train.config import TrainConfig, default as train_default, names as train_options, parse


try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


class CLIError(Exception):
    """A mistake in the user's command, configuration or files (exit code 2)."""


SECTIONS = ("data", "model", "train", "evaluate", "compare", "run")


# ------------------------------------------------------------------ value checks
# Each takes a value from TOML or a string from the command line and returns it
# checked and converted, or raises ValueError saying what is expected.
def _int(value: Any, low: int) -> int:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"expected an integer >= {low}, got {value!r}")
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected an integer >= {low}, got {value!r}") from None
    if out < low:
        raise ValueError(f"expected an integer >= {low}, got {out}")
    return out


def positive_int(value: Any) -> int:
    return _int(value, 1)


def nonneg_int(value: Any) -> int:
    return _int(value, 0)


def _float(value: Any, positive: bool) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(out) or out < 0 or (positive and out == 0):
        raise ValueError(f"expected a {'positive' if positive else 'non-negative'} finite number, got {value!r}")
    return out


def positive_float(value: Any) -> float:
    return _float(value, True)


def nonneg_float(value: Any) -> float:
    return _float(value, False)


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def separator(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty separator, got {value!r}")
    return {"\\t": "\t", "tab": "\t"}.get(value, value)


def model_name(value: Any) -> str:
    if value not in MODELS:
        raise ValueError(f"expected a registered model ({', '.join(MODELS.names())}); got {value!r}")
    return value


def split_kind(value: Any) -> str:
    if value not in SPLITS:
        raise ValueError(f"expected one of {', '.join(SPLITS.names())}; got {value!r}")
    return value


def choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}; got {value!r}")
        return value
    check.__name__ = "choice"
    return check


def list_of(check: Callable[[Any], Any]) -> Callable[[Any], list]:
    def convert(value: Any) -> list:
        items = value if isinstance(value, (list, tuple)) else [value]
        if not items:
            raise ValueError("expected at least one value")
        return [check(v) for v in items]
    convert.__name__ = "list"
    return convert


def path(value: Any) -> str:
    return text(value)


def files(value: Any) -> dict[str, str]:
    """``{"book": "book.csv", ...}`` from a TOML table or ``["book=book.csv", ...]``."""
    if isinstance(value, (list, tuple)):
        out = {}
        for item in value:
            domain, eq, file = str(item).partition("=")
            if not eq or not domain.strip() or not file.strip():
                raise ValueError(f"expected DOMAIN=FILE, got {item!r}")
            if domain.strip() in out:
                raise ValueError(f"domain {domain.strip()!r} is given twice")
            out[domain.strip()] = file.strip()
        value = out
    if not isinstance(value, dict) or len(value) < 2:
        raise ValueError(f"expected one file per domain, at least two domains; got {value!r}")
    return {text(k): text(v) for k, v in value.items()}


def key_value(item: str) -> tuple[str, Any]:
    """``("meta_epochs", 10)`` from ``"meta_epochs=10"``: the value read as JSON, else as text."""
    key, eq, text_value = item.partition("=")
    if not eq or not key.strip() or key.strip() == "name":
        raise CLIError(f"--option expects KEY=VALUE with a model option as KEY, got {item!r}.")
    try:
        return key.strip(), json.loads(text_value)
    except ValueError:
        return key.strip(), text_value


def table(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of options, got {value!r}")
    return dict(value)


def _train_option(name: str) -> Callable[[Any], Any]:
    """The check of ``[train] name``; it returns the value as TOML holds it (``"none"`` for None)."""
    def check(value: Any) -> Any:
        try:
            value = parse(name, value, where="[train]")
        except ValueError as exc:  # its text begins with "[train]: name ..."
            raise ValueError(str(exc).split(": ", 1)[1].rstrip(".")) from None
        return "none" if value is None else list(value) if isinstance(value, tuple) else value
    return check


def train_config(train: dict[str, Any]) -> TrainConfig:
    """The :class:`~cdgraph.TrainConfig` of a ``[train]`` table."""
    try:
        return TrainConfig(**{k: parse(k, v, where="[train]") for k, v in train.items()})
    except (TypeError, ValueError) as exc:
        raise CLIError(f"[train] {exc}") from None


#: section -> key -> check. Keys not listed here are refused, except in [model] (the
#: model's own options, checked when it is built).
SCHEMA: dict[str, dict[str, Callable[[Any], Any]]] = {
    "data": {"dataset": text, "root": path, "files": files, "user_col": text, "item_col": text,
             "rating_col": text, "time_col": text, "split_col": text, "sep": separator,
             "target": text, "split": split_kind, "split_seed": nonneg_int},
    "model": {"name": model_name},
    "train": {name: _train_option(name) for name in train_options()},
    "evaluate": {"k": list_of(positive_int), "num_negatives": positive_int},
    "compare": {"models": list_of(model_name), "seeds": list_of(nonneg_int)},
    "run": {"out": path},
    "tune": {"trials": positive_int, "timeout": positive_float, "storage": text, "study": text,
             "prune": boolean, "defaults": boolean, "space": table},
}
PATHS = {("data", "root"), ("run", "out")}


def check(section: str, key: str, value: Any) -> Any:
    """``value`` checked for ``[section] key``; CLIError naming the key otherwise."""
    if section not in SCHEMA:
        raise CLIError(f"Unknown configuration section [{section}]; use {', '.join(SCHEMA)}.")
    if section == "model" and key != "name":
        return value  # a model option: checked by the model's constructor in resolve()
    if key not in SCHEMA[section]:
        raise CLIError(f"Unknown configuration key {key!r} in [{section}]; "
                       f"known keys: {', '.join(SCHEMA[section])}.")
    try:
        return SCHEMA[section][key](value)
    except ValueError as exc:
        raise CLIError(f"[{section}] {key}: {exc}.") from None


# ------------------------------------------------------------------ reading
def read(file: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read and check a TOML configuration; relative paths are taken from its folder."""
    file = Path(file)
    if not file.is_file():
        raise CLIError(f"Configuration file {str(file)!r} does not exist.")
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CLIError(f"Configuration file {str(file)!r} is not valid TOML: {exc}.") from None
    base = file.resolve().parent
    out: dict[str, dict[str, Any]] = {}
    for section, values in raw.items():
        if not isinstance(values, dict):
            raise CLIError(f"{str(file)!r}: {section!r} must be a [section]; use {', '.join(SECTIONS)}.")
        out[section] = {key: check(section, key, value) for key, value in values.items()}
    return absolute_paths(out, base)


def absolute_paths(config: dict[str, dict[str, Any]], base: Path) -> dict[str, dict[str, Any]]:
    """Make the data files, data root and output folder absolute, relative to ``base``."""
    for section, key in PATHS:
        if key in config.get(section, {}):
            config[section][key] = str((base / Path(config[section][key]).expanduser()).resolve())
    if "files" in config.get("data", {}):
        config["data"]["files"] = {d: str((base / Path(f).expanduser()).resolve())
                                   for d, f in config["data"]["files"].items()}
    return config


def merge(*configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Later configurations override earlier ones, key by key."""
    out: dict[str, dict[str, Any]] = {}
    for config in configs:
        for section, values in config.items():
            out.setdefault(section, {}).update(values)
    return out


# ------------------------------------------------------------------ resolving
def resolve(config: dict[str, dict[str, Any]], compare: bool = False) -> dict[str, dict[str, Any]]:
    """Fill defaults and check that the data, model, training and split options fit together."""
    config = merge({s: {} for s in SECTIONS}, config)
    data, model, train = config["data"], config["model"], config["train"]
    if ("dataset" in data) == ("files" in data):
        raise CLIError("Give either a dataset name (--dataset NAME) or your own files "
                       "(--files DOMAIN=FILE DOMAIN=FILE), not both nor neither.")
    if "dataset" in data:
        info = datasets.info(data["dataset"])  # ValueError listing the names
        domains, default_split = info["domains"], info["protocol"].get("split", "leave_one_out")
        num_negatives = info["num_negatives"]
        for key in ("user_col", "item_col", "rating_col", "time_col", "split_col", "sep"):
            if key in data:
                raise CLIError(f"[data] {key} applies to --files only, not to dataset {data['dataset']!r}.")
    else:
        domains, default_split = list(data["files"]), "predefined" if "split_col" in data else "leave_one_out"
        num_negatives = 999
        for domain, file in data["files"].items():
            if not os.path.isfile(file):
                raise CLIError(f"Data file of domain {domain!r} not found: {file!r}.")
        data.setdefault("user_col", "user")
        data.setdefault("item_col", "item")
    if "target" not in data:
        raise CLIError(f"Name the target domain with --target; one of {domains}.")
    if data["target"] not in domains:
        raise CLIError(f"Unknown target domain {data['target']!r}; this data has domains {domains}.")
    data.setdefault("split", default_split)
    data.setdefault("split_seed", 0)

    model.setdefault("name", "cdgraph")
    names = config["compare"].setdefault("models", [model["name"], "lightgcn-joint"]) if compare else [model["name"]]
    options = {k: v for k, v in model.items() if k != "name"}
    for name in names:  # every model's options checked before anything trains
        build_model(name, data["target"], options_for(name, options) if compare else options)
    unused = sorted(set(options) - {k for name in names for k in options_for(name, options)})
    if unused:
        raise CLIError(f"[model] {unused[0]}: none of the models compared ({', '.join(names)}) takes it.")
    for name in train_options():  # the run's config.toml lists every training option
        value = train_default(name)
        if value is not None:
            train.setdefault(name, list(value) if isinstance(value, tuple) else value)
    train_config(train)
    _check_device(train.get("device", "cpu"))
    config["evaluate"].setdefault("k", [5, 10, 20])
    config["evaluate"].setdefault("num_negatives", num_negatives)
    if compare:
        config["compare"].setdefault("seeds", [train.get("seed", 0)])
    else:
        config.pop("compare", None)
    config["run"].setdefault("out", str(Path("runs").resolve()))
    return {s: v for s, v in config.items() if v and s in SECTIONS}


def options_for(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The ``[model]`` options that model ``name`` takes (a comparison gives each model its own)."""
    takes = make_model(name, "target").option_names()
    return {k: v for k, v in options.items() if k in takes}


def build_model(name: str, target: str, options: dict[str, Any]) -> Any:
    """A new model ``name`` for ``target`` with the ``[model]`` options; CLIError naming the
    model and the option it refuses."""

    try:
        return make_model(name, target, **options)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"[model] of model {name!r}: {exc}") from None


def _check_device(device: str) -> None:
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise CLIError(f"Unknown device {device!r}; use cpu, cuda, cuda:0, mps, ...") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CLIError(f"Device {device!r} asked for, but CUDA is not available on this machine; use --device cpu.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise CLIError(f"Device {device!r} asked for, but MPS is not available on this machine; use --device cpu.")


# ------------------------------------------------------------------ writing
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    # JSON string escapes are TOML basic-string escapes; TOML also wants DEL escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else
                                                         ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()
                               if v is not None) + "}"
    raise TypeError(f"Cannot write {value!r} ({type(value).__name__}) to TOML.")


def dumps(config: dict[str, dict[str, Any]], header: str = "") -> str:
    """TOML text of ``config`` (None values left out); checked to read back equal."""
    lines = [f"# {line}" for line in header.splitlines()]
    for section, values in config.items():
        order = list(SCHEMA.get(section, values))  # keys in schema order
        values = dict(sorted(values.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
        lines += ["", f"[{section}]"] if lines else [f"[{section}]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in values.items() if v is not None]
    out = "\n".join(lines) + "\n"
    tomllib.loads(out)  # never write a file that does not parse
    return out
