"""All simulator state in one object, and its JSON persistence.

The serializer is generic over the dataclasses of ``wechat_sim.model`` (read from their type
hints), so adding a field to a record needs no persistence code; unknown keys in an older file are
ignored and missing ones take their defaults.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wechat_sim import model
from wechat_sim.model import (
    App,
    AppRuntime,
    Code,
    Entry,
    Member,
    Outbound,
    Person,
    QrTicket,
    SnsToken,
    TokenRecord,
    Wxacode,
)

FORMAT = 1
KEEP_ENTRIES = 5000  # conversation lines kept in the file
KEEP_OUTBOUND = 5000


@dataclass
class Store:
    apps: dict[str, App] = field(default_factory=dict)
    runtime: dict[str, AppRuntime] = field(default_factory=dict)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)  # "appid/person_id"
    qr: dict[str, QrTicket] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    sns_tokens: dict[str, SnsToken] = field(default_factory=dict)
    wxacodes: dict[str, Wxacode] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def next(self, name: str, start: int = 1) -> int:
        value = self.counters.get(name, start - 1) + 1
        self.counters[name] = value
        return value


# generic (de)serialization ---------------------------------------------------------------------
def dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value


_NAMESPACE = {**vars(model), **globals()}


def load(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return load(inner[0], data) if len(inner) == 1 else data
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return [load(item, v) for v in data]
    if origin is dict:
        _, item = typing.get_args(tp) or (str, Any)
        return {k: load(item, v) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, _NAMESPACE)
        known = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: load(hints[k], v) for k, v in data.items() if k in known})
    if tp is float and isinstance(data, int):
        return float(data)
    return data


def to_json(store: Store) -> bytes:
    data = dump(store)
    data["entries"] = data["entries"][-KEEP_ENTRIES:]
    data["outbound"] = data["outbound"][-KEEP_OUTBOUND:]
    return json.dumps({"format": FORMAT, "state": data}, ensure_ascii=False, indent=1).encode()


def from_json(raw: bytes) -> Store:
    doc = json.loads(raw)
    if doc.get("format") != FORMAT:
        raise ValueError(f"unsupported simulator state format {doc.get('format')!r}")
    return load(Store, doc["state"])


def save_file(store: Store, path: Path) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(to_json(store))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_file(path: Path) -> Store:
    return from_json(path.read_bytes()) if path.exists() else Store()
