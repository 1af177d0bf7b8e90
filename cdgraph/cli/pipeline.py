"""From a resolved configuration to data, split, model, metrics, with the library's API only."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from cdgraph import datasets
from cdgraph.cli import config as cfg
from cdgraph.cli.config import CLIError, build_model
from cdgraph.cli.rundir import CHECKPOINT, MODEL
from cdgraph.data import CrossDomainData
from cdgraph.data.split import SPLITS
from cdgraph.evaluation.protocols import negatives_available
from cdgraph.io.model_file import load_model

log = logging.getLogger(__name__)


def load_data(config: dict[str, Any]):
    """The :class:`~cdgraph.CrossDomainData` that ``[data]`` names."""
    data = config["data"]
    if "dataset" in data:
        return datasets.load(data["dataset"], root=data.get("root"))
    return CrossDomainData.read(data["files"], user=data["user_col"], item=data["item_col"],
                                rating=data.get("rating_col"), time=data.get("time_col"),
                                split=data.get("split_col"), sep=data.get("sep"))


def make_split(config: dict[str, Any], data):
    """The split of ``[data] split`` for the target domain, seeded with ``split_seed``."""
    kind, target, seed = config["data"]["split"], config["data"]["target"], config["data"]["split_seed"]
    try:
        return SPLITS.get(kind)(data, target, seed=seed)
    except ValueError as exc:  # its advice names library arguments the command line does not have
        if kind == "predefined":
            raise
        raise CLIError(f"{exc} The command line uses {kind}'s default shares; choose another "
                       f"--split, or call cdgraph.split.{kind} from Python with your own.") from None


def model_of(config: dict[str, Any], name: str | None = None):
    """A new, unfitted model as ``[model]`` describes it; ``name`` (a model of a comparison)
    overrides its name and gets the options it takes."""
    options = {k: v for k, v in config["model"].items() if k != "name"}
    if name is not None:
        options = cfg.options_for(name, options)
    return build_model(name or config["model"]["name"], config["data"]["target"], options)


def train_config(config: dict[str, Any], seed: int | None = None):
    """The :class:`~cdgraph.TrainConfig` of ``[train]`` (``seed`` overrides its seed)."""
    options = dict(config["train"])
    if seed is not None:
        options["seed"] = seed
    return cfg.train_config(options)


def fit(model, split, config: dict[str, Any], seed: int | None = None,
        run_dir: Path | None = None, resume: bool = False) -> float:
    """Fit ``model`` on ``split`` (with a checkpoint in ``run_dir``); returns the seconds it took."""
    checkpoint = None if run_dir is None else str(run_dir / CHECKPOINT)
    start = time.perf_counter()
    model.fit(split, train_config(config, seed), checkpoint=checkpoint, resume=resume)
    return time.perf_counter() - start


def evaluate(model, split, config: dict[str, Any], protocols: tuple[str, ...] = ("sampled", "full"),
             k: list[int] | None = None, num_negatives: int | None = None) -> dict[str, Any]:
    """Test metrics per protocol, plus the options they were measured with."""
    k = list(k or config["evaluate"]["k"])
    num_negatives = num_negatives or config["evaluate"]["num_negatives"]
    seed = config["train"].get("seed", 0)
    out: dict[str, Any] = {"part": "test", "k": k}
    for protocol in protocols:
        options: dict[str, Any] = {"protocol": protocol, "k": k, "seed": seed}
        if protocol == "sampled":
            options["num_negatives"] = num_negatives
            out["num_negatives"] = num_negatives
            fewest = int(negatives_available(split, "test").min()) if len(split.test) else num_negatives
            if fewest < num_negatives:
                out["num_negatives_fewest"] = fewest
        if not len(split.test):
            raise CLIError("The split has no test interactions to evaluate on; choose another --split.")
        out[protocol] = {m: float(v) for m, v in model.evaluate(split, on="test", **options).items()}
    return out


def load_fitted(run_dir: Path, config: dict[str, Any]):
    """The run's fitted model, read from its ``model.pt``."""
    file = run_dir / MODEL
    if not file.is_file():
        raise CLIError(f"Run directory {str(run_dir)!r} has no {MODEL}: its training did not finish "
                       f"(train again, or resume it with 'cdgraph train --resume').")
    return load_model(file, device=config["train"].get("device", "cpu"))


def fit_summary(model) -> dict[str, Any]:
    """What ``fit`` chose that the configuration does not say (e.g. the source weight)."""
    out: dict[str, Any] = {}
    if getattr(model, "source_weight_", None) is not None:
        out["source_weight"] = model.source_weight_
    for attr, key in (("beta_", "bridge_weight"), ("gamma_", "target_only_weight")):  # GraphMix's
        if getattr(model, attr, None) is not None:
            out[key] = getattr(model, attr)
    search = getattr(model, "source_search_", None) or getattr(getattr(model, "graph_", None), "source_search_", None)
    if search:
        out["source_weight_search"] = {str(k): v for k, v in search.items()}
    history = getattr(model, "history_", None)
    if history is not None and len(history):
        out["epochs_run"] = int(history["epoch"].max())
    return out
