"""Cited materials library: PEO(-LiTFSI), PEO/MOF, LLZO layer, MOF layer, PE, Li.

Every number carries its unit in the field name and a source tag in ``sources``:
``[SI]`` the supporting information of Zhang et al. (the seed paper), ``[lit]`` the
cited literature, ``[derived]`` computed from other values (formula given),
``[assumption]`` a representative value csefem exposes as an overridable input.
The notes behind the values are ``shared/reference/physics-npp.md`` section 9 and
``physics-phasefield.md`` sections 5 and 7.

Conductivity follows Arrhenius, sigma(T) = sigma_ref exp[-(Ea/R)(1/T - 1/T_ref)]
(SI eq. S2), and the diffusivities follow from (sigma, t+, alpha) by the consistent
Nernst-Einstein split (physics-npp.md section 4, Option A), so the model returns
the input sigma and t+ for any immobilised fraction alpha.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.constants import celsius_to_kelvin

EV_TO_J_PER_MOL = 96485.33212  # 1 eV per particle in J/mol
T_25C_K = celsius_to_kelvin(25.0)
T_60C_K = celsius_to_kelvin(60.0)


class MaterialError(ValueError):
    """A material or one of its parameters is invalid; the message names the field."""


@dataclass(frozen=True)
class Transport:
    """Dilute-solution transport coefficients of one layer at one temperature."""

    D_plus_m2_per_s: float
    D_anion_m2_per_s: float
    c_plus_mol_per_m3: float
    c_anion_mol_per_m3: float
    c_fixed_mol_per_m3: float
    sigma_S_per_m: float
    t_plus: float


@dataclass(frozen=True)
class Material:
    """One material. Transport fields are ``None`` for ion-insulating phases."""

    name: str
    description: str
    ion_conducting: bool
    sigma_ref_S_per_m: float | None = None
    T_ref_K: float = T_25C_K
    activation_energy_J_per_mol: float | None = None
    t_plus: float | None = None
    immobilized_fraction: float = 0.0
    c0_mol_per_m3: float | None = None
    relative_permittivity: float | None = None
    electronic_conductivity_S_per_m: float | None = None
    youngs_modulus_Pa: float | None = None
    poisson_ratio: float | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def bad(fname: str, expected: str) -> MaterialError:
            return MaterialError(
                f"material '{self.name}': {fname} = {getattr(self, fname)!r}, expected {expected}")

        if self.ion_conducting:
            for fname in ("sigma_ref_S_per_m", "activation_energy_J_per_mol", "t_plus",
                          "c0_mol_per_m3", "relative_permittivity"):
                if getattr(self, fname) is None:
                    raise bad(fname, "a number for an ion-conducting material")
            if not self.sigma_ref_S_per_m > 0:
                raise bad("sigma_ref_S_per_m", "> 0")
            if not self.activation_energy_J_per_mol >= 0:
                raise bad("activation_energy_J_per_mol", ">= 0")
            if not 0 < self.t_plus <= 1:
                raise bad("t_plus", "in (0, 1]")
            if not 0 <= self.immobilized_fraction < 1:
                raise bad("immobilized_fraction", "in [0, 1)")
            if not self.c0_mol_per_m3 > 0:
                raise bad("c0_mol_per_m3", "> 0")
            if not self.relative_permittivity > 0:
                raise bad("relative_permittivity", "> 0")
        if not self.T_ref_K > 0:
            raise bad("T_ref_K", "> 0")
        if self.youngs_modulus_Pa is not None and not self.youngs_modulus_Pa > 0:
            raise bad("youngs_modulus_Pa", "> 0")
        if self.poisson_ratio is not None and not -1 < self.poisson_ratio < 0.5:
            raise bad("poisson_ratio", "in (-1, 0.5)")

    # -- conductivity and transport ---------------------------------------------------
    def sigma_S_per_m(self, temperature_K: float) -> float:
        """Ionic conductivity at ``temperature_K`` (Arrhenius, SI eq. S2)."""
        self._require_conducting()
        return arrhenius(self.sigma_ref_S_per_m, self.activation_energy_J_per_mol,
                         self.T_ref_K, temperature_K)

    def transport(self, temperature_K: float) -> Transport:
        """Consistent Nernst-Einstein split of (sigma(T), t+, alpha) into D+ and D_anion."""
        self._require_conducting()
        sigma = self.sigma_S_per_m(temperature_K)
        D_plus, D_anion = nernst_einstein_split(sigma, self.t_plus, self.immobilized_fraction,
                                                self.c0_mol_per_m3, temperature_K)
        c0, a = self.c0_mol_per_m3, self.immobilized_fraction
        return Transport(D_plus, D_anion, c0, (1 - a) * c0, a * c0, sigma, self.t_plus)

    def lame_Pa(self) -> tuple[float, float]:
        """Plane-strain Lame constants (lambda, mu) from E and nu."""
        if self.youngs_modulus_Pa is None or self.poisson_ratio is None:
            raise MaterialError(f"material '{self.name}': youngs_modulus_Pa and poisson_ratio "
                                "are needed for mechanics")
        E, nu = self.youngs_modulus_Pa, self.poisson_ratio
        return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))

    def with_overrides(self, **changes: object) -> Material:
        """A copy with some fields replaced (validated); unknown field names are refused."""
        known = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in known:
                raise MaterialError(f"material '{self.name}': unknown field '{key}', expected one "
                                    f"of {sorted(known - {'sources'})}")
        srcs = dict(self.sources)
        srcs.update({k: "[override] set by the user" for k in changes if k != "sources"})
        return dataclasses.replace(self, **changes, sources=srcs)

    def _require_conducting(self) -> None:
        if not self.ion_conducting:
            raise MaterialError(f"material '{self.name}' does not conduct ions")


def arrhenius(sigma_ref: float, Ea_J_per_mol: float, T_ref_K: float, T_K: float) -> float:
    """sigma(T) = sigma_ref exp[-(Ea/R)(1/T - 1/T_ref)]."""
    return sigma_ref * math.exp(-(Ea_J_per_mol / R) * (1.0 / T_K - 1.0 / T_ref_K))


def activation_energy_from_pair(sigma1: float, T1_K: float, sigma2: float, T2_K: float) -> float:
    """Apparent activation energy [J/mol] through two (T, sigma) points [derived]."""
    return R * math.log(sigma2 / sigma1) / (1.0 / T1_K - 1.0 / T2_K)


def nernst_einstein_split(sigma_S_per_m: float, t_plus: float, immobilized_fraction: float,
                          c0_mol_per_m3: float, temperature_K: float) -> tuple[float, float]:
    """(D+, D_anion) in m^2/s reproducing sigma and t+ exactly (physics-npp.md sec. 4, Option A).

    c+ = c0, c_anion = (1 - alpha) c0, c_fixed = alpha c0;
    D+ = t+ sigma RT / (F^2 c0), D_a = (1 - t+) sigma RT / (F^2 (1 - alpha) c0).
    """
    if not 0 < t_plus <= 1:
        raise MaterialError(f"t_plus = {t_plus}, expected in (0, 1]")
    if not 0 <= immobilized_fraction < 1:
        raise MaterialError(f"immobilized_fraction = {immobilized_fraction}, expected in [0, 1)")
    k = sigma_S_per_m * R * temperature_K / (F**2 * c0_mol_per_m3)
    return t_plus * k, (1 - t_plus) * k / (1 - immobilized_fraction)


def sigma_and_t_plus(D_plus: float, D_anion: float, c_plus: float, c_anion: float,
                     temperature_K: float) -> tuple[float, float]:
    """Inverse of the split: sigma = F^2/RT (D+ c+ + D_a c_a), t+ = D+ c+ / (...)."""
    g_plus, g_anion = D_plus * c_plus, D_anion * c_anion
    return F**2 / (R * temperature_K) * (g_plus + g_anion), g_plus / (g_plus + g_anion)


def immobilized_fraction_equal_diffusivity(t_plus: float) -> float:
    """Option B of physics-npp.md sec. 4 ("free anions with the normal D"): alpha = (2t+ - 1)/t+.

    Feasible only for t+ >= 0.5; raises otherwise.
    """
    if not 0.5 <= t_plus <= 1:
        raise MaterialError(f"t_plus = {t_plus}: equal-diffusivity split needs t_plus in [0.5, 1]")
    return (2 * t_plus - 1) / t_plus


def bruggeman_factor(porosity: float, exponent: float = 1.5) -> float:
    """Effective-conductivity factor eps^exponent of a filled porous skeleton (Bruggeman)."""
    if not 0 < porosity <= 1:
        raise MaterialError(f"porosity = {porosity}, expected in (0, 1]")
    return porosity**exponent
