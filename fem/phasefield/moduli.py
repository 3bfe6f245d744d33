"""Elastic moduli of the phase-field materials, with sources, and PEO's temperature dependence.

PEO-LiTFSI softens by orders of magnitude as its crystallites melt near 60-65 C, so its
Young's modulus is interpolated log-linearly in T through the points of
:data:`PEO_YOUNGS_MODULUS_POINTS` (constant outside them). Every other modulus is a
constant of :data:`MODULI`. Tags: ``[SI]`` the seed paper's Table S1, ``[lit]`` literature,
``[assumption]`` a representative value to be swept. Use :func:`material_overrides` to put
the values of a temperature into a case's ``materials`` table.

Monroe-Newman scale (shear modulus G = E / (2 (1 + nu))): G_Li = 1.7 GPa, so mechanical
suppression of roughening needs G_electrolyte of order 2 G_Li = 3.5 GPa; PEO (G = 4.5 MPa
at 60 C), the polymer-bound layers and the PE separator (0.36 GPa) are far below, dense
LLZO (G = 60 GPa) far above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fem.config import require

T0_C_K = 273.15


@dataclass(frozen=True)
class Modulus:
    """Young's modulus [Pa] and Poisson ratio of one material, with the source of each."""

    youngs_modulus_Pa: float
    poisson_ratio: float
    source: str

    @property
    def shear_modulus_Pa(self) -> float:
        return self.youngs_modulus_Pa / (2 * (1 + self.poisson_ratio))


PEO_YOUNGS_MODULUS_POINTS: tuple[tuple[float, float, str], ...] = (
    (25.0, 1.0e8, "[assumption] semicrystalline PEO-LiTFSI at room temperature: tensile "
                  "moduli of order 0.1 GPa (range 1e7-3e8 Pa across salt contents)"),
    (60.0, 12.6e6, "[SI] Table S1, E of PEO 12.6 MPa (temperature not stated; taken at the "
                   "60 C operating point)"),
    (70.0, 1.0e6, "[assumption] molten (amorphous) PEO-LiTFSI above T_m ~ 65 C: moduli of "
                  "order 1e5-1e6 Pa"),
)
"""(T [C], E [Pa], source) of PEO-LiTFSI; log-linear interpolation between them."""

MODULI: dict[str, Modulus] = {
    "Li": Modulus(4.9e9, 0.42, "[SI] Table S1 E_m = 4.9 GPa; nu [assumption] 0.42"),
    "PE": Modulus(1.0e9, 0.40, "[assumption] PE separator 0.5-1 GPa (1 GPa used); nu 0.40"),
    "MOF_layer": Modulus(100e6, 0.35, "[assumption] MOF particles in a polymer binder"),
    "LLZO_layer": Modulus(150e6, 0.35, "[assumption] LLZO particles in a polymer binder; "
                                       "sweep 1e7-1e9 Pa"),
    "LLZO_dense": Modulus(150e9, 0.26, "[lit] cubic LLZO E ~ 150 GPa, nu ~ 0.26 (Ni et al., "
                                       "J. Mater. Sci. 47, 7978, 2012); optional layer"),
}
PEO_POISSON_RATIO = 0.40  # [assumption] (keep <= 0.45 against P1 locking)


def peo_youngs_modulus_Pa(temperature_K: float) -> float:
    """E of PEO-LiTFSI at ``temperature_K``: log-linear in T between the points."""
    require(temperature_K > 0, "temperature_K", "> 0 K", temperature_K)
    t = temperature_K - T0_C_K
    pts = PEO_YOUNGS_MODULUS_POINTS
    if t <= pts[0][0]:
        return pts[0][1]
    for (t1, e1, _), (t2, e2, _) in zip(pts, pts[1:]):
        if t <= t2:
            s = (t - t1) / (t2 - t1)
            return math.exp((1 - s) * math.log(e1) + s * math.log(e2))
    return pts[-1][1]


def material_overrides(temperature_K: float, names: tuple[str, ...] = ("PEO",)
                       ) -> dict[str, dict[str, float]]:
    """``materials`` table entries giving PEO (and other ``names``) E(T) (study files)."""
    E = peo_youngs_modulus_Pa(temperature_K)
    return {n: {"youngs_modulus_Pa": E, "poisson_ratio": PEO_POISSON_RATIO} for n in names}
