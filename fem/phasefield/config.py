"""The ``physics`` table of a phase-field case (study TOML), validated with ``fem.config.parse``.

Example::

    physics = { interface_preset = "s1_w_delta0_0.5um", mobility = "gibbs_thomson",
                initial = { layer_thickness_um = 1.0, nuclei = [{ x_um = 10.0, radius_um = 1.5 }] },
                control = { mode = "galvanostatic" }, mechanics = { coupling = "M1M2" },
                parameters = { eigenstrain = 0.01 } }
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from fem.config import ConfigError, parse, require
from fem.phasefield.initial import InitialConfig
from fem.phasefield.kinetics import KineticsConfig
from fem.phasefield.mechanics import MechanicsConfig
from fem.phasefield.morphology import MorphologyConfig
from fem.phasefield.params import (
    DEFAULT_PRESET,
    INTERFACE_PRESETS,
    PhaseFieldParams,
    gibbs_thomson_mobility,
    with_preset,
)
from fem.phasefield.problem import BoundaryOptions
from fem.phasefield.stepping import ControlConfig, TimeConfig


MODELS = ("electrodeposition_v2", "chen2015")


@dataclass(frozen=True)
class Config:
    """Phase-field physics of one case.

    Attributes:
        model: "electrodeposition_v2" (default: Butler-Volmer kinetic phase field with
            separate metal and electrolyte potentials, Gibbs-Thomson capillarity and binary
            electroneutral transport; docs/theory/phasefield.md) or "chen2015" (the
            single-potential Allen-Cahn model of Chen et al. 2015, kept for comparison).
        kinetics: i0, its Arrhenius law and per-material overrides, gamma, numerical
            profile settings (v2 only; ``kinetics.KineticsConfig``). In v2, W and kappa0
            set only the interface width delta0 = sqrt(2 kappa0/W); mobility, L_eta and
            the M1 driving force are chen2015-only (v2 couples stress through eta).
        interface_preset: W and kappa0 (``params.INTERFACE_PRESETS``); default delta0 = 0.5 um
            (the reason is next to ``params.DEFAULT_PRESET``); "table_s1" = literal Table S1.
        parameters: overrides of :class:`PhaseFieldParams` fields (SI units, after the preset).
        mobility: "table_s1" (L_sigma = 2.5e-6 m3/(J s)) or "gibbs_thomson" (L_sigma =
            L_eta Omega / RT, capillarity of thermodynamic size; ``params.gibbs_thomson_mobility``).
        electrolyte_transport: "material": D = D+ (Nernst-Einstein split) and sigma = the
            region material's sigma(T) (consistent pair, physics-phasefield.md sec. 7);
            "table_s1": D_l = 2.5e-10 m2/s with sigma_l = 0.93 S/m everywhere.
        initial: Li layer, nuclei and noise.
        control: galvanostatic (conditions.current_density_mA_per_cm2) or potentiostatic.
        time: dt controller.
        mechanics: coupling (off, M0, M1, M2, M1M2), eigenstrain convention, BCs.
        boundaries: xi / c / phi boundary conditions.
        morphology: sampling and thresholds of the morphology metrics in dendrite.csv
            (``fem.phasefield.morphology``).
        snapshot_times_s: times of the xi PNG snapshots (hit exactly).
        checkpoint_every_steps: write a restart checkpoint every N accepted steps (0: never).
        restart: resume from the case's checkpoint if one exists.
        stop_tip_margin_um: stop when the dendrite tip is this close to the cathode.
        quadrature_degree: fixed degree on the exponential terms (sec. 10).
        max_steps: hard cap on accepted steps.
    """

    model: Literal["electrodeposition_v2", "chen2015"] = "electrodeposition_v2"
    kinetics: KineticsConfig = field(default_factory=KineticsConfig)
    interface_preset: str = DEFAULT_PRESET
    parameters: dict[str, Any] = field(default_factory=dict)
    mobility: Literal["table_s1", "gibbs_thomson"] = "table_s1"
    electrolyte_transport: Literal["material", "table_s1"] = "material"
    initial: InitialConfig = field(default_factory=InitialConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    time: TimeConfig = field(default_factory=TimeConfig)
    mechanics: MechanicsConfig = field(default_factory=MechanicsConfig)
    boundaries: BoundaryOptions = field(default_factory=BoundaryOptions)
    morphology: MorphologyConfig = field(default_factory=MorphologyConfig)
    snapshot_times_s: list[float] = field(default_factory=list)
    checkpoint_every_steps: int = 0
    restart: bool = True
    stop_tip_margin_um: float = 0.5
    quadrature_degree: int = 4
    max_steps: int = 100000

    def __post_init__(self) -> None:
        require(self.model in MODELS, "model", f"one of {', '.join(MODELS)}", self.model)
        v2 = self.model == "electrodeposition_v2"
        require(self.boundaries.c_cathode != ("insulating" if v2 else "li_electrode"),
                "boundaries.c_cathode", "reservoir or li_electrode (electrodeposition_v2), "
                "reservoir or insulating (chen2015)", self.boundaries.c_cathode)
        require(self.interface_preset in INTERFACE_PRESETS, "interface_preset",
                f"one of {', '.join(sorted(INTERFACE_PRESETS))}", self.interface_preset)
        require(self.checkpoint_every_steps >= 0, "checkpoint_every_steps", ">= 0",
                self.checkpoint_every_steps)
        require(self.quadrature_degree >= 2, "quadrature_degree", ">= 2",
                self.quadrature_degree)
        require(self.max_steps > 0, "max_steps", "> 0", self.max_steps)
        require(all(t > 0 for t in self.snapshot_times_s), "snapshot_times_s",
                "positive times [s]", self.snapshot_times_s)
        self.physical_parameters(300.0)  # validates the overrides

    def physical_parameters(self, temperature_K: float) -> PhaseFieldParams:
        """Table S1 + preset + overrides (+ the Gibbs-Thomson mobility if chosen)."""
        base = with_preset(PhaseFieldParams(), self.interface_preset)
        merged = {**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)},
                  **self.parameters}
        try:
            params = parse(PhaseFieldParams, merged)
        except ConfigError as err:
            raise err.prefixed("parameters") from None
        if self.mobility == "gibbs_thomson" and "L_sigma_m3_per_J_s" not in self.parameters:
            params = dataclasses.replace(
                params, L_sigma_m3_per_J_s=gibbs_thomson_mobility(params, temperature_K))
        return params

    @property
    def delta0_m(self) -> float:
        """Interface half-width sqrt(2 kappa0 / W) [m] (for the study diagnostics)."""
        return self.physical_parameters(300.0).delta0_m
