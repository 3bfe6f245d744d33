"""Study-file checks of a case's materials: layer tables carrying material fields, layer
materials known to the case, and conductivities defined at every temperature it uses."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from fem.config import ConfigError
from fem.material_defs import FIELDS as MATERIAL_FIELDS
from fem.material_defs import key_hint
from fem.materials import MaterialError
from geometries.spec import LayerSpec

LAYER_KEYS = tuple(f.name for f in dataclasses.fields(LayerSpec))


def split_layer_overrides(geometry: Any) -> Any:
    """Layer tables may carry material fields directly: move them into ``overrides``."""
    if not isinstance(geometry, dict) or not isinstance(geometry.get("layers"), list):
        return geometry
    layers = []
    for i, layer in enumerate(geometry["layers"]):
        if isinstance(layer, dict):
            fields = {k: v for k, v in layer.items() if k in MATERIAL_FIELDS}
            layer = {k: v for k, v in layer.items() if k not in MATERIAL_FIELDS}
            for key in layer:
                if key not in LAYER_KEYS:
                    raise ConfigError(f"geometry.layers[{i}].{key}", "a layer key or a "
                                      f"material field{key_hint(key, MATERIAL_FIELDS)}")
            if fields and isinstance(layer.get("overrides", {}), dict):
                layer["overrides"] = {**layer.get("overrides", {}), **fields}
        layers.append(layer)
    return {**geometry, "layers": layers}


def check_case_materials(case: Any, where: str) -> None:
    """Layer materials known, layer overrides valid, conductivities defined at every
    temperature the case uses (a table's range, a VTF T0)."""
    layers = case.geometry.resolved().layers
    for k, la in enumerate(layers):
        for key, name in (("material", la.material),
                          ("filaments.fill_material", la.filaments and la.filaments.fill_material)):
            if name and name not in case.library:
                raise ConfigError(f"{where}.geometry.layers[{k}].{key}", "a material of the "
                                  f"library ({', '.join(sorted(case.library))}) or a new one "
                                  f"defined in [materials.{name}] (base = \"PEO\" inherits "
                                  "PEO's fields)", name)
    try:
        mats = case.layer_materials()
    except ConfigError as err:
        raise err.prefixed(where) from None
    temps = list(getattr(case.physics, "temperatures_C", None) or [])
    for T_C in temps or [case.conditions.temperature_C]:
        for region, mat in mats.items():
            if not mat.ion_conducting:
                continue
            field_name = "physics.temperatures_C" if temps else "conditions.temperature_C"
            try:
                mat.sigma_S_per_m(T_C + 273.15)
            except MaterialError as err:
                raise ConfigError(f"{where}.{field_name}", f"a temperature where region "
                                  f"'{region}' has a conductivity ({err})", T_C) from None
            except ArithmeticError:
                pass  # overflow: refused just below
            if not _finite_transport(mat, T_C + 273.15):
                field_name = (f"materials.{mat.name}" if mat.name in case.materials
                              else field_name)
                raise ConfigError(f"{where}.{field_name}", f"values giving region '{region}' "
                                  f"a finite sigma and diffusivities above 1e-300 at {T_C} C",
                                  case.materials.get(mat.name, T_C))


def _finite_transport(mat: Any, temperature_K: float) -> bool:
    """sigma, D+ and D- finite and not underflowing (0.15 K, sigma_ref = 1e-300 and
    Ea = 1e300 are finite inputs but no electrolyte)."""
    try:
        tr = mat.transport(temperature_K)
    except (ArithmeticError, ValueError):
        return False
    values = (tr.sigma_S_per_m, tr.D_plus_m2_per_s, tr.D_anion_m2_per_s)
    return all(math.isfinite(v) and v > 1e-300 for v in values)
