"""Plain-data helpers of study files: deep merge, ``--set`` overrides, sweep expansion.

Everything here works on the raw TOML tables (dicts) *before* they are parsed into
typed dataclasses, so every error can name the dotted field it comes from.

Sweeps (``[[sweeps]]``) expand the base cases over any dotted field:
``mode = "product"`` takes the Cartesian product of the value lists, ``mode = "zip"``
takes them element-wise (equal lengths required). Expanded case names are the base
name plus one ``__<tag><value><unit>`` part per swept key, e.g. ``PEO__T25C__i0.2``.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import tomllib
from typing import Any

from fem.config import ConfigError

#: Case fields a sweep or a ``cases.<name>.`` override may address.
CASE_FIELDS = ("type", "geometry", "materials", "conditions", "physics", "solver", "output")

#: Short name tags of common swept keys: last path component -> (prefix, suffix).
NAME_TAGS: dict[str, tuple[str, str]] = {
    "temperature_C": ("T", "C"),
    "current_density_mA_per_cm2": ("i", ""),
    "cell_voltage_V": ("V", ""),
    "li_flux_mol_per_m2_s": ("J", ""),
    "end_time_s": ("t", "s"),
    "size_um": ("h", "um"),
    "thickness_um": ("L", "um"),
    "width_um": ("w", "um"),
    "preset": ("", ""),
    "interface_preset": ("", ""),
    "seed": ("seed", ""),
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``top`` merged into ``base``; nested tables merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_literal(text: str) -> Any:
    """A ``--set`` value: a TOML literal (``25``, ``0.2``, ``true``, ``"x"``, ``[1, 2]``,
    ``{a = 1}``); anything that is not valid TOML is taken as a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_dotted(table: dict[str, Any], path: list[str], value: Any, where: str) -> None:
    """Set ``table[p0][p1]...`` = value, creating intermediate tables."""
    node = table
    for i, key in enumerate(path[:-1]):
        nxt = node.setdefault(key, {})
        if not isinstance(nxt, dict):
            raise ConfigError(".".join([where, *path[: i + 1]]), "a table", nxt)
        node = nxt
    node[path[-1]] = value


def get_dotted(table: dict[str, Any], path: list[str]) -> Any:
    """``table[p0][p1]...`` or ``KeyError``."""
    node: Any = table
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise KeyError(".".join(path))
        node = node[key]
    return node


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``--set key=value`` overrides to a raw study table (returns a new dict).

    Keys: ``study.<field>``, ``report.<field>``, ``defaults.<dotted>``,
    ``cases.<name>.<dotted>`` (a base case by name; ``cases.*.<dotted>`` sets it in every
    case), ``sweeps.<index>.<field>`` and ``sweeps.<index>.values.<dotted key>`` (the rest
    of the key is one swept key).
    """
    out = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ConfigError("--set", "key=value", item)
        key, text = (s.strip() for s in item.split("=", 1))
        value = parse_literal(text)
        parts = key.split(".")
        root = parts[0]
        if root in ("study", "defaults", "report") and len(parts) > 1:
            set_dotted(out.setdefault(root, {}), parts[1:], value, root)
        elif root == "cases" and len(parts) > 2:
            cases = [c for c in out.get("cases", []) if isinstance(c, dict)]
            names = [str(c.get("name")) for c in cases]
            # case names may contain dots (expanded names): take the longest that matches
            match = max((n for n in [*names, "*"] if key.startswith(f"cases.{n}.")),
                        key=len, default=None)
            if match is None:
                raise ConfigError(f"--set {key}", f"cases.<name>.<field> with a case name "
                                  f"(one of {names}) or *", parts[1])
            rest = key[len(f"cases.{match}."):].split(".")
            for case in cases:
                if match == "*" or case.get("name") == match:
                    set_dotted(case, rest, value, f"cases.{case.get('name')}")
        elif root == "sweeps" and len(parts) > 2 and parts[1].isdigit():
            sweeps = out.get("sweeps", [])
            idx = int(parts[1])
            if idx >= len(sweeps):
                raise ConfigError(f"--set {key}", f"a sweep index < {len(sweeps)}", idx)
            if parts[2] == "values" and len(parts) > 3:
                sweeps[idx].setdefault("values", {})[".".join(parts[3:])] = value
            else:
                set_dotted(sweeps[idx], parts[2:], value, f"sweeps[{idx}]")
        else:
            raise ConfigError(f"--set {key}", "a key study.<field>, defaults.<field>, "
                              "cases.<name>.<field>, sweeps.<index>.<field> or "
                              "report.<field>", key)
    return out


def format_value(value: Any) -> str:
    """A swept value as a filesystem-safe name fragment (floats as %g, 10 digits)."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:.10g}" if math.isfinite(value) else str(value)
    elif isinstance(value, (list, tuple)):
        text = "-".join(format_value(v) for v in value)
    elif isinstance(value, dict):
        text = "-".join(f"{k}{format_value(v)}" for k, v in value.items())
    else:
        text = str(value)
    return _UNSAFE.sub("-", text)


