"""Phase-field parameters: Table S1 in SI units, interface presets and the dimensionless model.

Sources (physics-phasefield.md): ``[SI]`` Table S1 of the seed paper's supporting
information, ``[lit]`` the cited literature, ``[derived]`` computed here (formula given),
``[assumption]`` an exposed modelling choice.

Scales (physics-phasefield.md sec. 5): length l0 = 1 um (mesh units), time t0 = 1 s,
energy density E0 = c0 R T, potential R T / (n F), concentration c0, conductivity
sigma_ref (the reference electrolyte). The solver only sees :class:`ScaledModel`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from fem.config import require
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R

LENGTH_SCALE_M = 1e-6  # l0: mesh coordinates are micrometres
TIME_SCALE_S = 1.0  # t0

SOURCES: dict[str, str] = {
    "L_sigma_m3_per_J_s": "[SI] Table S1 interfacial mobility 2.5e-6 m3/(J s)",
    "W_J_per_m3": "[SI] Table S1 barrier height 3.75e5 J/m3 (set by the interface preset)",
    "kappa0_J_per_m": "[SI] Table S1 2.5e-5 J/m (set by the interface preset)",
    "L_eta_per_s": "[SI] Table S1 reaction coefficient 1 1/s",
    "D_electrode_m2_per_s": "[SI] Table S1 D_e = 7.5e-13 m2/s",
    "D_electrolyte_m2_per_s": "[SI] Table S1 D_l = 2.5e-10 m2/s (used with transport 'table_s1')",
    "sigma_electrode_S_per_m": "[SI] Table S1 sigma_e = 1e7 S/m (capped by sigma_contrast_max)",
    "sigma_electrolyte_S_per_m": "[derived] F^2 D_l c0/(RT) = 0.93 S/m, Nernst-Einstein with "
                                 "Table S1 D_l (used with transport 'table_s1')",
    "alpha": "[SI] Table S1 symmetry factor 0.5",
    "beta": "[SI] Table S1 0.5, read as the mechanical symmetry factor [assumption]",
    "c_s_mol_per_m3": "[lit] Li site density 7.64e4 mol/m^3 (mzl13/Lithium work/advance.F90)",
    "molar_volume_m3_per_mol": "[derived] M/rho = 6.941e-3/534 = 1.30e-5 m3/mol",
    "E_Li_Pa": "[SI] Table S1 E_m = 4.9 GPa",
    "nu_Li": "[assumption] 0.42 (physics-phasefield.md sec. 7)",
    "anisotropy_strength": "[assumption] 0.04, kappa-form, well-posed below 1/7",
    "anisotropy_mode": "[assumption] 4 (bcc Li)",
    "anisotropy_angle_rad": "[assumption] 0",
    "sigma_contrast_max": "[assumption] sigma_e/sigma_l capped at 1e3 (conditioning)",
    "eigenstrain": "[assumption] 0 (off) by default; sweep 1e-3..1e-2",
    "n_electrons": "Li+ + e- -> Li",
}


@dataclass(frozen=True)
class InterfacePreset:
    """Barrier height and gradient coefficient of one interface choice (SI units)."""

    W_J_per_m3: float
    kappa0_J_per_m: float
    source: str

    @property
    def delta0_um(self) -> float:
        return math.sqrt(2 * self.kappa0_J_per_m / self.W_J_per_m3) / LENGTH_SCALE_M


W_TABLE_S1 = 3.75e5
KAPPA0_TABLE_S1 = 2.5e-5
GAMMA_TABLE_S1 = math.sqrt(2 * KAPPA0_TABLE_S1 * W_TABLE_S1) / 6  # 0.72 J/m2 [derived]


def keep_gamma(delta0_m: float, gamma_J_per_m2: float = GAMMA_TABLE_S1) -> tuple[float, float]:
    """(W, kappa0) with interface energy gamma = sqrt(2 kappa0 W)/6 and half-width
    delta0 = sqrt(2 kappa0/W): W = 6 gamma/delta0, kappa0 = 3 gamma delta0 [derived]."""
    return 6 * gamma_J_per_m2 / delta0_m, 3 * gamma_J_per_m2 * delta0_m


INTERFACE_PRESETS: dict[str, InterfacePreset] = {
    "table_s1": InterfacePreset(W_TABLE_S1, KAPPA0_TABLE_S1, "[SI] as printed: delta0 = 11.5 um"),
    "s1_kappa_1e-2": InterfacePreset(W_TABLE_S1, 2.5e-7, "[assumption] kappa0 x 1e-2, "
                                                         "delta0 = 1.15 um"),
    "s1_w_delta0_0.5um": InterfacePreset(W_TABLE_S1, W_TABLE_S1 * (0.5e-6) ** 2 / 2,
                                         "[assumption] Table S1 W, kappa0 = W delta0^2/2 "
                                         "with delta0 = 0.5 um"),
    "s1_gamma_delta0_0.5um": InterfacePreset(*keep_gamma(0.5e-6),
                                             "[assumption] Table S1's interface energy "
                                             "gamma = 0.72 J/m2 kept, delta0 = 0.5 um: "
                                             "W = 6 gamma/delta0 = 8.6e6 J/m3, kappa0 = "
                                             "3 gamma delta0 = 1.1e-6 J/m"),
    "hong": InterfacePreset(6.0e6, 7.5e-7, "[lit] Hong & Viswanathan 2018 inputs (2.4 c0RT, "
                                           "0.3 c0RT um^2), delta0 = 0.5 um, gamma = 0.5 J/m2"),
}
DEFAULT_PRESET = "s1_w_delta0_0.5um"
"""Default interface: Table S1's W, L_sigma and L_eta with delta0 = 0.5 um. Reason: the literal
Table S1 kappa0 gives delta0 = 11.5 um (10-90 % width 25 um), wider than the 5.6 um PLM and the
um-scale PE filament gaps; delta0 = 0.5 um resolves a 3 um gap (6 delta0) with h = 0.2 um and
keeps every other Table S1 rate. The literal value stays available as preset 'table_s1'.

