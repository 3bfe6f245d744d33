"""Typed configuration from plain data (TOML tables) with field-naming errors.

Every config section in csefem is a frozen dataclass; :func:`parse` builds it from a
dict, rejecting unknown keys and wrong types with a :class:`ConfigError` that names
the dotted field path and what was expected.  Every float field must be finite (TOML's
``inf``/``nan`` are refused here, once for the whole schema).  Range checks live in each
dataclass's ``__post_init__`` and raise ``ConfigError(field, expected, value)`` with the
bare field name; :func:`parse` prefixes the path.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


class ConfigError(ValueError):
    """Invalid input. ``str(err)`` is one line: ``<field>: expected <...>, got <...>``."""

    def __init__(self, field: str, expected: str, value: object = dataclasses.MISSING) -> None:
        self.field = field
        self.expected = expected
        self.value = value
        got = "" if value is dataclasses.MISSING else f", got {value!r}"
        super().__init__(f"{field}: expected {expected}{got}")

    def prefixed(self, prefix: str) -> ConfigError:
        """The same error with ``prefix.`` in front of the field path."""
        name = f"{prefix}.{self.field}" if prefix and self.field else (prefix or self.field)
        return ConfigError(name, self.expected, self.value)


def require(cond: bool, field: str, expected: str, value: object = dataclasses.MISSING) -> None:
    """Raise ``ConfigError(field, expected, value)`` unless ``cond``."""
    if not cond:
        raise ConfigError(field, expected, value)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        return f"a list of {_type_name(get_args(tp)[0])}" if get_args(tp) else "a list"
    if origin is dict:
        return f"a table of {_type_name(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    names = {float: "a number", int: "an integer", bool: "true or false", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:  # Optional[X]: keep X's own (deeper) error
            return _convert(members[0], value, path)
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path)
            except ConfigError:
                continue
        raise ConfigError(path, _type_name(tp), value)
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(path, _type_name(tp), value)
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, _type_name(tp), value)
        (item_tp, *_rest) = get_args(tp) or (Any,)
        items = [_convert(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, _type_name(tp), value)
        _, val_tp = get_args(tp) or (str, Any)
        return {str(k): _convert(val_tp, v, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, "true or false", value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, "an integer", value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, "a number", value)
        number = float(value) if abs(value) < 1e308 else math.inf  # huge ints overflow
        if not math.isfinite(number):
            raise ConfigError(path, "a finite number", value)
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, "a string", value)
        return value
    return value


def _key_hint(key: str, known: list[str]) -> str:
    """``"; did you mean X?"``: the same quantity in another unit (``temperature_K`` ->
    ``temperature_C``), or a close spelling; empty if nothing fits."""
    stem = key.rsplit("_", 1)[0]
    same = [k for k in known if k != key and "_" in k and k.rsplit("_", 1)[0] == stem]
    close = same or difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def parse(cls: type[T], data: Any, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data`` (a dict), validating keys, types and ranges."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(path or cls.__name__, "a table", data)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(where, f"a known key (one of {', '.join(sorted(fields))})"
                          + _key_hint(unknown[0], list(fields)), dataclasses.MISSING)
    kwargs = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(sub, f"{_type_name(hints[name])} (required)")
    try:
        return cls(**kwargs)
    except ConfigError as err:
        raise err.prefixed(path) from None


def to_dict(obj: Any) -> Any:
    """Plain-data form of a config dataclass (for summary.json and round trips)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
