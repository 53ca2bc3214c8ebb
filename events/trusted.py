"""The one constructor of models this process already checked: set as pydantic's own would set them, unvalidated.

It writes pydantic's instance slots (`__dict__`, the fields set, extra, private), which pydantic does not promise to
keep: `pyproject.toml` pins pydantic to the minor versions that `tests/unit/events/test_trusted.py` proves it on,
model by model, against pydantic's own constructor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new_model = BaseModel.__new__
_set_attribute = object.__setattr__
# the slots' own setters: half the cost of object.__setattr__, which looks the slot up on every call
_set_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_set_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_set_private = vars(BaseModel)["__pydantic_private__"].__set__


def trusted_model(cls: type[M], values: dict[str, Any], given: Iterable[str]) -> M:
    """`cls` with `values`: every field, in declaration order (so its JSON is byte-identical to a validated
    instance's), taken as it is. `given` names the fields the caller set, the rest being defaults (pydantic's
    `model_fields_set`, a set of its own per instance, as `model_copy(update=...)` adds to it)."""
    instance = _new_model(cls)
    _set_attribute(instance, "__dict__", values)
    _set_fields_set(instance, set(given))
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance
