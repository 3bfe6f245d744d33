"""Pre-solve physical diagnostics of a case: does the requested run make sense?

docs/theory/npp.md sec. 7.2 ("diagnose before solving") and 6, docs/theory/phasefield.md
sec. 7. For the operating point of a case this reports, from closed forms
(:mod:`fem.electrochem`) only:

- the Debye length of every layer vs the smallest cell, and L / lambda_D;
- i / i_lim for every layer without immobilised anions and for the stack, classified
  ok / warn / over-limiting (over-limiting is an *error* for a steady request: no
  steady state exists; a *warning* for transient runs, which stop at Sand's time);
- Sand's time at the plating anode; the ohmic drop i R0 vs an imposed cell voltage;
- the predicted steady voltage (exact for binary stacks, small-signal otherwise);
- the mesh's cell count (estimated before meshing, see ``geometries.estimate``);
- for phase-field cases the interface width delta0 vs the mesh, the filament gap and
  the domain; plus whatever the physics type's own ``check`` returns.

Lengths from the geometry are in micrometres; every value is reported with its unit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from fem import electrochem as ec
from fem.config import ConfigError
from fem.constants import thermal_voltage_V
from fem.log import get_logger
from fem.material_defs import material_warnings
from geometries.spec import region_names

log = get_logger("diagnostics")
Level = Literal["info", "warn", "error"]
UM = 1e-6
#: Full-Poisson meshes should resolve lambda_D / 5 (docs/theory/npp.md sec. 6).
DEBYE_CELLS = 5.0
#: Phase-field rules (docs/theory/phasefield.md sec. 7).
PF_H_PER_DELTA0, PF_GAP_PER_DELTA0, PF_DOMAIN_PER_DELTA0 = 0.4, 6.0, 10.0


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic line of a case (JSON-ready via :meth:`to_dict`)."""

    case: str
    name: str
    value: float | str | None
    unit: str
    level: Level
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def is_steady(case: Any) -> bool:
    """True for a steady-state request (an NPP ``mode = "steady"`` case)."""
    if case.type != "npp":
        return False
    mode = getattr(case.physics, "mode", None)
    if mode is not None:
        return mode == "steady"
    return case.conditions.end_time_s is None


def _h_min_um(case: Any, bundle: Any) -> tuple[float, str]:
    """Smallest cell size [um]: measured on the mesh if there is one, else requested."""
    if bundle is not None:
        from geometries.io import mesh_stats

        stats = mesh_stats(bundle)
        for key in ("h_min_um", "min_cell_size_um", "h_min"):
            if key in stats:
                return float(stats[key]), "mesh"
    mesh = case.geometry.resolved().mesh
    sizes = [s for s in (mesh.size_um, mesh.anode_size_um, mesh.interface_size_um) if s]
    return float(min(sizes)), "requested"


def _mesh_cells(case: Any, bundle: Any) -> Diagnostic:
    """Cells of the built mesh, or before meshing the estimate the CLI's limit is checked on."""
    if bundle is not None:
        tdim = bundle.mesh.topology.dim
        n = bundle.mesh.topology.index_map(tdim).size_global
        return Diagnostic(case.name, "mesh_cells", float(n), "cells", "info", "built mesh")
    from geometries.estimate import estimate_cells

    est = estimate_cells(case.geometry)
    return Diagnostic(case.name, "mesh_cells", est.total, "cells", "info",
                      f"estimated before meshing (most from mesh.{est.dominant_field}; "
                      "refused above --max-cells)")


def _initial_li_film_um(case: Any) -> float:
    """Thickness of a phase-field case's initial Li film [um] (0 for other cases): layers
    inside it hold Li metal at the start, part of the electrode, not of the ion stack."""
    initial = getattr(getattr(case, "physics", None), "initial", None) if (
        case.type == "phasefield") else None
    return float(getattr(initial, "layer_thickness_um", 0.0) or 0.0)


