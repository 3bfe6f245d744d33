"""Cited materials library: PEO(-LiTFSI), PEO/MOF, LLZO layer, MOF layer, PE, Li.

Every number carries its unit in the field name and a source tag in ``sources``:
``[SI]`` the supporting information of Zhang et al. (the seed paper), ``[lit]`` the
cited literature, ``[derived]`` computed from other values (formula given),
``[assumption]`` a representative value csefem exposes as an overridable input.
``[study file]`` / ``[user]`` a value set in a study file or in Python.
The notes behind the values are docs/theory/npp.md section 10 and
``physics-phasefield.md`` sections 5 and 7.

Conductivity follows one of the laws of :mod:`fem.conductivity` (``conductivity_law``):
Arrhenius, sigma(T) = sigma_ref exp[-(Ea/R)(1/T - 1/T_ref)] (SI eq. S2, the library's
law), VTF or a measured table; the diffusivities follow from (sigma, t+, alpha) by the consistent
Nernst-Einstein split (docs/theory/npp.md sec. 4, Option A), so the model returns
the input sigma and t+ for any immobilised fraction alpha.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

from fem import conductivity
from fem.conductivity import arrhenius
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.constants import celsius_to_kelvin

EV_TO_J_PER_MOL = 96485.33212  # 1 eV per particle in J/mol
T_25C_K = celsius_to_kelvin(25.0)
T_60C_K = celsius_to_kelvin(60.0)


class MaterialError(ValueError):
    """A material or one of its parameters is invalid; the message names the field.

    ``field`` and ``expected`` (when set) let a study file report the dotted path.
    """

    def __init__(self, message: str, field: str | None = None, expected: str | None = None,
                 value: object = None) -> None:
        super().__init__(message)
        self.field, self.expected, self.value = field, expected, value


#: Source tags of values a user set (they win over the library and are never "stale").
USER_TAGS = ("[study file]", "[user]")
#: The fields of each conductivity law (a material sets those of its law only).
LAW_FIELDS = {
    "arrhenius": ("sigma_ref_S_per_m", "activation_energy_J_per_mol"),
    "vtf": ("vtf_prefactor_S_per_m", "vtf_B_K", "vtf_T0_K"),
    "table": ("sigma_table_T_K", "sigma_table_S_per_m"),
}


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
    """One material. Transport fields are ``None`` for ion-insulating phases.

    Conductivity (``conductivity_law``): ``"arrhenius"`` uses sigma_ref_S_per_m measured
    at T_ref_K and activation_energy_J_per_mol; ``"vtf"`` uses vtf_prefactor_S_per_m,
    vtf_B_K, vtf_T0_K; ``"table"`` uses sigma_table_T_K / sigma_table_S_per_m, usable up
    to sigma_table_margin_K outside the measured range ([assumption] 5 K).

    ``immobilized_fraction_rule = "equal_diffusivity"`` derives alpha = (2t+ - 1)/t+
    from t_plus (free anions keep their normal diffusivity); ``"given"`` takes alpha as
    set.  ``relative_permittivity`` is needed by full-Poisson runs only.  ``derived_from``
    names, per field, the fields it was computed from (an override of those leaves it
    stale, which :func:`fem.material_defs.material_warnings` reports).
    """

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
    conductivity_law: Literal["arrhenius", "vtf", "table"] = "arrhenius"
    vtf_prefactor_S_per_m: float | None = None
    vtf_B_K: float | None = None
    vtf_T0_K: float | None = None
    sigma_table_T_K: list[float] | None = None
    sigma_table_S_per_m: list[float] | None = None
    sigma_table_margin_K: float = 5.0
    immobilized_fraction_rule: Literal["given", "equal_diffusivity"] = "given"
    derived_from: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def bad(fname: str, expected: str) -> MaterialError:
            value = getattr(self, fname)
            return MaterialError(f"material '{self.name}': {fname} = {value!r}, expected "
                                 f"{expected}", fname, expected, value)

        if self.conductivity_law not in LAW_FIELDS:
            raise bad("conductivity_law", f"one of {', '.join(LAW_FIELDS)}")
        for law, names in LAW_FIELDS.items():
            for fname in names:
                if law != self.conductivity_law and getattr(self, fname) is not None:
                    raise bad(fname, f"no value with conductivity_law = "
                              f"'{self.conductivity_law}' (it belongs to conductivity_law = "
                              f"'{law}'; set that law to use it)")
        if self.ion_conducting:
            for fname in (*LAW_FIELDS[self.conductivity_law], "t_plus", "c0_mol_per_m3"):
                if getattr(self, fname) is None:
                    raise bad(fname, "a number for an ion-conducting material"
                              + (f" with conductivity_law = '{self.conductivity_law}'"
                                 if fname in LAW_FIELDS[self.conductivity_law] else ""))
            self._check_law(bad)
            if not 0 < self.t_plus < 1:  # t+ = 1 would leave the mobile anion with D = 0
                raise bad("t_plus", "in (0, 1) (a mobile anion needs t_plus < 1)")
            if not 0 <= self.immobilized_fraction < 1:
                raise bad("immobilized_fraction", "in [0, 1)")
            if self.immobilized_fraction_rule == "equal_diffusivity":
                self._check_equal_diffusivity()
            if not self.c0_mol_per_m3 > 0:
                raise bad("c0_mol_per_m3", "> 0")
        if self.relative_permittivity is not None and not self.relative_permittivity > 0:
            raise bad("relative_permittivity", "> 0")
        if not self.T_ref_K > 0:
            raise bad("T_ref_K", "> 0")
        if self.youngs_modulus_Pa is not None and not self.youngs_modulus_Pa > 0:
            raise bad("youngs_modulus_Pa", "> 0")
        if self.poisson_ratio is not None and not -1 < self.poisson_ratio < 0.5:
            raise bad("poisson_ratio", "in (-1, 0.5)")

    def _check_law(self, bad) -> None:
        if self.conductivity_law == "arrhenius":
            if not self.sigma_ref_S_per_m > 0:
                raise bad("sigma_ref_S_per_m", "> 0")
            if not self.activation_energy_J_per_mol >= 0:
                raise bad("activation_energy_J_per_mol", ">= 0")
        elif self.conductivity_law == "vtf":
            if not self.vtf_prefactor_S_per_m > 0:
                raise bad("vtf_prefactor_S_per_m", "> 0")
            if not self.vtf_B_K > 0:
                raise bad("vtf_B_K", "> 0 K")
            if not self.vtf_T0_K >= 0:
                raise bad("vtf_T0_K", ">= 0 K")
        else:
            for fname, expected in conductivity.table_errors(
                    self.sigma_table_T_K, self.sigma_table_S_per_m, self.sigma_table_margin_K):
                raise bad(fname, expected)

    def _check_equal_diffusivity(self) -> None:
        want = (2 * self.t_plus - 1) / self.t_plus
        if not math.isclose(self.immobilized_fraction, want, rel_tol=1e-9, abs_tol=1e-12):
            expected = (f"a value consistent with immobilized_fraction = "
                        f"{self.immobilized_fraction:.6g}: immobilized_fraction_rule = "
                        f"'equal_diffusivity' needs alpha = (2 t_plus - 1)/t_plus = "
                        f"{want:.6g}; set only one of t_plus and immobilized_fraction, or "
                        "immobilized_fraction_rule = 'given'")
            raise MaterialError(f"material '{self.name}': t_plus = {self.t_plus!r} and "
                                f"immobilized_fraction = {self.immobilized_fraction!r}, "
                                f"expected {expected}", "t_plus", expected, self.t_plus)

    # -- conductivity and transport ---------------------------------------------------
    def sigma_S_per_m(self, temperature_K: float) -> float:
        """Ionic conductivity at ``temperature_K`` by the material's conductivity law."""
        self._require_conducting()
        try:
            if self.conductivity_law == "vtf":
                return conductivity.vtf(self.vtf_prefactor_S_per_m, self.vtf_B_K,
                                        self.vtf_T0_K, temperature_K)
            if self.conductivity_law == "table":
                return conductivity.table(self.sigma_table_T_K, self.sigma_table_S_per_m,
                                          self.sigma_table_margin_K, temperature_K)
        except ValueError as err:
            raise MaterialError(f"material '{self.name}': {err}") from None
        return arrhenius(self.sigma_ref_S_per_m, self.activation_energy_J_per_mol,
                         self.T_ref_K, temperature_K)

    def law_text(self) -> str:
        """One line: the conductivity law and its parameters (``-`` for insulators)."""
        if not self.ion_conducting:
            return "-"
        if self.conductivity_law == "vtf":
            return (f"vtf: A = {self.vtf_prefactor_S_per_m:.4g} S/m, B = {self.vtf_B_K:.4g} K, "
                    f"T0 = {self.vtf_T0_K:.5g} K")
        if self.conductivity_law == "table":
            T = self.sigma_table_T_K
            return (f"table: {len(T)} points {T[0] - 273.15:.4g} .. {T[-1] - 273.15:.4g} C "
                    f"(+- {self.sigma_table_margin_K:g} K), ln sigma linear in 1/T")
        return (f"arrhenius: sigma_ref = {self.sigma_ref_S_per_m:.4g} S/m at T_ref = "
                f"{self.T_ref_K:.5g} K ({self.T_ref_K - 273.15:.4g} C), Ea = "
                f"{self.activation_energy_J_per_mol / 1e3:.4g} kJ/mol")

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

    def user_set(self, fname: str) -> bool:
        """True if ``fname`` was set by the user (study file or Python), not the library."""
        return self.sources.get(fname, "").startswith(USER_TAGS)

    def with_overrides(self, source: str = "[user] set in Python", **changes: object
                       ) -> Material:
        """A copy with some fields replaced (validated); unknown field names are refused.

        The changed fields get ``source`` as their source.  Switching
        ``conductivity_law`` drops the old law's fields; under
        ``immobilized_fraction_rule = "equal_diffusivity"`` a new t_plus re-derives
        alpha (setting alpha alone switches the rule to ``"given"``).
        """
        known = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in known:
                raise MaterialError(f"material '{self.name}': unknown field '{key}', expected one "
                                    f"of {sorted(known - {'sources'})}", key, "a known field")
        new = dict(changes)
        srcs = dict(self.sources)
        srcs.update(new.pop("sources", {}))
        srcs.update({k: source for k in changes if k != "sources"})
        law = new.get("conductivity_law", self.conductivity_law)
        for other, names in LAW_FIELDS.items():
            for fname in names:
                if other != law and fname not in new:
                    new[fname] = None
                    srcs.pop(fname, None)
        if "immobilized_fraction" in new and "t_plus" not in new:
            new.setdefault("immobilized_fraction_rule", "given")
        rule = new.get("immobilized_fraction_rule", self.immobilized_fraction_rule)
        t_plus = new.get("t_plus", self.t_plus)
        if rule == "equal_diffusivity" and "immobilized_fraction" not in new:
            if not (isinstance(t_plus, (int, float)) and 0.5 <= t_plus <= 1):
                expected = ("t_plus >= 0.5 for immobilized_fraction_rule = 'equal_diffusivity' "
                            "(alpha = (2 t_plus - 1)/t_plus); below, give immobilized_fraction "
                            "and immobilized_fraction_rule = 'given'")
                raise MaterialError(f"material '{self.name}': t_plus = {t_plus!r}, expected "
                                    f"{expected}", "t_plus", expected, t_plus)
            new["immobilized_fraction"] = immobilized_fraction_equal_diffusivity(t_plus)
            srcs["immobilized_fraction"] = (
                f"[derived] alpha = (2t+ - 1)/t+ of t_plus = {t_plus:g}"
                + (f" ({source})" if "t_plus" in changes else ""))
        return dataclasses.replace(self, **new, sources=srcs)

    def _require_conducting(self) -> None:
        if not self.ion_conducting:
            raise MaterialError(f"material '{self.name}' does not conduct ions")


def activation_energy_from_pair(sigma1: float, T1_K: float, sigma2: float, T2_K: float) -> float:
    """Apparent activation energy [J/mol] through two (T, sigma) points [derived]."""
    return R * math.log(sigma2 / sigma1) / (1.0 / T1_K - 1.0 / T2_K)


def nernst_einstein_split(sigma_S_per_m: float, t_plus: float, immobilized_fraction: float,
                          c0_mol_per_m3: float, temperature_K: float) -> tuple[float, float]:
    """(D+, D_anion) in m^2/s reproducing sigma and t+ exactly (docs/theory/npp.md sec. 4,
    Option A).

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
    """Option B of docs/theory/npp.md sec. 4 ("free anions with the normal D"):
    alpha = (2t+ - 1)/t+.

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
