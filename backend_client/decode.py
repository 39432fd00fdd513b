"""JSON -> frozen dataclasses, driven by the dataclasses' type hints. Unknown fields are ignored (the
core may add fields without breaking this client); a missing required field is a ProtocolError."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar, Union, get_args, get_origin

from backend_client.errors import ProtocolError

T = TypeVar("T")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(tp: Any, value: Any, path: str = "$") -> Any:
    """Decode ``value`` as the type ``tp`` (``Any``: a type expression read at run time, and a value of
    that type, which the checker cannot follow; ``decode_as`` is the typed entry point)."""
    if tp is Any:
        return value
    origin = get_origin(tp)
    if origin is typing.Literal:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise ProtocolError(f"{path}: null where a value is required")
        (inner,) = [a for a in args if a is not type(None)][:1] or (Any,)
        return decode(inner, value, path)
    if value is None:
        raise ProtocolError(f"{path}: null where a value is required")
    if origin is tuple:
        item = get_args(tp)[0]
        return tuple(decode(item, v, f"{path}[{n}]") for n, v in enumerate(_expect(list, value, path)))
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return dict(_expect(dict, value, path))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        data = _expect(dict, value, path)
        hints = _hints(tp)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = decode(hints[f.name], data[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"{path}.{f.name}: missing")
        return tp(**kwargs)
    if tp is datetime:
        try:
            return datetime.fromisoformat(_expect(str, value, path).replace("Z", "+00:00"))
        except ValueError:
            raise ProtocolError(f"{path}: not a timestamp") from None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolError(f"{path}: expected a number")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(f"{path}: expected an integer")
        return value
    if tp in (str, bool):
        return _expect(tp, value, path)
    raise ProtocolError(f"{path}: cannot decode {tp!r}")  # pragma: no cover - a bug in the models


def _expect(kind: type[T], value: Any, path: str) -> T:
    if not isinstance(value, kind):
        raise ProtocolError(f"{path}: expected {kind.__name__}")
    return value


def decode_as(cls: type[T], value: Any) -> T:
    return typing.cast(T, decode(cls, value))