def _stack_layers(case: Any) -> list[dict[str, Any]]:
    """Per layer, anode to cathode: region, material, thickness, transport at T."""
    geo = case.geometry.resolved()
    T = case.conditions.temperature_K
    mats = case.layer_materials()
    film_um = _initial_li_film_um(case)
    out, top_um = [], 0.0
    for region, layer, frac in zip(region_names(geo.layers), geo.layers,
                                   case.geometry.open_fractions(), strict=True):
        mat = mats[region]
        top_um += layer.thickness_um
        row = {"region": region, "material": mat.name, "L_m": layer.thickness_um * UM,
               "layer": layer, "open": frac, "mat": mat, "tr": None,
               "in_li_film": top_um <= film_um * (1 + 1e-9)}
        if mat.ion_conducting:
            row["tr"] = mat.transport(T)
        out.append(row)
    return out


def _electrochem(case: Any, h_um: float, h_src: str) -> list[Diagnostic]:
    name, T = case.name, case.conditions.temperature_K
    d: list[Diagnostic] = []

    def add(key: str, value: Any, unit: str, level: Level, msg: str) -> None:
        d.append(Diagnostic(name, key, value, unit, level, msg))

    # electronically conducting layers (Li metal) belong to the electrode, not the stack
    everything = _stack_layers(case)
    layers = [r for r in everything if not r["in_li_film"] and (
        r["tr"] is not None or r["mat"].electronic_conductivity_S_per_m is None)]
    if len(layers) < len(everything):
        add("electrode_layers", ", ".join(r["region"] for r in everything if r not in layers),
            "", "info", "metal layers and layers inside the initial Li film are part of the "
            "electrode: left out of the ion stack")
    blocked = [r["region"] for r in layers if r["tr"] is None]
    if blocked:
        add("ion_blocking_layers", ", ".join(blocked), "",
            "warn" if case.type == "mesh" else "error",
            f"layers {blocked} do not conduct ions: no current can cross the stack")
        return d
    if not layers:
        return d
    d += _debye(case, layers, h_um, h_src)

    sig_eff = [r["tr"].sigma_S_per_m * r["open"] for r in layers]
    Ls = [r["L_m"] for r in layers]
    R0 = ec.stack_R0_ohm_m2(Ls, sig_eff)
    Rss = ec.stack_Rss_ohm_m2(Ls, sig_eff, [r["tr"].t_plus for r in layers])
    add("R0_ohm_cm2", R0 * 1e4, "Ohm cm^2", "info", "ohmic area-specific resistance sum L/sigma")
    add("Rss_ohm_cm2", Rss * 1e4, "Ohm cm^2", "info",
        "small-signal steady ASR sum L/(t+ sigma) (docs/theory/npp.md sec. 7.3, 7.6)")
    i = case.conditions.current_density_A_per_m2()
    V_set = case.conditions.cell_voltage_V
    if V_set is not None:
        add("initial_current_mA_per_cm2", V_set / R0 / 10.0, "mA/cm^2", "info",
            f"I(0+) = dV/R0 for the imposed {V_set * 1e3:.4g} mV")
        add("steady_current_mA_per_cm2", V_set / Rss / 10.0, "mA/cm^2", "info",
            "small-signal I_ss = dV/R_ss")
    if not i:
        return d
    steady = is_steady(case)
    worst = "ok"
    binary = all(r["tr"].c_fixed_mol_per_m3 == 0 for r in layers)
    c0s = {r["tr"].c_plus_mol_per_m3 for r in layers}
    exact_stack = binary and len(c0s) == 1
    for r in layers:
        tr = r["tr"]
        if tr.c_fixed_mol_per_m3 > 0:
            continue
        i_loc = i / r["open"]
        i_lim = ec.limiting_current_A_per_m2(tr.D_plus_m2_per_s, tr.c_plus_mol_per_m3, r["L_m"])
        cls = ec.classify_operating_point(i_loc, i_lim)
        worst = max(worst, cls, key=["ok", "warn", "over-limiting"].index)
        # with an exact stack criterion below, the per-layer ratio only informs
        level = _level(cls, steady and not exact_stack)
        add(f"i_over_ilim[{r['region']}]", i_loc / i_lim, "", level,
            f"{cls}: layer {r['region']} alone ({r['L_m'] / UM:.3g} um) has "
            f"i_lim = {i_lim / 10:.4g} mA/cm^2 (4 F D+ c0 / L)"
            + (f", current confined to the {r['open']:.1%} open area (filaments, protrusions)"
               if r["open"] < 1 else ""))
    if exact_stack:
        c0 = c0s.pop()
        src_first = layers[::-1]  # the source (cathode) side first
        Ds = [r["tr"].D_plus_m2_per_s * r["open"] for r in src_first]
        i_lim = ec.stack_binary_limiting_current_A_per_m2([r["L_m"] for r in src_first], Ds, c0)
        cls = ec.classify_operating_point(i, i_lim)
        worst = max(worst, cls, key=["ok", "warn", "over-limiting"].index)
        add("i_over_ilim[stack]", i / i_lim, "", _level(cls, steady),
            f"{cls}: stack limiting current {i_lim / 10:.4g} mA/cm^2 "
            "(docs/theory/npp.md sec. 7.2, 7.7)"
            + ("; a steady state does not exist, the steady solve is refused"
               if cls == "over-limiting" and steady else ""))
        if cls != "over-limiting":
            V = ec.stack_binary_steady_voltage_V(i, [r["L_m"] for r in src_first], Ds, c0, T)
            add("predicted_steady_voltage_mV", V * 1e3, "mV", "info",
                "exact binary steady voltage (2RT/F) ln(c_source/c_plating)")
    else:
        add("i_over_ilim[stack]", None, "", "info",
            "no closed-form stack limit (immobilised anions or unequal c0 in some layer); "
            "the physics check below gives the exact one where a binary layer can deplete")
        add("predicted_steady_voltage_mV", i * Rss * 1e3, "mV", "info",
            "small-signal estimate i R_ss (immobilised anions: no closed form)")
    ohmic = i * R0
    add("ohmic_drop_mV", ohmic * 1e3, "mV", "info",
        f"i R0 = {ohmic / thermal_voltage_V(T):.3g} RT/F")
    if V_set is not None and ohmic > V_set:
        add("ohmic_drop_vs_voltage", ohmic / V_set, "", "warn",
            f"the ohmic drop {ohmic * 1e3:.4g} mV exceeds the imposed {V_set * 1e3:.4g} mV: "
            "current and voltage together are inconsistent (docs/theory/npp.md sec. 7.2)")
    first = layers[0]
    if first["tr"].c_fixed_mol_per_m3 == 0:
        tr = first["tr"]
        t_sand = ec.sand_time_s(tr.D_plus_m2_per_s, tr.D_anion_m2_per_s, tr.t_plus,
                                tr.c_plus_mol_per_m3, i / first["open"])
        end = case.conditions.end_time_s
        level: Level = "info"
        msg = "Sand's time at the plating anode (semi-infinite limit, docs/theory/npp.md sec. 7.4)"
        if worst == "over-limiting" and not steady:
            level = "warn"
            msg += "; the transient run stops when the anode depletes"
            if end is not None and end > t_sand:
                msg += f" (end_time_s = {end:.4g} s is later)"
        add("sand_time_s", t_sand, "s", level, msg)
    return d


