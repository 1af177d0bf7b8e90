"""From a resolved configuration to data, split, model, metrics, with the library's API only."""
from __future__ import annotations

import inspect
import logging
import time
from pathlib import Path
from typing import Any

from cdgraph.cli.config import CLIError
from cdgraph.cli.rundir import CHECKPOINT, MODEL

log = logging.getLogger(__name__)


def load_data(config: dict[str, Any]):
    """The :class:`~cdgraph.CrossDomainData` that ``[data]`` names."""
    from cdgraph import datasets
    from cdgraph.data.interactions import CrossDomainData

    data = config["data"]
    if "dataset" in data:
        return datasets.load(data["dataset"], root=data.get("root"))
    return CrossDomainData.read(data["files"], user=data["user_col"], item=data["item_col"],
                                rating=data.get("rating_col"), time=data.get("time_col"),
                                split=data.get("split_col"), sep=data.get("sep"))


def make_split(config: dict[str, Any], data):
    """The split of ``[data] split`` for the target domain, seeded with ``split_seed``."""
    from cdgraph.data import split

    kind, target, seed = config["data"]["split"], config["data"]["target"], config["data"]["split_seed"]
    if kind == "predefined":
        return split.predefined(data, target, seed=seed)
    try:
        return getattr(split, kind)(data, target, seed=seed)
    except ValueError as exc:  # its advice names library arguments the command line does not have
        raise CLIError(f"{exc} The command line uses {kind}'s default shares; choose another "
                       f"--split, or call cdgraph.data.split.{kind} from Python with your own.") from None


def build_model(config: dict[str, Any], name: str | None = None):
    """A new, unfitted model as ``[model]`` describes it (``name`` overrides the model); its
    components and their options are checked here, before any run directory or training."""
    from cdgraph.models import GraphMix
    from cdgraph.models.graph_mix import scores_by_inner_product
    from cdgraph.models.graph import CrossDomainRecommender
    from cdgraph.models.network import check_components

    model = _new_model(config, name)
    graph = CrossDomainRecommender(model.target, **model.options) if isinstance(model, GraphMix) else model
    if isinstance(model, GraphMix) and not scores_by_inner_product(graph.scorer):
        raise CLIError(f"graph-mix mixes inner-product scores: its scorer must be 'dot', got "
                       f"{graph.scorer!r} (--scorer).")
    if isinstance(graph, CrossDomainRecommender):
        try:
            check_components(graph.encoder, graph.fusion, graph.scorer, graph.alignment, graph.dim,
                             graph.layers, graph.options)
        except (TypeError, ValueError) as exc:
            raise CLIError(f"[model] of model {name or config['model']['name']!r}: {exc}") from None
    return model


def _new_model(config: dict[str, Any], name: str | None = None):
    from cdgraph.models import baselines
    from cdgraph.models.graph import CrossDomainRecommender

    model, train = config["model"], config["train"]
    name = name or model["name"]
    target = config["data"]["target"]
    options = {k: v for k, v in model.items() if k.endswith("_options")}
    if name in ("cdgraph", "graph-mix"):
        kwargs: dict[str, Any] = {k: model[k] for k in ("encoder", "fusion", "scorer", "dim", "layers")}
        kwargs["alignment"] = model.get("alignment") or None
        if "source_weight" in train:
            kwargs["source_weight"] = train["source_weight"]
        if name == "graph-mix":
            from cdgraph.models import GraphMix
            return GraphMix(target, device=train["device"], **kwargs, **options)
        return CrossDomainRecommender(target, device=train["device"], **kwargs, **options)
    if name == "pop":
        return baselines.make(name, target)
    kwargs = {"dim": model["dim"], "layers": model["layers"], "device": train["device"]}
    if "source_weight" in train and name == "lightgcn-joint":
        kwargs["source_weight"] = train["source_weight"]
    return baselines.make(name, target, **kwargs, **options)


def fit_options(config: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
    train = config["train"]
    out = {k: train[k] for k in ("epochs", "lr", "batch_size", "loss", "l2", "valid_metric")}
    out["patience"] = None if train["patience"] == "none" else train["patience"]
    out["seed"] = train["seed"] if seed is None else seed
    if train.get("neighbors"):
        out["neighbors"] = list(train["neighbors"])
    return out


def supports_resume() -> bool:
    """Whether this cdgraph's ``fit`` takes ``checkpoint=`` and ``resume=``."""
    from cdgraph.models.graph import CrossDomainRecommender

    params = inspect.signature(CrossDomainRecommender.fit).parameters
    return "checkpoint" in params and "resume" in params


def fit(model, split, config: dict[str, Any], seed: int | None = None,
        run_dir: Path | None = None, resume: bool = False) -> float:
    """Fit ``model`` on ``split``; returns the seconds it took."""
    options = fit_options(config, seed)
    if run_dir is not None and supports_resume() and hasattr(model, "network_"):
        options.update(checkpoint=str(run_dir / CHECKPOINT), resume=resume)
    start = time.perf_counter()
    model.fit(split, **options)
    return time.perf_counter() - start


def evaluate(model, split, config: dict[str, Any], protocols: tuple[str, ...] = ("sampled", "full"),
             k: list[int] | None = None, num_negatives: int | None = None) -> dict[str, Any]:
    """Test metrics per protocol, plus the options they were measured with."""
    from cdgraph.evaluation.protocols import negatives_available

    k = list(k or config["evaluate"]["k"])
    num_negatives = num_negatives or config["evaluate"]["num_negatives"]
    seed = config["train"]["seed"]
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


def load_fitted(run_dir: Path, config: dict[str, Any], split=None):
    """The run's model: ``model.pt`` for graph models, a refit for popularity (exact, no training)."""
    from cdgraph.io.model_file import load_model

    if config["model"]["name"] == "pop":
        split = split if split is not None else make_split(config, load_data(config))
        return build_model(config).fit(split)
    file = run_dir / MODEL
    if not file.is_file():
        raise CLIError(f"Run directory {str(run_dir)!r} has no {MODEL}: its training did not finish "
                       f"(train again, or resume it with 'cdgraph train --resume').")
    return load_model(file, device=config["train"]["device"])


def fit_summary(model) -> dict[str, Any]:
    """What ``fit`` chose that the configuration does not say (e.g. the source weight)."""
    out: dict[str, Any] = {}
    if hasattr(model, "source_weight_"):
        out["source_weight"] = model.source_weight_
    for attr, key in (("beta_", "bridge_weight"), ("gamma_", "target_only_weight")):  # GraphMix's
        if getattr(model, attr, None) is not None:
            out[key] = getattr(model, attr)
    if getattr(model, "source_search_", None):
        out["source_weight_search"] = {str(k): v for k, v in model.source_search_.items()}
    history = getattr(model, "history_", None)
    if history is not None and len(history):
        out["epochs_run"] = int(history["epoch"].max())
    return out
