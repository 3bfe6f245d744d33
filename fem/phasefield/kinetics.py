"""Interface electrochemistry of the electrodeposition (v2) phase-field model.

Constitutive pieces, each a small function (UFL where it enters the weak form), following
docs/theory/phasefield.md sec. 2:

- the exchange current i0(T) [A/m^2] with an Arrhenius law, per electrolyte material;
- the local overpotential eta = phi_s - phi_l - E_eq, with the equilibrium potential
  E_eq = -(gamma Omega K)/(nF) - (Omega p)/(nF) shifted by curvature K (Gibbs-Thomson) and by
  the hydrostatic pressure p of the deposit (the mechanical slot); the Nernst term of c+
  is carried by the concentration factor of Butler-Volmer (``npp.forms.butler_volmer_influx``,
  reused), so eta here is measured against Li/Li+ at the reference concentration c_ref;
- the normal front velocity v_n = Omega i_plating / (nF), plating positive.

Scaled units as in ``params``: um, s, potentials in RT/(nF), concentrations in c_ref.
"""

from __future__ import annotations

from dataclasses import dataclass, field


from fem.conductivity import arrhenius
from fem.config import require
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.npp import forms as npp_forms

SOURCES: dict[str, str] = {
    "exchange_current_A_per_m2": "[assumption] 5 A/m^2 = 0.5 mA/cm^2 for Li | PEO-LiTFSI at "
                                 "60 C, the NPP module's value (charge-transfer resistance "
                                 "RT/(F i0) = 57 Ohm cm^2); [lit] consistent in magnitude with "
                                 "the 67 Ohm cm^2 total interfacial resistance of Li | "
                                 "PEO-LiTFSI at 80 C (J. Power Sources 94, 201 (2001)), an "
                                 "upper bound on R_ct, so i0 >= 0.45 mA/cm^2 at 80 C; this "
                                 "default with 50 kJ/mol gives 1.4 mA/cm^2 there",
    "exchange_current_reference_K": "60 C, the temperature of exchange_current_A_per_m2",
    "exchange_current_activation_J_per_mol": "[assumption] 50 kJ/mol, of the order of PEO's "
                                             "ionic-conduction activation energy",
    "interface_energy_J_per_m2": "[lit] 0.5 J/m^2, Li surface energy as used by Hong & "
                                 "Viswanathan, ACS Energy Lett. 3, 1737 (2018)",
    "alpha": "[SI] Table S1 symmetry factor 0.5",
    "profile_relaxation_time_s": "[assumption, numerical] time scale of the profile-restoring "
                                 "term, Gamma = (delta0/2)^2 / tau (docs/theory/phasefield.md)",
    "transport_floor": "[assumption, numerical] electrolyte fraction left inside Li (psi floor)",
    "thin_interface_correction": "[numerical] Taylor-extrapolated interface state in the "
                                 "kinetics, anti-trapping salt flux and Li-side normal "
                                 "conduction (docs/theory/phasefield.md sec. 3.1): Sand's "
                                 "time +1.5 % instead of +34 % at delta0 = 0.5 um; in 2D as "
                                 "cheap as without it once its coefficients are lagged "
                                 "(measured, two-nuclei merge: 88 vs 86 Newton iterations); "
                                 "false gives the uncorrected model",
}


