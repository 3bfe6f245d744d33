"""User-defined materials: definitions by name, ``base`` inheritance, per-layer overrides,
and the warnings for values a definition takes from the library.

A definition is a table of :class:`fem.materials.Material` fields (same names, units and
validation as the library) plus an optional ``base``::

    Hidden = {base = "PEO", sigma_ref_S_per_m = 2.3e-2, T_ref_K = 333.15, t_plus = 0.31}
    Mine = {T_ref_K = 333.15, sigma_ref_S_per_m = 2.3e-2, activation_energy_J_per_mol = 6e4,
            t_plus = 0.31, c0_mol_per_m3 = 1100}

A definition named like a library material without ``base`` overrides that material.
Without a base, a definition is an ion conductor (``ion_conducting = true``) and must
state every field of its conductivity law; an Arrhenius law also needs ``T_ref_K`` (the
temperature at which sigma_ref was measured: no silent 25 C default).  Values set here
get the source tag ``[study file]`` plus where they were written.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Callable, Mapping
from typing import Any

from fem.config import ConfigError, _convert
from fem.material_library import MATERIALS
from fem.materials import Material, MaterialError

#: Fields a definition or a layer may set (``base`` only in definitions).
FIELDS = tuple(f.name for f in dataclasses.fields(Material)
               if f.name not in ("name", "sources", "derived_from"))
DEFINITION_KEYS = ("base", *FIELDS)
#: Keys users write for something else: the hint names the right field.
HINTS = {
    "temperature_K": "conditions.temperature_C (the case temperature, in C); a material's "
                     "measurement temperature is T_ref_K",
    "temperature_C": "conditions.temperature_C (the case temperature); a material's "
                     "measurement temperature is T_ref_K",
    "T_ref_C": "T_ref_K (in kelvin: 60 C = 333.15 K)",
    "sigma_S_per_m": "sigma_ref_S_per_m (the value at T_ref_K)",
    "sigma_S_per_cm": "sigma_ref_S_per_m (S/m = 100 x S/cm)",
    "sigma_ref_S_per_cm": "sigma_ref_S_per_m (S/m = 100 x S/cm)",
    "activation_energy_eV": "activation_energy_J_per_mol (1 eV = 96485 J/mol)",
    "alpha": "immobilized_fraction",
    "eps_r": "relative_permittivity",
    "c0": "c0_mol_per_m3",
    "transference_number": "t_plus",
}
_TYPES = typing.get_type_hints(Material)


def key_hint(key: str, allowed: tuple[str, ...] | list[str]) -> str:
    """``"; did you mean X?"`` for a mistyped key (empty when nothing is close)."""
    if key in HINTS:
        return f"; did you mean {HINTS[key]}?"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def _typed(fields: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key, value in fields.items():
        if key not in allowed:
            raise ConfigError(f"{where}.{key}", "a material field (one of "
                              f"{', '.join(allowed)}){key_hint(key, allowed)}")
        out[key] = value if key == "base" else _convert(_TYPES[key], value, f"{where}.{key}")
    return out


def _config_error(err: MaterialError, where: str) -> ConfigError:
    if err.field:
        return ConfigError(f"{where}.{err.field}", err.expected, err.value)
    return ConfigError(where, "a valid material", str(err))


def apply_fields(material: Material, fields: Mapping[str, Any], where: str,
                 source: str | None = None) -> Material:
    """``material`` with ``fields`` set (types, ranges and derived values checked);
    errors are :class:`ConfigError` naming ``where.<field>``."""
    typed = _typed(fields, where, FIELDS)
    try:
        return material.with_overrides(source or f"[study file] {where}", **typed)
    except MaterialError as err:
        raise _config_error(err, where) from None


def define_material(name: str, fields: Mapping[str, Any], lookup: Callable[[str, str], Material],
                    where: str) -> Material:
    """The material ``name`` defined by ``fields`` (``base`` resolved with ``lookup``)."""
    typed = _typed(fields, where, DEFINITION_KEYS)
    base_name = typed.pop("base", name if name in MATERIALS else None)
    source = f"[study file] {where}"
    if base_name is not None:
        if not isinstance(base_name, str):
            raise ConfigError(f"{where}.base", "a material name", base_name)
        base = MATERIALS[name] if base_name == name else lookup(base_name, f"{where}.base")
        start = dataclasses.replace(
            base, name=name, description=typed.pop(
                "description", base.description if base_name == name
                else f"{name}: {base_name} with study-file changes"))
        return apply_fields(start, typed, where, source)
    user_keys = list(typed)
    typed.setdefault("ion_conducting", True)
    typed.setdefault("description", f"{name} (defined in the study file)")
    if typed["ion_conducting"] and typed.get("conductivity_law", "arrhenius") == "arrhenius" \
            and "T_ref_K" not in typed:
        raise ConfigError(f"{where}.T_ref_K", "the temperature [K] at which sigma_ref_S_per_m "
                          "was measured (required for a new Arrhenius material; or set base)")
    try:
        mat = Material(name=name, sources={k: source for k in user_keys}, **typed)
    except MaterialError as err:
        raise _config_error(err, where) from None
    except TypeError as err:  # a required Material field is missing
        raise ConfigError(where, "description and ion_conducting", str(err)) from None
    defaults = {"immobilized_fraction": "[assumption] csefem's default: no immobilised anions",
                "ion_conducting": "[assumption] csefem's default for a definition without base"}
    if mat.conductivity_law == "table":
        defaults["sigma_table_margin_K"] = "[assumption] csefem's default extrapolation margin"
    return dataclasses.replace(mat, sources={**defaults, **mat.sources})


def resolve_materials(definitions: Mapping[str, Mapping[str, Any]], where: str
                      ) -> dict[str, Material]:
    """The library with ``definitions`` (name -> fields) added or overriding, base chains
    followed; a missing base or a cycle is a :class:`ConfigError` naming ``where``."""
    done: dict[str, Material] = {}
    active: list[str] = []

    def lookup(name: str, path: str) -> Material:
        if name in done:
            return done[name]
        if name not in definitions:
            if name in MATERIALS:
                return MATERIALS[name]
            raise ConfigError(path, f"a known material ({', '.join(known)}) or one defined "
                              "in [materials]", name)
        if name in active:
            raise ConfigError(path, "no cycle of base materials", " -> ".join([*active, name]))
        active.append(name)
        if not isinstance(definitions[name], Mapping):
            raise ConfigError(f"{where}.{name}", "a table of material fields",
                              definitions[name])
        done[name] = define_material(name, definitions[name], lookup, f"{where}.{name}")
        active.pop()
        return done[name]

    known = sorted({*MATERIALS, *definitions})
    for name in definitions:
        lookup(name, f"{where}.{name}")
    return {**MATERIALS, **done}


def _user_set(material: Material, dep: str, others: Mapping[str, Material]) -> bool:
    """``dep`` is a field of ``material`` or ``"<material>.<field>"`` of another one."""
    name, _, fname = dep.rpartition(".")
    if not name:
        return material.user_set(fname)
    return name in others and others[name].user_set(fname)


def material_warnings(material: Material, temperature_K: float,
                      others: Mapping[str, Material] | None = None) -> list[str]:
    """Values taken at another temperature than the case's through a library default,
    and fields still derived from a value the user replaced (in this material or, with
    ``others``, the material it was derived from: PE_PEO from PEO)."""
    m, out = material, []
    for fname, deps in m.derived_from.items():
        changed = [d for d in deps if _user_set(m, d, others or {})]
        if getattr(m, fname, None) is None or m.user_set(fname) or not changed:
            continue
        out.append(f"material '{m.name}': {fname} = {getattr(m, fname):.6g} is derived from "
                   f"the library's {', '.join(deps)} ({m.sources.get(fname, '')}) but "
                   f"{', '.join(changed)} was set by you: it still reflects the old value; "
                   f"set {fname} too")
    if (m.ion_conducting and m.conductivity_law == "arrhenius" and m.user_set("sigma_ref_S_per_m")
            and abs(temperature_K - m.T_ref_K) > 1e-6):
        lib_T, lib_Ea = not m.user_set("T_ref_K"), not m.user_set("activation_energy_J_per_mol")
        if lib_T or lib_Ea:
            sigma = m.sigma_S_per_m(temperature_K)
            fix = ("T_ref_K (the temperature of your measurement)" if lib_T else
                   "activation_energy_J_per_mol (or a vtf or table conductivity_law)")
            out.append(
                f"material '{m.name}': your sigma_ref_S_per_m = {m.sigma_ref_S_per_m:.4g} S/m is "
                f"read at T_ref_K = {m.T_ref_K:.5g} K ({m.T_ref_K - 273.15:.4g} C"
                + (", library default" if lib_T else "") + ") and carried to "
                f"{temperature_K - 273.15:.4g} C with " + ("the library's" if lib_Ea else "your")
                + f" Ea = {m.activation_energy_J_per_mol / 1e3:.4g} kJ/mol: sigma = {sigma:.4g} "
                f"S/m ({sigma / m.sigma_ref_S_per_m:.3g} x what you wrote); set {fix}")
    return out