def key_tags(keys: list[str]) -> dict[str, tuple[str, str]]:
    """Name tag (prefix, suffix) per swept key; colliding last components use more of the path."""
    last = [k.split(".") for k in keys]
    tags: dict[str, tuple[str, str]] = {}
    for key, parts in zip(keys, last, strict=True):
        clash = sum(p[-1] == parts[-1] for p in last) > 1
        if not clash and parts[-1] in NAME_TAGS:
            tags[key] = NAME_TAGS[parts[-1]]
        else:
            depth = 2 if clash else 1
            tags[key] = ("-".join(parts[-depth:]), "")
    return tags


def _sweep_points(sweep: dict[str, Any], where: str) -> list[dict[str, Any]]:
    allowed = {"mode", "cases", "values"}
    for key in sweep:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}", f"a known key (one of {', '.join(sorted(allowed))})")
    mode = sweep.get("mode", "product")
    if mode not in ("product", "zip"):
        raise ConfigError(f"{where}.mode", "one of 'product', 'zip'", mode)
    values = sweep.get("values")
    if not isinstance(values, dict) or not values:
        raise ConfigError(f"{where}.values", "a non-empty table of field = [values]", values)
    for key, vals in values.items():
        head = key.split(".")[0]
        if head not in CASE_FIELDS:
            raise ConfigError(f"{where}.values.{key}",
                              f"a case field path starting with one of {', '.join(CASE_FIELDS)}",
                              key)
        if not isinstance(vals, list) or not vals:
            raise ConfigError(f"{where}.values.{key}", "a non-empty list of values", vals)
    keys = list(values)
    if mode == "zip":
        lengths = {k: len(values[k]) for k in keys}
        if len(set(lengths.values())) > 1:
            raise ConfigError(f"{where}.values", "lists of equal length for mode = 'zip'", lengths)
        combos = list(zip(*(values[k] for k in keys), strict=True))
    else:
        combos = list(itertools.product(*(values[k] for k in keys)))
    return [dict(zip(keys, combo, strict=True)) for combo in combos]


def expand(cases: list[dict[str, Any]], sweeps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expand raw (merged) case tables over the sweeps.

    Each sweep expands the base cases it names (default: all) independently; a base case
    named by no sweep is kept as is. Every expanded case gets ``sweep_values`` (dotted
    key -> value) and a derived name. Returns new dicts in a deterministic order.
    """
    base_names = [c.get("name") for c in cases]
    swept: set[str] = set()
    produced: dict[str, list[dict[str, Any]]] = {str(n): [] for n in base_names}
    for s_idx, sweep in enumerate(sweeps):
        where = f"sweeps[{s_idx}]"
        if not isinstance(sweep, dict):
            raise ConfigError(where, "a table", sweep)
        points = _sweep_points(sweep, where)
        targets = sweep.get("cases", base_names)
        if not isinstance(targets, list) or not targets:
            raise ConfigError(f"{where}.cases", "a non-empty list of case names", targets)
        for name in targets:
            if name not in base_names:
                raise ConfigError(f"{where}.cases", f"case names (one of {base_names})", name)
        tags = key_tags(list(points[0]))
        for name in targets:
            base = cases[base_names.index(name)]
            swept.add(name)
            for point in points:
                case = copy.deepcopy(base)
                parts = [str(name)]
                for key, value in point.items():
                    set_dotted(case, key.split("."), copy.deepcopy(value), f"cases.{name}")
                    prefix, suffix = tags[key]
                    parts.append(f"{prefix}{format_value(value)}{suffix}")
                case["name"] = "__".join(parts)
                case["sweep_values"] = {**base.get("sweep_values", {}), **point}
                produced[str(name)].append(case)
    out: list[dict[str, Any]] = []
    for case in cases:
        name = str(case.get("name"))
        out.extend(produced[name] if name in swept else [copy.deepcopy(case)])
    return out
