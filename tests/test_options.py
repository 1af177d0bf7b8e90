"""Option values that make no sense are refused up front, naming the option, the value and its range."""
from __future__ import annotations

import logging
import re

import pytest
import torch

import cdgraph
from cdgraph.models import EMCDR, PTUPCDR, make_model
from cdgraph.evaluation.protocols import valid_protocol
from cdgraph.data.split import leave_one_out

from .planted import planted

torch.set_num_threads(1)
FIT = dict(epochs=1, batch_size=64, patience=None, progress=False, source_weight=1.0)


@pytest.fixture(scope="module")
def split():
    return leave_one_out(planted(num_users=40, num_items=16, per_user=4, seed=0), "tgt", seed=0)


def names(option: str, value) -> str:
    """A pattern matching a message that names ``option``, its range and then ``value``."""
    return rf"{option} must be a .*, got {re.escape(repr(value))}"


@pytest.mark.parametrize("option, value, allowed", [
    ("dim", 0, "positive integer"), ("dim", -3, "positive integer"), ("dim", 2.5, "positive integer"),
    ("dim", True, "positive integer"), ("layers", -1, "non-negative integer"),
    ("source_weight", float("nan"), "non-negative number or 'auto'"),
    ("source_weight", "best", "non-negative number or 'auto'"),
])
def test_model_options_are_checked_at_construction(option, value, allowed) -> None:
    with pytest.raises(ValueError, match=rf"{option} must be a {allowed}, got {re.escape(repr(value))}"):
        cdgraph.GraphRecommender("tgt", **{option: value})


@pytest.mark.parametrize("weights", [(), (0.5, float("nan")), (1.0, -2.0), ("auto",), 1.0])
def test_source_weight_candidates_are_checked(weights) -> None:
    with pytest.raises(ValueError, match="source_weights"):
        cdgraph.TrainConfig(source_weights=weights)


def test_invalid_device_names_the_option_and_examples() -> None:
    with pytest.raises(ValueError, match=r"device.*'cpu', 'cuda' or 'cuda:0', got 'gpu'"):
        cdgraph.TrainConfig(device="gpu")


@pytest.mark.parametrize("option, value", [
    ("epochs", -2), ("epochs", 1.5), ("lr", 0), ("lr", -1), ("lr", float("nan")), ("l2", -1),
    ("batch_size", 0), ("batch_size", -1), ("eval_every", 0), ("patience", 0),
    ("source_weight", float("nan")), ("source_weight", -0.5), ("valid_negatives", 0),
])
def test_fit_options_are_checked_before_training(split, option, value) -> None:
    model = cdgraph.GraphRecommender("tgt", dim=8, layers=1)
    with pytest.raises(ValueError, match=names(option, value)):
        model.fit(split, **{**FIT, option: value})
    assert model.network_ is None  # refused before anything was built


def test_unknown_fit_options_are_named_with_the_known_ones(split) -> None:
    with pytest.raises(TypeError, match=r"Unknown training option\(s\) epoch;.*epochs, lr"):
        cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(split, epoch=3)
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        cdgraph.GraphRecommender("tgt").fit(split, config={"epochs": 1})


def test_zero_epochs_keeps_the_initial_weights_and_says_so(split, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="cdgraph.train.trainer"):
        model = cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(split, **{**FIT, "epochs": 0})
    assert "trains nothing" in caplog.text and len(model.history_) == 0
    untrained = cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(split, **{**FIT, "epochs": 0})
    assert model.evaluate(split) == untrained.evaluate(split)  # the seeded initial weights


@pytest.mark.parametrize("method, option, value", [
    (EMCDR, "dim", 0), (EMCDR, "layers", -1), (EMCDR, "map_lr", 0), (PTUPCDR, "dim", -1),
    (PTUPCDR, "meta_dim", 0), (PTUPCDR, "hidden", 0),
])
def test_factor_methods_check_constructor_options(method, option, value) -> None:
    with pytest.raises(ValueError, match=names(option, value)):
        method("tgt", **{option: value})


def test_zero_validation_negatives_are_refused_not_replaced(split) -> None:
    with pytest.raises(ValueError, match=names("num_negatives", 0)):
        valid_protocol(split, "sampled", 0)
    assert valid_protocol(split, "sampled", 5) == ("sampled", 5)
    assert valid_protocol(split) == ("full", 999)


def test_pop_refuses_model_options_and_takes_every_training_option(split) -> None:
    with pytest.raises(TypeError, match="dimm"):
        make_model("pop", "tgt", dimm=3)
    pop = make_model("pop", "tgt")
    shared = dict(epochs=3, seed=1, lr=0.01, batch_size=8, patience=10, valid_metric="MRR",
                  valid_protocol="sampled", valid_negatives=5, progress=False, loss="bpr", l2=0.0)
    assert pop.fit(split, **shared).counts_.sum() == len(split.train["tgt"])


def test_training_options_live_in_one_place() -> None:
    """The command line's training flags, the config file's [train] keys and the grid's
    [benchmark.fit] keys are TrainConfig's fields, derived from it (not listed again)."""
    from cdgraph.benchmark.runner import FIT_KEYS, GRID_SETS, GridConfig
    from cdgraph.cli.config import SCHEMA
    from cdgraph.cli.parser import build_parser
    from cdgraph.train.config import names

    fields = set(names())
    parser = build_parser()
    for command in ("train", "compare"):
        flags = {a.dest.split(".", 1)[1] for a in parser.commands[command]._actions
                 if a.dest.startswith("train.")}
        assert flags == fields, command
    assert set(SCHEMA["train"]) == fields
    assert set(FIT_KEYS) | set(GRID_SETS) == fields and not set(FIT_KEYS) & set(GRID_SETS)
    GridConfig(tasks=["book-music"], methods=["pop"], fit={"lr": 0.05, "l2": 0.0, "loss": "bce"})
    for key in GRID_SETS:
        with pytest.raises(ValueError, match=rf"\['{key}'\].*set by the grid itself"):
            GridConfig(tasks=["book-music"], methods=["pop"], fit={key: 1})
    with pytest.raises(ValueError, match="lr must be a positive number"):
        GridConfig(tasks=["book-music"], methods=["pop"], fit={"lr": -1})
