"""Named geometries of the seed paper's simulation domains (2D and one 3D variant).

Each preset is a function returning an explicit :class:`GeometryConfig` (no protrusion:
add ``protrusions`` in the study to break the 1D symmetry, docs/theory/npp.md sec. 10).
Every length is a module-level parameter [um] with its source or "[assumption]";
study files override any of them through the ``geometry`` table.

Sources: [SI] = supporting information of Zhang et al., "12.6 um-Thick Asymmetric
Composite Electrolyte..."; notes in docs/theory/npp.md (sec. 10) and
``physics-phasefield.md`` (sec. 8, 11).
"""

from __future__ import annotations

from collections.abc import Callable

from geometries.spec import FilamentSpec, GeometryConfig, LayerSpec, MeshSpec

# --- PEO vs PEO/MOF: 100 x 20 um^2 domain [SI] ---------------------------------------
#: Electrodes on the long sides [assumption, docs/theory/npp.md sec. 10]: the 20 um side is
#: the inter-electrode distance, the 100 um side the width.
PEO_WIDTH_UM = 100.0  # [SI] 100 x 20 um^2 domain
PEO_THICKNESS_UM = 20.0  # [SI] (with the long-sides electrode assumption)
#: Mesh: ~1-2 um suffices for c and phi away from the electrodes (physics-phasefield.md
#: sec. 11); finer towards the anode where protrusions and gradients sit [assumption].
PEO_MESH = MeshSpec(size_um=2.0, anode_size_um=0.5, refine_distance_um=5.0)

# --- PEO vs PLM: 20 x 5.6 um^2 domain [SI, "in accordance with the SEM results"] ------
SMALL_WIDTH_UM = 20.0  # [SI]
SMALL_THICKNESS_UM = 5.6  # [SI]
#: PLM layer split, MOF layer facing the Li anode [assumption, docs/theory/npp.md sec. 10].
PLM_MOF_UM = 3.0
PLM_PE_PEO_UM = 6.6
PLM_LLZO_UM = 3.0
PLM_TOTAL_UM = PLM_MOF_UM + PLM_PE_PEO_UM + PLM_LLZO_UM  # 12.6 um [SI]
#: The SI's PLM model domain is 5.6 um thick although the membrane is 12.6 um [SI]; it
#: does not say which part the 5.6 um represent.  The 5.6-um presets therefore scale the
#: three layers proportionally (factor 5.6 / 12.6), keeping the layer fractions of the
#: assumed split: MOF 1.333 | PE+PEO 2.933 | LLZO 1.333 um [assumption].  Use ``plm_12.6``
#: for the full membrane.
PLM_SCALE_5P6 = SMALL_THICKNESS_UM / PLM_TOTAL_UM
PLM_WIDTH_UM = 20.0  # [SI] domain width
SMALL_MESH = MeshSpec(size_um=0.4, anode_size_um=0.1, interface_size_um=0.2,
                      refine_distance_um=1.0)  # [assumption] thinnest layer 1.33 um

# --- PE skeleton (filaments) ------------------------------------------------------------
#: PE filament width and pitch [assumption]; the SI only says the filaments are
#: perpendicular to the anode.  With the phase-field presets' delta0 = 0.5 um the gap
#: rule (gap >= 6 delta0, physics-phasefield.md sec. 8) asks for pitch >= 3.5 um: override
#: ``pitch_um`` for phase-field runs.
PE_FILAMENT_WIDTH_UM = 0.5
PE_FILAMENT_PITCH_UM = 2.0
#: [assumption] graded from 0.1 um at the walls to 0.3 um mid-gap: ~8 cells across the
#: 1.5 um gap (physics-phasefield.md sec. 8 asks 8-10 for phase-field runs).
FILAMENT_MESH = MeshSpec(size_um=0.3, anode_size_um=0.1, interface_size_um=0.1,
                         refine_distance_um=0.6)