def _debye(case: Any, layers: list[dict[str, Any]], h_um: float, h_src: str
           ) -> list[Diagnostic]:
    """Debye length vs stack and cells (needs every layer's relative_permittivity, which
    only full-Poisson runs require)."""
    physics, T = case.physics, case.conditions.temperature_K
    poisson = getattr(physics, "formulation", None) == "poisson"
    missing = [r["region"] for r in layers if r["mat"].relative_permittivity is None]
    if missing:
        return [Diagnostic(case.name, "debye_length_nm", None, "nm",
                           "error" if poisson else "info",
                           f"no relative_permittivity for {', '.join(missing)}: "
                           + ("full Poisson needs it" if poisson else
                              "not needed by this run (no Debye length reported)"))]
    eps_scale = float(getattr(physics, "permittivity_scale", 1.0) or 1.0)
    lam = {r["region"]: ec.debye_length_m(r["tr"].c_plus_mol_per_m3,
                                          r["mat"].relative_permittivity * eps_scale, T,
                                          r["mat"].immobilized_fraction) for r in layers}
    lam_min = min(lam.values())
    L_tot = sum(r["L_m"] for r in layers)
    ratio = h_um * UM / lam_min
    resolved = ratio <= 1.0 / DEBYE_CELLS
    return [
        Diagnostic(case.name, "debye_length_nm", lam_min * 1e9, "nm", "info",
                   "smallest Debye length of the stack (regions: "
                   + ", ".join(f"{k} {v * 1e9:.3g} nm" for k, v in lam.items()) + ")"),
        Diagnostic(case.name, "L_over_debye", L_tot / lam_min, "", "info", "stack thickness / "
                   "Debye length: electroneutral transport is exact to O(lambda_D/L)"),
        Diagnostic(case.name, "h_over_debye", ratio, "",
                   "warn" if poisson and not resolved else "info",
                   f"smallest cell ({h_src}) {h_um:.3g} um = {ratio:.3g} lambda_D; "
                   + ("full Poisson needs h <= lambda_D/5 at electrodes and interfaces"
                      if poisson else
                      "fine for the electroneutral model (Debye layers not resolved)"))]


