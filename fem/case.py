"""Operating conditions and solver/output settings shared by every physics (study data)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from fem.config import require
from fem.constants import FARADAY_C_PER_MOL, celsius_to_kelvin


@dataclass(frozen=True)
class Conditions:
    """Operating point of one case. At most one driving mode may be set."""

    temperature_C: float = 60.0
    current_density_mA_per_cm2: float | None = None  # galvanostatic (SI: 0.2 and 0.5)
    li_flux_mol_per_m2_s: float | None = None  # SI-literal Li+ flux (0.01), opt-in
    cell_voltage_V: float | None = None  # potentiostatic (SI: 0.01 V "overpotential difference")
    end_time_s: float | None = None  # transient runs: simulated time

    def __post_init__(self) -> None:
        require(self.temperature_C > -273.15, "temperature_C", "> -273.15", self.temperature_C)
        if self.current_density_mA_per_cm2 is not None:
            require(self.current_density_mA_per_cm2 >= 0, "current_density_mA_per_cm2", ">= 0",
                    self.current_density_mA_per_cm2)
        if self.end_time_s is not None:
            require(self.end_time_s > 0, "end_time_s", "> 0", self.end_time_s)

    @property
    def temperature_K(self) -> float:
        return celsius_to_kelvin(self.temperature_C)

    def current_density_A_per_m2(self) -> float | None:
        """Galvanostatic current density in A/m^2 (from mA/cm^2 or from the Li+ flux)."""
        if self.current_density_mA_per_cm2 is not None:
            return self.current_density_mA_per_cm2 * 10.0
        if self.li_flux_mol_per_m2_s is not None:
            return self.li_flux_mol_per_m2_s * FARADAY_C_PER_MOL
        return None


@dataclass(frozen=True)
class SolverConfig:
    """Linear-solver preset plus PETSc option overrides (plain dict, as in DOLFINx demos)."""

    preset: Literal["direct", "superlu", "iterative"] = "direct"
    snes_rtol: float = 1e-10
    snes_atol: float = 1e-12
    snes_max_it: int = 25
    petsc_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(self.snes_rtol > 0, "snes_rtol", "> 0", self.snes_rtol)
        require(self.snes_atol >= 0, "snes_atol", ">= 0", self.snes_atol)
        require(self.snes_max_it > 0, "snes_max_it", "> 0", self.snes_max_it)
        for key, value in self.petsc_options.items():
            require(_petsc_scalar(value), f"petsc_options.{key}",
                    "a string, a boolean, an integer or a finite number (PETSc option value)",
                    value)


def _petsc_scalar(value: Any) -> bool:
    """True for the values PETSc's option database takes (one scalar, not a table/list)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, bool, int))


@dataclass(frozen=True)
class OutputConfig:
    """What a case writes (FESTIM-style declared exports)."""

    fields: bool = True  # VTX (BP4) + XDMF time series of the fields
    xdmf: bool = True  # also XDMF (ParaView 5.11)
    vtx: bool = True
    # field maps: "final" (the final state), "all" (also intermediate snapshots; `true` is
    # the old spelling of "all"), false (none; `csefem report DIR --figures` draws them
    # later from the written fields). Only on/off counts in the configuration hash.
    pngs: Literal["final", "all"] | bool = "final"
    times_s: list[float] = field(default_factory=list)  # output times hit exactly

    def __post_init__(self) -> None:
        require(all(t > 0 for t in self.times_s), "times_s", "positive times [s]",
                self.times_s)