# --- 3D PLM variant --------------------------------------------------------------------
PLM_3D_WIDTH_UM = 10.0  # [assumption] reduced footprint to keep the 3D mesh small
PLM_3D_DEPTH_UM = 4.0  # [assumption]
PLM_3D_MESH = MeshSpec(size_um=0.8)  # [assumption] coarse


def _plm_layers(scale: float, filaments: FilamentSpec | None = None) -> list[LayerSpec]:
    """MOF layer (anode side) | PE skeleton with PEO | LLZO layer, thicknesses x scale."""
    middle = (LayerSpec("PE", PLM_PE_PEO_UM * scale, name="PE_PEO", filaments=filaments)
              if filaments else LayerSpec("PE_PEO", PLM_PE_PEO_UM * scale))
    return [LayerSpec("MOF_layer", PLM_MOF_UM * scale), middle,
            LayerSpec("LLZO_layer", PLM_LLZO_UM * scale)]


def peo_100x20() -> GeometryConfig:
    """PEO, 20 um between the electrodes, 100 um wide."""
    return GeometryConfig(layers=[LayerSpec("PEO", PEO_THICKNESS_UM)], width_um=PEO_WIDTH_UM,
                          mesh=PEO_MESH)


def peo_mof_100x20() -> GeometryConfig:
    """PEO/MOF composite, 20 um between the electrodes, 100 um wide."""
    return GeometryConfig(layers=[LayerSpec("PEO_MOF", PEO_THICKNESS_UM)],
                          width_um=PEO_WIDTH_UM, mesh=PEO_MESH)


def peo_20x5p6() -> GeometryConfig:
    """PEO, 5.6 um between the electrodes, 20 um wide (reference for PLM)."""
    return GeometryConfig(layers=[LayerSpec("PEO", SMALL_THICKNESS_UM)],
                          width_um=SMALL_WIDTH_UM, mesh=SMALL_MESH)


def plm_20x5p6() -> GeometryConfig:
    """PLM scaled to 5.6 um: MOF_layer | PE_PEO (Bruggeman) | LLZO_layer, 20 um wide."""
    return GeometryConfig(layers=_plm_layers(PLM_SCALE_5P6), width_um=PLM_WIDTH_UM,
                          mesh=SMALL_MESH)


def plm_12p6() -> GeometryConfig:
    """Full 12.6 um PLM: MOF_layer 3 | PE_PEO 6.6 | LLZO_layer 3 um, 20 um wide."""
    return GeometryConfig(layers=_plm_layers(1.0), width_um=PLM_WIDTH_UM,
                          mesh=MeshSpec(size_um=0.5, anode_size_um=0.1, interface_size_um=0.25,
                                        refine_distance_um=1.5))


def plm_filaments_20x5p6() -> GeometryConfig:
    """PLM scaled to 5.6 um with the middle layer as PE filaments (holes) filled with PEO."""
    fil = FilamentSpec(width_um=PE_FILAMENT_WIDTH_UM, pitch_um=PE_FILAMENT_PITCH_UM,
                       fill_material="PEO", as_holes=True)
    return GeometryConfig(layers=_plm_layers(PLM_SCALE_5P6, fil), width_um=PLM_WIDTH_UM,
                          mesh=FILAMENT_MESH)


def plm_3d() -> GeometryConfig:
    """3D PLM scaled to 5.6 um, 10 x 4 um footprint, coarse mesh."""
    return GeometryConfig(layers=_plm_layers(PLM_SCALE_5P6), width_um=PLM_3D_WIDTH_UM,
                          depth_um=PLM_3D_DEPTH_UM, mesh=PLM_3D_MESH)


#: Registry: preset name -> function returning its GeometryConfig.
PRESETS: dict[str, Callable[[], GeometryConfig]] = {
    "peo_100x20": peo_100x20,
    "peo_mof_100x20": peo_mof_100x20,
    "peo_20x5.6": peo_20x5p6,
    "plm_20x5.6": plm_20x5p6,
    "plm_12.6": plm_12p6,
    "plm_filaments_20x5.6": plm_filaments_20x5p6,
    "plm_3d": plm_3d,
}