def _materials(case: Any) -> list[Diagnostic]:
    """Each region's material and conductivity law, plus the warnings of values taken
    from the library at another temperature or derived from a replaced value."""
    out = []
    temps = list(getattr(case.physics, "temperatures_C", None) or [])
    for region, mat in case.layer_materials().items():
        text = mat.law_text()
        if mat.ion_conducting:
            text += "; at " + ", ".join(
                f"{T_C:g} C sigma = {mat.sigma_S_per_m(T_C + 273.15):.4g} S/m"
                for T_C in temps or [case.conditions.temperature_C])
            text += f"; t+ = {mat.t_plus:.4g}, alpha = {mat.immobilized_fraction:.4g}"
        out.append(Diagnostic(case.name, f"material[{region}]", mat.name, "", "info", text))
        seen = set()
        for T_C in temps or [case.conditions.temperature_C]:
            for text in material_warnings(mat, T_C + 273.15, case.library):
                if text not in seen:  # stale-derived warnings repeat per temperature
                    seen.add(text)
                    out.append(Diagnostic(case.name, f"material_warning[{region}]", mat.name,
                                          "", "warn", text))
    return out


def _level(cls: str, steady: bool) -> Level:
    if cls == "over-limiting":
        return "error" if steady else "warn"
    return "warn" if cls == "warn" else "info"


def _delta0_m(physics: Any, temperature_K: float) -> float | None:
    """Interface half-width delta0 [m] from a phase-field config: its
    ``physical_parameters(T)``, or the config itself, or one nested table."""
    candidates = [physics] + [getattr(physics, f.name) for f in dataclasses.fields(physics)
                              if dataclasses.is_dataclass(getattr(physics, f.name))]
    if callable(getattr(physics, "physical_parameters", None)):
        candidates.insert(0, physics.physical_parameters(temperature_K))
    for obj in candidates:
        if hasattr(obj, "delta0_m"):
            value = obj.delta0_m
            return float(value() if callable(value) else value)
        if hasattr(obj, "kappa0_J_per_m") and hasattr(obj, "W_J_per_m3"):
            return math.sqrt(2 * obj.kappa0_J_per_m / obj.W_J_per_m3)
    return None


