"""What a ``@cached`` function's return annotation tells the typed serializer.

With ``TypedSerializer`` (``?serializer=typed``), the dataclasses and Pydantic
models a function's return annotation names (``-> list[Item]``, ``-> Order |
None``, and the classes their fields name) are registered for every
serializer of the process when the function is decorated: its results come
back as those types on every engine, and every process that imports the
function reads what another stored. Registering, rather than converting each
hit to the annotation, costs a hit nothing and gives back what the function
returned, exactly. The JSON and msgpack serializers are not affected, nor is
``InMemoryCache``, which keeps the objects themselves.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from cache.backend.typed import annotated_types, register_types

__all__ = ["learn_return_types"]


def learn_return_types(func: Callable[..., Any]) -> bool:
    """Register the classes ``func``'s return annotation names; False if Python cannot read it yet.

    A string annotation (``from __future__ import annotations``) naming a class
    defined further down the module cannot be read when the function is
    decorated, only once the module has run.
    """
    annotations = getattr(func, "__annotations__", None)
    if not isinstance(annotations, dict) or "return" not in annotations:
        return True
    holder = types.SimpleNamespace(__annotations__={"return": annotations["return"]})
    namespace = getattr(inspect.unwrap(func), "__globals__", {})
    try:
        annotation = typing.get_type_hints(holder, globalns=namespace)["return"]
    except Exception:  # a name not defined yet (or only for type checkers)
        return False
    register_types(annotated_types(annotation))
    return True
