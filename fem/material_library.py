"""The default parameter set: one cited entry per material (docs/theory/npp.md sec. 10,
physics-phasefield.md secs. 5 and 7). Look materials up with :func:`get_material`.

Conductivities are given as the (25 C, 60 C) pair of the notes; the apparent
activation energy through that pair is [derived], so sigma(25 C) and sigma(60 C)
are reproduced exactly.
"""

from __future__ import annotations

from dataclasses import replace

from fem.materials import (
    EV_TO_J_PER_MOL,
    T_25C_K,
    T_60C_K,
    Material,
    MaterialError,
    activation_energy_from_pair,
    bruggeman_factor,
    immobilized_fraction_equal_diffusivity,
)

S_PER_CM = 100.0  # S/m per S/cm

# Shared defaults [assumption], docs/theory/npp.md sec. 10
C0_LITFSI_PEO_MOL_PER_M3 = 1100.0  # EO:Li ~ 18
EPS_R_POLYMER = 8.0
PE_SKELETON_POROSITY = 0.4  # PE separator porosity, Bruggeman exponent 1.5 [assumption]

_SRC_C0 = "[assumption] EO:Li ~ 18 (docs/theory/npp.md sec. 10)"
_SRC_EPS = "[assumption] range 5-9 (docs/theory/npp.md sec. 10)"
_SRC_EA = "[derived] apparent Ea through sigma(25 C) and sigma(60 C)"


def _polymer_like(name: str, description: str, s25_S_per_cm: float, s60_S_per_cm: float,
                  t_plus: float, alpha: float, sources: dict[str, str],
                  E_Pa: float | None, nu: float | None, rule: str = "given") -> Material:
    s25, s60 = s25_S_per_cm * S_PER_CM, s60_S_per_cm * S_PER_CM
    base = {"c0_mol_per_m3": _SRC_C0, "relative_permittivity": _SRC_EPS,
            "activation_energy_J_per_mol": _SRC_EA, "T_ref_K": "25 C reference"}
    base.update(sources)
    return Material(
        name=name, description=description, ion_conducting=True,
        sigma_ref_S_per_m=s25, T_ref_K=T_25C_K,
        activation_energy_J_per_mol=activation_energy_from_pair(s25, T_25C_K, s60, T_60C_K),
        t_plus=t_plus, immobilized_fraction=alpha, c0_mol_per_m3=C0_LITFSI_PEO_MOL_PER_M3,
        relative_permittivity=EPS_R_POLYMER, youngs_modulus_Pa=E_Pa, poisson_ratio=nu,
        sources=base, immobilized_fraction_rule=rule,
        derived_from={"activation_energy_J_per_mol": ["sigma_ref_S_per_m"]})


def _mof_layer() -> Material:
    s25 = 3e-4 * S_PER_CM
    return Material(
        name="MOF_layer", description="Li-IL@Cu-BTC MOF layer (2 M LiTFSI in EMIMTFSI in Cu-BTC)",
        ion_conducting=True, sigma_ref_S_per_m=s25, T_ref_K=T_25C_K,
        activation_energy_J_per_mol=0.3 * EV_TO_J_PER_MOL, t_plus=0.6,
        immobilized_fraction=immobilized_fraction_equal_diffusivity(0.6),
        c0_mol_per_m3=C0_LITFSI_PEO_MOL_PER_M3, relative_permittivity=EPS_R_POLYMER,
        youngs_modulus_Pa=100e6, poisson_ratio=0.35,
        immobilized_fraction_rule="equal_diffusivity",
        sources={
            "sigma_ref_S_per_m": "[assumption] Li-IL@MOF ~1e-4 S/cm and above at 25 C (SI refs S4, S5)",
            "activation_energy_J_per_mol": "[assumption] 0.3 eV (docs/theory/npp.md sec. 10)",
            "t_plus": "[assumption] 0.6: open metal sites anchor anions (Shen et al. 2019)",
            "immobilized_fraction": "[derived] Option B alpha = (2t+ - 1)/t+ = 1/3",
            "c0_mol_per_m3": _SRC_C0, "relative_permittivity": _SRC_EPS,
            "youngs_modulus_Pa": "[assumption] MOF particles in polymer binder, not in the SI",
            "poisson_ratio": "[assumption]",
        })