def _phasefield(case: Any, h_um: float, h_src: str) -> list[Diagnostic]:
    if case.physics is None or not dataclasses.is_dataclass(case.physics):
        return []
    delta0 = _delta0_m(case.physics, case.conditions.temperature_K)
    if delta0 is None:
        return []
    d0_um = delta0 / UM
    geo = case.geometry.resolved()
    out = [Diagnostic(case.name, "delta0_um", d0_um, "um", "info",
                      "phase-field interface half-width sqrt(2 kappa0/W)")]
    ok = h_um <= PF_H_PER_DELTA0 * d0_um
    out.append(Diagnostic(case.name, "h_over_delta0", h_um / d0_um, "", "info" if ok else "warn",
                          f"smallest cell ({h_src}) {h_um:.3g} um; the interface needs "
                          f"h <= {PF_H_PER_DELTA0} delta0 (docs/theory/phasefield.md sec. 7)"))
    extent = min(geo.width_um, sum(la.thickness_um for la in geo.layers))
    out.append(Diagnostic(case.name, "domain_over_delta0", extent / d0_um, "",
                          "info" if extent >= PF_DOMAIN_PER_DELTA0 * d0_um else "warn",
                          f"smallest domain extent {extent:.3g} um should be >= "
                          f"{PF_DOMAIN_PER_DELTA0:g} delta0 (docs/theory/phasefield.md sec. 7)"))
    for region, layer in zip(region_names(geo.layers), geo.layers, strict=True):
        if layer.filaments is None:
            continue
        gap = layer.filaments.pitch_um - layer.filaments.width_um
        out.append(Diagnostic(case.name, f"gap_over_delta0[{region}]", gap / d0_um, "",
                              "info" if gap >= PF_GAP_PER_DELTA0 * d0_um else "warn",
                              f"filament gap {gap:.3g} um should be >= {PF_GAP_PER_DELTA0:g} "
                              "delta0 (docs/theory/phasefield.md sec. 7)"))
    return out


def _from_check(case: Any, items: list[Any]) -> list[Diagnostic]:
    out = []
    for item in items or []:
        if isinstance(item, Diagnostic):
            out.append(item)
        elif isinstance(item, dict):
            out.append(Diagnostic(case.name, str(item.get("name", "check")), item.get("value"),
                                  str(item.get("unit", "")), item.get("level", "info"),
                                  str(item.get("message", ""))))
    return out


def diagnose(case: Any, bundle: Any = None) -> list[Diagnostic]:
    """All diagnostics of ``case`` (with mesh-measured cell sizes when ``bundle`` is given)."""
    from studies import registry

    h_um, h_src = _h_min_um(case, bundle)
    out: list[Diagnostic] = [_mesh_cells(case, bundle)]
    if case.type in ("npp", "phasefield", "mesh", "conductivity", "bruce_vincent"):
        out += _guarded(case, "materials", lambda: _materials(case))
        out += _guarded(case, "electrochemistry", lambda: _electrochem(case, h_um, h_src))
    if case.type == "phasefield":
        out += _guarded(case, "phase field", lambda: _phasefield(case, h_um, h_src))
    check = registry.get_type(case.type).check_callable()
    if check is not None:
        out += _guarded(case, f"{case.type} check",
                        lambda: _from_check(case, check(case, bundle)))
    return out


def _guarded(case: Any, what: str, section: Any) -> list[Diagnostic]:
    """``section()``, or one error diagnostic if its closed forms fail for this input
    (extreme but finite values: sigma underflowing to 0, exp overflowing, ...)."""
    try:
        return section()
    except ConfigError:
        raise
    except (ArithmeticError, ValueError, TypeError) as err:
        detail = " ".join(f"{type(err).__name__}: {err}".split())[:160]
        return [Diagnostic(case.name, "closed_forms", None, "", "error",
                           f"the {what} closed forms fail for these values ({detail}); "
                           "check the conditions and material values")]


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The error-level diagnostics (a case with any is refused)."""
    return [x for x in diagnostics if x.level == "error"]


def format_table(diagnostics: list[Diagnostic]) -> str:
    """Plain-text table of diagnostics (one line each) for ``csefem check``."""
    lines = []
    for x in diagnostics:
        v = x.value
        text = f"{v:.4g}" if isinstance(v, float) else ("-" if v is None else str(v))
        lines.append(f"  {x.level:5s} {x.name:36s} {text:>11s} {x.unit:9s} {x.message}")
    return "\n".join(lines)