Trade-off against 's1_gamma_delta0_0.5um' (Table S1's interface energy kept, W 23x larger),
measured on a 10 x 5.6 um PEO cell at 60 C (physics-phasefield.md sec. 6; results_pf.md):
this default keeps the Li inventory to solver tolerance (1e-13) but its deposits grow as
partly transformed zones (``diffuse_width_ratio`` 1.5-2.4; study check ``mushy_zone_ratio``
139); the gamma preset grows sharp deposits (ratio 1.03-1.06) but its double well sharpens
the interface faster than Li+ arrives, c reaches its bound 0 there and the Li inventory
drifts by 1e-3-1e-2 of the total per step (``li_balance_worst_rel``)."""


@dataclass(frozen=True)
class PhaseFieldParams:
    """Physical parameters in SI units (see :data:`SOURCES` for each value's origin)."""

    L_sigma_m3_per_J_s: float = 2.5e-6
    W_J_per_m3: float = INTERFACE_PRESETS[DEFAULT_PRESET].W_J_per_m3
    kappa0_J_per_m: float = INTERFACE_PRESETS[DEFAULT_PRESET].kappa0_J_per_m
    L_eta_per_s: float = 1.0
    D_electrode_m2_per_s: float = 7.5e-13
    D_electrolyte_m2_per_s: float = 2.5e-10
    sigma_electrode_S_per_m: float = 1e7
    sigma_electrolyte_S_per_m: float = 0.93
    alpha: float = 0.5
    beta: float = 0.5
    c_s_mol_per_m3: float = 7.64e4
    molar_volume_m3_per_mol: float = 6.941e-3 / 534.0
    E_Li_Pa: float = 4.9e9
    nu_Li: float = 0.42
    anisotropy_strength: float = 0.04
    anisotropy_mode: int = 4
    anisotropy_angle_rad: float = 0.0
    sigma_contrast_max: float = 1e3
    eigenstrain: float = 0.0
    n_electrons: int = 1

    def __post_init__(self) -> None:
        for name in ("L_sigma_m3_per_J_s", "W_J_per_m3", "kappa0_J_per_m", "D_electrode_m2_per_s",
                     "D_electrolyte_m2_per_s", "sigma_electrode_S_per_m",
                     "sigma_electrolyte_S_per_m", "c_s_mol_per_m3", "molar_volume_m3_per_mol",
                     "E_Li_Pa", "sigma_contrast_max"):
            require(getattr(self, name) > 0, name, "> 0", getattr(self, name))
        require(self.L_eta_per_s >= 0, "L_eta_per_s", ">= 0", self.L_eta_per_s)
        require(0 < self.alpha < 1, "alpha", "in (0, 1)", self.alpha)
        require(0 <= self.beta <= 1, "beta", "in [0, 1]", self.beta)
        require(-1 < self.nu_Li < 0.5, "nu_Li", "in (-1, 0.5)", self.nu_Li)
        # well-posedness of the kappa-form anisotropy (physics-phasefield.md sec. 4)
        m = self.anisotropy_mode
        limit = 2.0 / (m * m - 2) if m > 1 else 1.0
        require(0 <= self.anisotropy_strength < limit, "anisotropy_strength",
                f"in [0, {limit:.4g}) (positive interface stiffness for mode {m})",
                self.anisotropy_strength)
        require(self.n_electrons >= 1, "n_electrons", ">= 1", self.n_electrons)

    # -- derived characteristic quantities (physics-phasefield.md sec. 5) --------------
    @property
    def delta0_m(self) -> float:
        """Interface half-width sqrt(2 kappa0 / W) [m]."""
        return math.sqrt(2 * self.kappa0_J_per_m / self.W_J_per_m3)

    @property
    def interface_energy_J_per_m2(self) -> float:
        """gamma = sqrt(2 kappa0 W) / 6."""
        return math.sqrt(2 * self.kappa0_J_per_m * self.W_J_per_m3) / 6

    def exchange_current_pf_A_per_m2(self) -> float:
        """Phase-field exchange current 3 n F c_s delta0 L_eta (verification.md P2)."""
        return 3 * self.n_electrons * F * self.c_s_mol_per_m3 * self.delta0_m * self.L_eta_per_s


def with_preset(params: PhaseFieldParams, preset: str) -> PhaseFieldParams:
    """``params`` with W and kappa0 from the interface preset ``preset``."""
    require(preset in INTERFACE_PRESETS, "interface_preset",
            f"one of {sorted(INTERFACE_PRESETS)}", preset)
    p = INTERFACE_PRESETS[preset]
    return dataclasses.replace(params, W_J_per_m3=p.W_J_per_m3, kappa0_J_per_m=p.kappa0_J_per_m)


def gibbs_thomson_mobility(params: PhaseFieldParams, temperature_K: float) -> float:
    """L_sigma = L_eta Omega / (R T) [m3/(J s)] [derived].

    With this mobility the curvature-driven (Allen-Cahn) velocity L_sigma kappa0 / R of a
    weakly driven interface equals the reaction velocity produced by the Gibbs-Thomson
    overpotential gamma Omega / (n F R), so capillarity has its thermodynamic size (uses
    gamma 3 delta0 = kappa0 and the linearised dB = n F eta / RT). Table S1's L_sigma is
    ~500x larger, which makes um-sized nuclei dissolve faster than 0.5 mA/cm^2 grows them.
    """
    return params.L_eta_per_s * params.molar_volume_m3_per_mol / (R * temperature_K)


@dataclass(frozen=True)
class ScaledModel:
    """Dimensionless coefficients of E1-E4 (physics-phasefield.md sec. 5, tildes dropped).

    Lengths in um, times in s, energies in E0 = c0 R T, potential in RT/(nF),
    concentration in c0, conductivity in sigma_ref. Electrolyte D and sigma are per region
    (see :class:`RegionCoefficients` in ``problem``); the values here are the electrode's.
    """

    L_sigma: float
    W: float
    kappa0: float
    L_eta: float
    D_electrode: float
    sigma_electrode: float
    alpha: float = 0.5
    beta: float = 0.5
    cs_over_c0: float = 76.4
    Lambda: float = 1.0  # source coefficient of the scaled E3
    omega_c0: float = 0.0  # Omega c0: s = Omega p / RT = omega_c0 * p_scaled
    anisotropy_strength: float = 0.0
    anisotropy_mode: int = 4
    anisotropy_angle_rad: float = 0.0
    lame_Li: tuple[float, float] = (1.0, 1.0)  # (lambda, mu) / E0
    eigenstrain: float = 0.0
    energy_scale_Pa: float = 1.0  # E0, to report stresses
    potential_scale_V: float = 1.0  # RT/(nF)
    current_scale_A_per_m2: float = 1.0  # n F c_s l0 / t0: i = scale * d/dt(int xi dA)/A
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def delta0(self) -> float:
        """Interface half-width sqrt(2 kappa0/W) [um]."""
        return math.sqrt(2 * self.kappa0 / self.W)


def scale(params: PhaseFieldParams, temperature_K: float, c0_mol_per_m3: float,
          sigma_ref_S_per_m: float) -> ScaledModel:
    """Non-dimensionalise ``params`` at ``temperature_K`` (physics-phasefield.md sec. 5)."""
    require(temperature_K > 0, "temperature_K", "> 0", temperature_K)
    require(c0_mol_per_m3 > 0, "c0_mol_per_m3", "> 0", c0_mol_per_m3)
    require(sigma_ref_S_per_m > 0, "sigma_ref_S_per_m", "> 0", sigma_ref_S_per_m)
    p, n, l0, t0 = params, params.n_electrons, LENGTH_SCALE_M, TIME_SCALE_S
    E0 = c0_mol_per_m3 * R * temperature_K
    V0 = R * temperature_K / (n * F)
    E, nu = p.E_Li_Pa, p.nu_Li
    lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    return ScaledModel(
        L_sigma=p.L_sigma_m3_per_J_s * E0 * t0,
        W=p.W_J_per_m3 / E0,
        kappa0=p.kappa0_J_per_m / (E0 * l0**2),
        L_eta=p.L_eta_per_s * t0,
        D_electrode=p.D_electrode_m2_per_s * t0 / l0**2,
        sigma_electrode=min(p.sigma_electrode_S_per_m / sigma_ref_S_per_m, p.sigma_contrast_max),
        alpha=p.alpha, beta=p.beta,
        cs_over_c0=p.c_s_mol_per_m3 / c0_mol_per_m3,
        Lambda=n * F * p.c_s_mol_per_m3 * l0**2 / (sigma_ref_S_per_m * V0 * t0),
        omega_c0=p.molar_volume_m3_per_mol * c0_mol_per_m3,
        anisotropy_strength=p.anisotropy_strength, anisotropy_mode=p.anisotropy_mode,
        anisotropy_angle_rad=p.anisotropy_angle_rad,
        lame_Li=(lam / E0, mu / E0), eigenstrain=p.eigenstrain,
        energy_scale_Pa=E0, potential_scale_V=V0,
        current_scale_A_per_m2=n * F * p.c_s_mol_per_m3 * l0 / t0,
        extras={"c0_mol_per_m3": c0_mol_per_m3, "sigma_ref_S_per_m": sigma_ref_S_per_m,
                "temperature_K": temperature_K})


def electrolyte_transport_scaled(D_m2_per_s: float, sigma_S_per_m: float,
                                 sigma_ref_S_per_m: float) -> tuple[float, float]:
    """(D, sigma) of one electrolyte region in model units (um^2/s, sigma/sigma_ref)."""
    return D_m2_per_s * TIME_SCALE_S / LENGTH_SCALE_M**2, sigma_S_per_m / sigma_ref_S_per_m


def lame_scaled(E_Pa: float, nu: float, energy_scale_Pa: float) -> tuple[float, float]:
    """Plane-strain Lame constants (lambda, mu) / E0."""
    lam, mu = E_Pa * nu / ((1 + nu) * (1 - 2 * nu)), E_Pa / (2 * (1 + nu))
    return lam / energy_scale_Pa, mu / energy_scale_Pa

