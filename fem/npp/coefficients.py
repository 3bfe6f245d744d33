"""Scaled per-region transport data and the DG0 coefficient fields built from it.

Scaling (docs/theory/npp.md sec. 1, adapted to the mesh unit): lengths in um (the mesh
coordinates), time in s, concentrations in units of ``c_ref``, potential as
psi = F phi / RT.  Diffusivities are then in um^2/s (O(1-10) for the polymers), one
scaled flux unit is ``c_ref * 1 um/s`` and the Poisson coefficient is
lambda^2 = eps0 eps_r RT / (F^2 c_ref) in um^2 (twice the squared Debye length).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fem import _stack  # noqa: F401
from dolfinx import fem as dfem

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.constants import VACUUM_PERMITTIVITY_F_PER_M as EPS0
from fem.materials import Material

UM = 1e-6  # m per um (the mesh unit)


class NPPInputError(ValueError):
    """A case the NPP module cannot represent (message names the region / field)."""


@dataclass(frozen=True)
class Scales:
    """Reference scales of the dimensionless system."""

    c_ref_mol_per_m3: float
    temperature_K: float

    @property
    def thermal_voltage_V(self) -> float:
        """RT/F [V]."""
        return R * self.temperature_K / F

    @property
    def flux_mol_per_m2_s(self) -> float:
        """One scaled flux unit (c_ref um/s) in mol m^-2 s^-1."""
        return self.c_ref_mol_per_m3 * UM

    def flux_hat(self, flux_mol_per_m2_s: float) -> float:
        """Scaled flux of a Li+ flux density [mol m^-2 s^-1]."""
        return flux_mol_per_m2_s / self.flux_mol_per_m2_s

    def current_A_per_m2(self, flux_hat: float) -> float:
        """Current density [A/m^2] carried by a scaled Li+ flux."""
        return F * flux_hat * self.flux_mol_per_m2_s

    def psi(self, volts: float) -> float:
        """Dimensionless potential F phi / RT of ``volts``."""
        return volts / self.thermal_voltage_V

    def poisson_coefficient_um2(self, eps_r: float) -> float:
        """lambda^2 = eps0 eps_r RT / (F^2 c_ref) [um^2] (= 2 lambda_D^2 of a 1:1 salt)."""
        return EPS0 * eps_r * R * self.temperature_K / (F**2 * self.c_ref_mol_per_m3) / UM**2


@dataclass(frozen=True)
class RegionTransport:
    """Scaled transport data of one tagged region at the case temperature.

    Concentrations are in units of c_ref, diffusivities in um^2/s.
    """

    region: str
    tag: int
    material: str
    D_plus_um2_per_s: float
    D_anion_um2_per_s: float
    c_plus0: float  # nominal composition c0 / c_ref
    c_anion0: float  # (1 - alpha) c0 / c_ref
    c_fixed: float  # alpha c0 / c_ref
    eps_r: float  # nan when the material gives none (only full Poisson needs it)
    sigma_S_per_m: float
    t_plus: float


def region_transport(region_materials: dict[str, Material], regions: dict[str, int],
                     temperature_K: float, c_ref_mol_per_m3: float) -> dict[str, RegionTransport]:
    """Scaled transport data of every region from its material (Arrhenius + NE split).

    Raises:
        NPPInputError: a region is missing a material, does not conduct ions, or has no
            mobile anion (t+ = 1 needs mu_a restricted to subdomains, not supported).
    """
    out = {}
    for name, tag in regions.items():
        if name not in region_materials:
            raise NPPInputError(f"region '{name}': no material given")
        mat = region_materials[name]
        if not mat.ion_conducting:
            raise NPPInputError(
                f"region '{name}': material '{mat.name}' does not conduct ions; the NPP "
                "domain must be electrolyte only (build filaments as holes)")
        tr = mat.transport(temperature_K)
        if not tr.D_anion_m2_per_s > 0:
            raise NPPInputError(f"region '{name}': t_plus = 1 (no mobile anion) is not "
                                "supported; use t_plus < 1")
        out[name] = RegionTransport(
            region=name, tag=int(tag), material=mat.name,
            D_plus_um2_per_s=tr.D_plus_m2_per_s / UM**2,
            D_anion_um2_per_s=tr.D_anion_m2_per_s / UM**2,
            c_plus0=tr.c_plus_mol_per_m3 / c_ref_mol_per_m3,
            c_anion0=tr.c_anion_mol_per_m3 / c_ref_mol_per_m3,
            c_fixed=tr.c_fixed_mol_per_m3 / c_ref_mol_per_m3,
            eps_r=math.nan if mat.relative_permittivity is None
            else float(mat.relative_permittivity), sigma_S_per_m=tr.sigma_S_per_m,
            t_plus=tr.t_plus)
    return out


def dg0_field(mesh, cell_tags, values: dict[int, float], name: str) -> dfem.Function:
    """DG0 function with ``values[tag]`` on the cells tagged ``tag`` (ghosts included).

    Raises:
        NPPInputError: some local cell carries no tag of ``values``.
    """
    Q = dfem.functionspace(mesh, ("DG", 0))
    f = dfem.Function(Q, name=name)
    f.x.array[:] = math.nan
    for tag, v in values.items():
        cells = cell_tags.find(tag)
        f.x.array[Q.dofmap.list[cells, 0]] = v
    f.x.scatter_forward()
    bad = int(np.isnan(f.x.array).sum())
    if mesh.comm.allreduce(bad) > 0:
        raise NPPInputError(f"coefficient '{name}': some cells belong to no tagged region")
    return f


def anion_reference_potential(transport: dict[str, RegionTransport],
                              volumes_um: dict[str, float]) -> float:
    """K0 = mu+ + mu_a of the rest state (docs/theory/npp.md sec. 5.5).

    At rest mu+ = 0 and mu_a = K0 uniform; each region's free anion is
    c_a = s / (c_f/2 + sqrt(c_f^2/4 + s)), s = exp(K0).  K0 makes the total free-anion
    inventory equal the nominal sum of (1 - alpha_k) c0_k V_k (Donnan-consistent rest).
    """
    target = sum(t.c_anion0 * volumes_um[n] for n, t in transport.items())

    def inventory(k: float) -> float:
        s = math.exp(k)
        return sum(s / (0.5 * t.c_fixed + math.sqrt(0.25 * t.c_fixed**2 + s)) * volumes_um[n]
                   for n, t in transport.items())

    lo, hi = -60.0, 20.0
    for _ in range(200):  # bisection: inventory is increasing in K
        mid = 0.5 * (lo + hi)
        if inventory(mid) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return 0.5 * (lo + hi)