def _build_library() -> dict[str, Material]:
    peo = _polymer_like(
        "PEO", "PEO-LiTFSI solid polymer electrolyte", 5e-6, 3e-4, 0.2, 0.0,
        {"sigma_ref_S_per_m": "[assumption] semicrystalline PEO-LiTFSI 1e-6..1e-5 S/cm at 25 C "
                              "(Lascaud et al. 1994); 3e-4 S/cm at 60 C (lit. 1-5e-4)",
         "t_plus": "[assumption] Bruce-Vincent 0.1-0.3 (Gorecki et al. 1995; Edman et al. 2000)",
         "immobilized_fraction": "[assumption] no immobilised anions in plain PEO",
         "youngs_modulus_Pa": "[SI] Table S1, E of PEO 12.6 MPa",
         "poisson_ratio": "[assumption] 0.40 (physics-phasefield.md sec. 7)"},
        12.6e6, 0.40)
    peo_mof = _polymer_like(
        "PEO_MOF", "PEO with Li-IL-filled Cu-BTC MOF filler (anions anchored at open metal sites)",
        3e-5, 5e-4, 0.6, immobilized_fraction_equal_diffusivity(0.6),
        {"sigma_ref_S_per_m": "[assumption] 3e-5 S/cm at 25 C, 5e-4 S/cm at 60 C",
         "t_plus": "[assumption] 0.6 (Shen et al. 2019: open metal sites double t+)",
         "immobilized_fraction": "[derived] Option B alpha = (2t+ - 1)/t+ = 1/3 (SI wording)",
         "youngs_modulus_Pa": "[assumption] filled PEO, taken as PEO's 12.6 MPa",
         "poisson_ratio": "[assumption] 0.40"},
        12.6e6, 0.40, rule="equal_diffusivity")
    llzo = _polymer_like(
        "LLZO_layer", "LLZO particle layer bound by polymer (PLM's Li-facing-away side)",
        1e-5, 3e-4, 0.4, 0.0,
        {"sigma_ref_S_per_m": "[assumption] 1e-5 S/cm at 25 C, 3e-4 S/cm at 60 C; undoped LLZO "
                              "sintered at 900 C may be partly tetragonal",
         "t_plus": "[assumption] 0.4 (particles in polymer, not dense LLZO with t+ = 1)",
         "immobilized_fraction": "[assumption] 0",
         "youngs_modulus_Pa": "[assumption] particle-filled polymer, not in the SI",
         "poisson_ratio": "[assumption]"},
        150e6, 0.35)
    pe_peo = _polymer_like(
        "PE_PEO", "PE separator skeleton filled with PEO, as one effective layer",
        5e-6 * bruggeman_factor(PE_SKELETON_POROSITY), 3e-4 * bruggeman_factor(PE_SKELETON_POROSITY),
        0.2, 0.0,
        {"sigma_ref_S_per_m": "[assumption] Bruggeman sigma_eff = eps^1.5 sigma_PEO, eps = 0.4",
         "t_plus": "[assumption] t+ of the PEO filling",
         "immobilized_fraction": "[assumption] 0",
         "youngs_modulus_Pa": "[assumption] PE skeleton dominates stiffness",
         "poisson_ratio": "[assumption]"},
        1.0e9, 0.40)
    pe_peo = replace(pe_peo, derived_from={  # the filling's values, as the library's PEO
        **pe_peo.derived_from, "sigma_ref_S_per_m": ["PEO.sigma_ref_S_per_m"],
        "activation_energy_J_per_mol": ["sigma_ref_S_per_m", "PEO.sigma_ref_S_per_m",
                                        "PEO.activation_energy_J_per_mol", "PEO.T_ref_K"],
        "t_plus": ["PEO.t_plus"]})
    pe = Material(
        name="PE", description="Polyethylene separator filaments (ion- and electron-insulating)",
        ion_conducting=False, youngs_modulus_Pa=1.0e9, poisson_ratio=0.40,
        sources={"youngs_modulus_Pa": "[assumption] E_PE ~ 1 GPa (physics-phasefield.md sec. 7)",
                 "poisson_ratio": "[assumption]",
                 "ion_conducting": "[SI] PE is the inert skeleton"})
    li = Material(
        name="Li", description="Lithium metal", ion_conducting=False,
        electronic_conductivity_S_per_m=1.0e7, youngs_modulus_Pa=4.9e9, poisson_ratio=0.42,
        sources={"electronic_conductivity_S_per_m": "[SI] Table S1, sigma_e = 1e7 S/m",
                 "youngs_modulus_Pa": "[SI] Table S1, E_m = 4.9 GPa",
                 "poisson_ratio": "[assumption] 0.42 (physics-phasefield.md sec. 7)"})
    mats = [peo, peo_mof, llzo, _mof_layer(), pe_peo, pe, li]
    return {m.name: m for m in mats}


MATERIALS: dict[str, Material] = _build_library()


def material_names() -> list[str]:
    """Names of the registered materials."""
    return sorted(MATERIALS)


def get_material(name: str, overrides: dict[str, object] | None = None) -> Material:
    """The registered material ``name``, with optional field overrides."""
    if name not in MATERIALS:
        raise MaterialError(f"unknown material '{name}', expected one of {material_names()} "
                            "(define new ones with fem.material_defs.define_material)")
    mat = MATERIALS[name]
    return mat.with_overrides(**overrides) if overrides else mat
