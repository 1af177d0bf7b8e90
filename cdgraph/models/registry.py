"""Whole recommenders by name: the registry that benchmarks and the command line build from.

A method is a factory ``factory(target, **options) -> Recommender``. cdgraph registers
its own model, the baselines and the published methods; register yours and every
benchmark config can name it::

    from cdgraph.models import register_method

    @register_method("my-model")
    def my_model(target, **options):
        return MyRecommender(target, **options)
"""
from __future__ import annotations

from typing import Any, Callable

from cdgraph.models.base import Recommender
from cdgraph.registry import Registry

METHODS: Registry[Callable[..., Recommender]] = Registry("method")


def register_method(name: str, *, overwrite: bool = False) -> Callable:
    """Decorator registering a factory ``(target, **options) -> Recommender`` under ``name``."""
    return METHODS.register(name, overwrite=overwrite)


def make_method(name: str, target: str, **options: Any) -> Recommender:
    """A new, unfitted recommender of method ``name`` for ``target``."""
    return METHODS.get(name)(target, **options)


def available_methods() -> list[str]:
    """Registered method names, sorted."""
    return METHODS.names()
