"""One registry mechanism for every pluggable component of cdgraph.

Graph builders, encoders, fusion heads and scorers are all looked up the same
way, in the spirit of PyG's ``torch_geometric.nn.resolver``: a string finds a
registered class, an object is used as given, and a class registered from a
user's own module needs no change to cdgraph.

Example::

    from cdgraph.graph import register_builder, GraphBuilder

    @register_builder("my-builder")
    class MyBuilder(GraphBuilder):
        ...
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of component classes of one kind (or, for methods, of factory
    functions: anything callable with keyword options).

    Args:
        kind (str): What the registry holds ("graph builder", "encoder", ...),
            used in error messages.
        base (type, optional): When given, registered classes must subclass it
            and objects passed to :meth:`resolve` must be instances of it.
    """

    def __init__(self, kind: str, base: type | None = None) -> None:
        self.kind = kind
        self.base = base
        self._classes: dict[str, type] = {}

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[type], type]:
        """Class decorator that registers a class under ``name``."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"A {self.kind} needs a non-empty string name, got {name!r}.")
        key = name.strip().lower()

        def decorator(cls: type) -> type:
            self.add(key, cls, overwrite=overwrite)
            cls.registered_name = key  # type: ignore[attr-defined]
            return cls

        return decorator

    def add(self, name: str, obj: Any, *, overwrite: bool = False) -> Any:
        """Register ``obj`` under ``name`` without marking it (:meth:`register` also sets the
        class's ``registered_name``); returns ``obj``."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"A {self.kind} needs a non-empty string name, got {name!r}.")
        key = name.strip().lower()
        if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise TypeError(
                f"Cannot register {obj!r} as {self.kind} {name!r}: it must subclass "
                f"{self.base.__module__}.{self.base.__qualname__}.")
        if key in self._classes and self._classes[key] is not obj and not overwrite:
            raise ValueError(
                f"A {self.kind} named {name!r} is already registered "
                f"({getattr(self._classes[key], '__qualname__', self._classes[key])!r}); pass "
                f"overwrite=True to replace it.")
        self._classes[key] = obj
        return obj

    def get(self, name: str) -> type:
        """The class (or factory) registered under ``name`` (case-insensitive)."""
        key = str(name).strip().lower()
        if key not in self._classes:
            raise ValueError(
                f"Unknown {self.kind} {name!r}. Available: {', '.join(self.names())}. "
                f"Register your own with the matching register_* decorator.")
        return self._classes[key]

    def resolve(self, query: Any, **kwargs: Any) -> T:
        """Turn a registered name, a registered class or an object into an instance.

        A string or class is instantiated with ``kwargs``; an object already of the
        registry's kind is returned unchanged (``kwargs`` are then ignored).
        """
        cls = self.check(query, **kwargs)
        return query if cls is None else cls(**kwargs)

    def check(self, query: Any, **kwargs: Any) -> type | None:
        """What :meth:`resolve` would instantiate (None for an object, used as given), after
        checking that it takes ``kwargs``; a TypeError names the options it does not take."""
        if isinstance(query, (str, type)):
            cls = self.get(query) if isinstance(query, str) else query
            if isinstance(query, type) and self.base is not None and not issubclass(query, self.base):
                raise TypeError(f"{query.__qualname__} is not a {self.kind}.")
            try:
                signature = inspect.signature(cls)
                signature.bind(**kwargs)
            except ValueError:  # no signature to read (a builtin): let the call itself decide
                return cls
            except TypeError as exc:
                takes = [p for p in signature.parameters if p not in ("args", "kwargs")]
                raise TypeError(f"{self.kind} {query if isinstance(query, str) else cls.__qualname__!r}: "
                                f"{exc}; it takes {', '.join(takes) or 'no options'}.") from None
            return cls
        if self.base is not None and not isinstance(query, self.base):
            raise TypeError(
                f"Expected a {self.kind} name or a {self.base.__qualname__} instance, "
                f"got {type(query).__qualname__}.")
        return None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._classes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._classes

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