@dataclass(frozen=True)
class KineticsConfig:
    """The ``physics.kinetics`` table of an ``electrodeposition_v2`` case (SI units).

    ``exchange_current_overrides`` maps an electrolyte material name to its i0 at the
    reference temperature [A/m^2] (the interface of Li with that material).
    """

    exchange_current_A_per_m2: float = 5.0
    exchange_current_reference_K: float = 333.15
    exchange_current_activation_J_per_mol: float = 5.0e4
    exchange_current_overrides: dict[str, float] = field(default_factory=dict)
    alpha: float = 0.5
    interface_energy_J_per_m2: float = 0.5
    profile_relaxation_time_s: float = 10.0
    transport_floor: float = 1e-3
    thin_interface_correction: bool = True

    def __post_init__(self) -> None:
        require(self.exchange_current_A_per_m2 > 0, "exchange_current_A_per_m2", "> 0 [A/m^2]",
                self.exchange_current_A_per_m2)
        require(self.exchange_current_reference_K > 0, "exchange_current_reference_K", "> 0 [K]",
                self.exchange_current_reference_K)
        require(self.exchange_current_activation_J_per_mol >= 0,
                "exchange_current_activation_J_per_mol", ">= 0",
                self.exchange_current_activation_J_per_mol)
        for name, value in self.exchange_current_overrides.items():
            require(isinstance(value, (int, float)) and value > 0,
                    f"exchange_current_overrides.{name}", "> 0 [A/m^2]", value)
        require(0 < self.alpha < 1, "alpha", "in (0, 1)", self.alpha)
        require(self.interface_energy_J_per_m2 >= 0, "interface_energy_J_per_m2", ">= 0",
                self.interface_energy_J_per_m2)
        require(self.profile_relaxation_time_s > 0, "profile_relaxation_time_s", "> 0 [s]",
                self.profile_relaxation_time_s)
        require(0 < self.transport_floor < 1, "transport_floor", "in (0, 1)",
                self.transport_floor)

    def exchange_current(self, material: str, temperature_K: float) -> float:
        """i0 [A/m^2] of Li against ``material`` at ``temperature_K`` (Arrhenius)."""
        i_ref = self.exchange_current_overrides.get(material, self.exchange_current_A_per_m2)
        return arrhenius(i_ref, self.exchange_current_activation_J_per_mol,
                         self.exchange_current_reference_K, temperature_K)


def front_velocity_scale_um_per_s(i_A_per_m2: float, molar_volume_m3_per_mol: float,
                                  n_electrons: int = 1) -> float:
    """Front speed Omega i / (nF) of a current density i, in um/s."""
    return molar_volume_m3_per_mol * i_A_per_m2 / (n_electrons * F) * 1e6


def capillary_coefficient(gamma_J_per_m2: float, molar_volume_m3_per_mol: float,
                          temperature_K: float, length_scale_m: float = 1e-6) -> float:
    """gamma Omega / (R T l0): the Gibbs-Thomson shift per unit scaled curvature [RT/F]
    (n = 1 absorbed in the potential scale RT/(nF))."""
    return gamma_J_per_m2 * molar_volume_m3_per_mol / (R * temperature_K * length_scale_m)


@dataclass(frozen=True)
class KineticModel:
    """Scaled constants of the v2 interface (model units)."""

    alpha: float
    capillary: float  # gamma Omega / (R T l0), RT/(nF) per 1/um of curvature
    ell: float  # profile length delta0/2 [um]: xi = 1/(1 + exp(d/ell))
    Gamma: float  # profile-restoring coefficient [um^2/s]
    transport_floor: float
    thin_interface: bool = False  # the corrections of ``thin_interface`` (sec. 3.1)
    normal_eps: float = 1e-6  # regulariser of |grad xi| in the normal [1/um]


# -- UFL constitutive functions ------------------------------------------------------------
def overpotential(phi_s, phi_l, curvature, capillary: float, stress=0.0):
    """eta = phi_s - phi_l - E_eq with E_eq = -capillary K - s (scaled by RT/(nF)).

    K > 0 for a convex Li surface (a disc of radius R: K = 1/R), s = Omega p / RT with p the
    pressure on the Li (compression > 0): both make Li less stable, lower E_eq and slow
    plating. The concentration (Nernst) part sits in :func:`plating_velocity`.
    """
    return phi_s - phi_l + capillary * curvature + stress


def plating_velocity(i0_rate, alpha: float, eta, c_plus):
    """v_n = (i0 / (nF c_s)) [c+ exp(-alpha eta) - exp((1 - alpha) eta)] [um/s], plating > 0.

    ``i0_rate`` = Omega i0 / (nF) in um/s, ``c_plus`` = c+/c_ref. This is minus the anodic
    Butler-Volmer flux of the NPP electrode boundary (same function); at equilibrium
    (v_n = 0) eta = ln c+, the Nernst potential.
    """
    return -npp_forms.butler_volmer_influx(i0_rate, 1.0 - alpha, alpha, eta, c_plus)


def profile_gradient(xi, ell: float):
    """p(xi) = xi (1 - xi) / ell: |grad xi| of the equilibrium profile 1/(1 + exp(d/ell)) as
    a function of xi; int p dn = 1 across an interface, so v_n p(xi) moves it rigidly at v_n."""
    return xi * (1 - xi) / ell
