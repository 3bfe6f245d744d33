"""The ``physics`` table of an NPP case: formulation, boundary kinetics, time integration.

Every value is a named, overridable input; defaults carry their source
(docs/theory/npp.md section numbers) or ``[assumption]``.  The operating point itself
(temperature, current density / Li flux / cell voltage, end time) lives in
:class:`fem.case.Conditions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fem.config import require
from fem.timestepping import TimeStepConfig

Formulation = Literal["electroneutral", "poisson"]
Mode = Literal["steady", "transient"]
Kinetics = Literal["reversible", "butler_volmer"]


@dataclass(frozen=True)
class InterfaceSpec:
    """Interfacial R_i || C_i of one internal interface ``A|B`` (TOML
    ``physics.interfaces."A|B"``).

    Attributes:
        resistance_ohm_cm2: area-specific resistance R_i [ohm cm^2]; [assumption] 0
            (continuous electrochemical potentials: an ideal interface).  The seed's SI
            gives no value for the PEO|LLZO or PEO|MOF interfaces: set the one measured
            (or assumed) for your cell.
        capacitance_uF_per_cm2: C_i in parallel [uF/cm^2]; [assumption] 0 (the charging
            of the interface is neglected); needs resistance_ohm_cm2 > 0.
        transport: ``"salt_neutral"`` (both ions cross in proportion to their
            transference numbers: an extra arc R_i / (1 + j w R_i C_i) and no salt drawn;
            DC steady shift i R_i / t+, ohmic shift i R_i) or ``"cation"`` (Li+ only: DC
            shift i R_i, plus salt polarisation around the interface at low frequency).
    """

    resistance_ohm_cm2: float = 0.0
    capacitance_uF_per_cm2: float = 0.0
    transport: Literal["salt_neutral", "cation"] = "salt_neutral"

    def __post_init__(self) -> None:
        require(self.resistance_ohm_cm2 >= 0, "resistance_ohm_cm2", ">= 0",
                self.resistance_ohm_cm2)
        require(self.capacitance_uF_per_cm2 >= 0, "capacitance_uF_per_cm2", ">= 0",
                self.capacitance_uF_per_cm2)
        require(self.capacitance_uF_per_cm2 == 0 or self.resistance_ohm_cm2 > 0,
                "capacitance_uF_per_cm2",
                "0 when resistance_ohm_cm2 = 0 (a short-circuited capacitor has no effect)",
                self.capacitance_uF_per_cm2)

    @property
    def active(self) -> bool:
        return self.resistance_ohm_cm2 > 0


@dataclass(frozen=True)
class Config:
    """NPP physics of one case (TOML ``[cases.physics]``).

    Attributes:
        formulation: ``"electroneutral"`` (default; unknowns mu+ and mu_a, docs/theory/npp.md
            sec. 3.2) or ``"poisson"`` (unknowns mu+, mu_a, psi with the layers'
            permittivities; for small domains, double layers, the SI-literal set-up).
        degree: Lagrange degree of the unknowns (1 or 2).
        mode: ``"steady"`` (pseudo-transient continuation to the steady state, inventory
            of the mobile anion conserved exactly) or ``"transient"`` (from rest).
        time_integrator: ``"bdf2"`` (variable-step, first step backward Euler) or
            ``"backward_euler"``.
        kinetics: electrode kinetics under a potentiostatic drive: ``"reversible"``
            (mu+ = F phi_s / RT at the electrode) or ``"butler_volmer"`` (docs/theory/npp.md
            sec. 5.2). Galvanostatic drives always use a reversible plating anode as the
            potential reference (B1).
        exchange_current_density_mA_per_cm2: BV i0 [mA/cm^2]; [assumption] 0.5 at 60 C
            (docs/theory/npp.md sec. 10).
        alpha_anodic, alpha_cathodic: BV transfer coefficients; [assumption] 0.5 each.
        si_literal: B3 (docs/theory/npp.md sec. 5): Li flux in at the cathode and out at the
            anode plus ``si_literal_voltage_V`` between them, both imposed; needs
            ``formulation = "poisson"``; results are labelled non-physical.
        si_literal_voltage_V: the SI's "overpotential difference" [V] ([SI] 0.01).
        permittivity_scale: factor on every eps_r (regularised PNP, sec. 7; 1 = physical).
        permittivity_continuation: descending eps_r factors solved first at rest (sec. 8.8),
            ending implicitly at ``permittivity_scale``.
        compare_half_debye: Poisson only: also solve with eps_r / 4 (delta halved) and
            report the relative change of the bulk fields.
        c_ref_mol_per_m3: concentration scale; default the anode layer's c0.
        quadrature_degree: fixed degree on the exp/sqrt closures; default 2 for P1 (exact
            for the P1 mass matrix, 3 points per triangle; the NPP assembly ~25 % cheaper
            than degree 4 with the MMS errors within 1e-4 of it) and 6 for P2
            (docs/theory/npp.md sec. 8.5).
        min_c_plus_fraction: transient stop when min c+ < this x c_ref (depletion, sec. 6).
        steady_dt_factor: pseudo-time step of the final steady iterations, in units of the
            slowest diffusion time L^2 / D_min.
        time: adaptive time-step controller for transient runs [s].
        output_times_s: times written as fields (hit exactly); the end time always is.
        profile_points: number of points of ``profile_axis.csv``.
        interfaces: interfacial R_i || C_i per internal interface, keyed by its name
            ``"A|B"`` (:class:`InterfaceSpec`; default none: ideal interfaces).
            Electroneutral only.
    """

    formulation: Formulation = "electroneutral"
    degree: int = 1
    mode: Mode = "steady"
    time_integrator: Literal["bdf2", "backward_euler"] = "bdf2"
    kinetics: Kinetics = "reversible"
    exchange_current_density_mA_per_cm2: float = 0.5
    alpha_anodic: float = 0.5
    alpha_cathodic: float = 0.5
    si_literal: bool = False
    si_literal_voltage_V: float = 0.01
    permittivity_scale: float = 1.0
    permittivity_continuation: list[float] = field(default_factory=list)
    compare_half_debye: bool = False
    c_ref_mol_per_m3: float | None = None
    quadrature_degree: int | None = None
    min_c_plus_fraction: float = 1e-3
    steady_dt_factor: float = 1e4
    time: TimeStepConfig = field(default_factory=lambda: TimeStepConfig(
        dt_initial=1e-4, dt_max=10.0, target_iterations=4, growth_factor=1.5))
    output_times_s: list[float] = field(default_factory=list)
    profile_points: int = 401
    interfaces: dict[str, InterfaceSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(self.degree in (1, 2), "degree", "1 or 2", self.degree)
        require(self.exchange_current_density_mA_per_cm2 > 0,
                "exchange_current_density_mA_per_cm2", "> 0",
                self.exchange_current_density_mA_per_cm2)
        require(0 < self.alpha_anodic < 1, "alpha_anodic", "in (0, 1)", self.alpha_anodic)
        require(0 < self.alpha_cathodic < 1, "alpha_cathodic", "in (0, 1)",
                self.alpha_cathodic)
        require(not self.si_literal or self.formulation == "poisson", "si_literal",
                'formulation = "poisson" (B3 is over-determined in the electroneutral limit)',
                self.si_literal)
        require(self.permittivity_scale > 0, "permittivity_scale", "> 0",
                self.permittivity_scale)
        require(all(s > 0 for s in self.permittivity_continuation), "permittivity_continuation",
                "positive factors", self.permittivity_continuation)
        require(self.c_ref_mol_per_m3 is None or self.c_ref_mol_per_m3 > 0, "c_ref_mol_per_m3",
                "> 0", self.c_ref_mol_per_m3)
        require(self.quadrature_degree is None or self.quadrature_degree >= 1,
                "quadrature_degree", ">= 1", self.quadrature_degree)
        require(0 < self.min_c_plus_fraction < 1, "min_c_plus_fraction", "in (0, 1)",
                self.min_c_plus_fraction)
        require(self.steady_dt_factor >= 1, "steady_dt_factor", ">= 1", self.steady_dt_factor)
        require(all(t > 0 for t in self.output_times_s), "output_times_s", "positive times",
                self.output_times_s)
        require(self.profile_points >= 2, "profile_points", ">= 2", self.profile_points)
        require(self.formulation == "electroneutral"
                or not any(s.active for s in self.interfaces.values()), "interfaces",
                'formulation = "electroneutral" (interfacial R/C are not implemented with '
                "full Poisson)", sorted(self.interfaces))

    @property
    def quadrature(self) -> int:
        """The fixed quadrature degree (2 for P1, 6 for P2 unless set)."""
        return self.quadrature_degree or (2 if self.degree == 1 else 6)
