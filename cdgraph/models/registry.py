"""Every model by name: :data:`MODELS`, from which the library, the command line and the
benchmark grid all build.

A registered model is a class or a factory ``(target, **options) -> Recommender``; its
options are its constructor's (or factory's) keyword arguments, checked when it is made.
Register yours and every command and benchmark config can name it::

    from cdgraph.models import register_model

    @register_model("my-model")
    class MyModel(Recommender):
        ...
"""
from __future__ import annotations

from typing import Any, Callable

from cdgraph.registry import Registry

MODELS: Registry = Registry("model")


def register_model(name: str, *, overwrite: bool = False) -> Callable:
    """Decorator registering a model class or factory ``(target, **options) -> Recommender``."""
    return MODELS.register(name, overwrite=overwrite)


def make_model(name: str, target: str, **options: Any) -> Any:
    """A new, unfitted model ``name`` for ``target``; an option the model does not take is a
    ``TypeError`` naming it and listing those it takes."""
    MODELS.check(name, target=target, **options)
    return MODELS.get(name)(target, **options)


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return MODELS.names()
