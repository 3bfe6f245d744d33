"""Build a layered stack with Gmsh on rank 0 and distribute it with DOLFINx.

Example::

    from geometries.builder import build_geometry
    from geometries.spec import GeometryConfig
    bundle = build_geometry(GeometryConfig(preset="plm_20x5.6"))
    dx = ufl.Measure("dx", bundle.mesh, subdomain_data=bundle.cell_tags)
    ds_anode = ufl.Measure("ds", bundle.mesh, subdomain_data=bundle.facet_tags)(
        bundle.boundary_tag("anode"))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)

import gmsh
from dolfinx import mesh as dmesh
from dolfinx.io.gmsh import model_to_mesh
from mpi4py import MPI

from fem.log import get_logger
from geometries.bundle import LayerInfo, MeshBundle
from geometries.classify import Classification, GeometryError, classify
from geometries.shapes import add_stack, layer_bounds_um
from geometries.sizing import apply_mesh_sizes
from geometries.spec import GeometryConfig, region_names

__all__ = ["GeometryError", "BuiltModel", "build_model", "build_geometry"]

log = get_logger("geometries")


@dataclass(frozen=True)
class BuiltModel:
    """What :func:`build_model` put into the gmsh model (plain data, broadcastable)."""

    gdim: int
    layers: list[LayerInfo]
    region_materials: dict[str, str]
    regions: dict[str, int]  # name -> physical tag (dim gdim)
    boundaries: dict[str, int]  # name -> physical tag (dim gdim - 1)
    num_cells: int = 0  # cells meshed by gmsh (0 before meshing)


def build_model(cfg: GeometryConfig) -> BuiltModel:
    """Create the OCC geometry and its physical groups in the current gmsh model.

    Call on one rank only, with gmsh initialized.  Filament holes are removed; every
    region, outer boundary and internal interface becomes a named physical group.
    Region tags are 1..n, facet tags follow; look them up by name.  Mesh-size fields
    are set from ``cfg.mesh`` but nothing is meshed.
    """
    cfg = cfg.resolved()
    gdim = 3 if (cfg.depth_um or 0.0) > 0 else 2
    add_stack(cfg)
    groups = classify(cfg)
    if groups.holes:
        gmsh.model.occ.remove([(gdim, t) for t in groups.holes], recursive=True)
        gmsh.model.occ.synchronize()
    regions = _add_groups(gdim, groups, groups.regions, first_tag=1)
    boundaries = _add_groups(gdim - 1, groups, groups.facets, first_tag=len(regions) + 1)
    _check_expected(cfg, groups)
    extent = max(cfg.width_um, cfg.height_um, cfg.depth_um or 0.0)
    apply_mesh_sizes(cfg.mesh, gdim, groups.anode_facets, groups.interface_facets, extent)
    names = region_names(cfg.layers)
    layers = [LayerInfo(n, layer.region_material, y0, y1)
              for n, layer, (y0, y1) in zip(names, cfg.layers, layer_bounds_um(cfg), strict=True)]
    materials = {n: groups.region_materials[n] for n in regions}
    return BuiltModel(gdim, layers, materials, regions, boundaries)


def _add_groups(dim: int, groups: Classification, entities: dict[str, list[int]],
                first_tag: int) -> dict[str, int]:
    """One physical group per name, tags numbered in stack order from ``first_tag``."""
    tags = {}
    for i, name in enumerate(groups.sorted_names(entities)):
        tags[name] = gmsh.model.addPhysicalGroup(dim, sorted(entities[name]),
                                                 tag=first_tag + i, name=name)
    return tags


def _check_expected(cfg: GeometryConfig, groups: Classification) -> None:
    names = region_names(cfg.layers)
    missing = [n for n in names if n not in groups.regions]
    outer = ["anode", "cathode", "left", "right"]
    outer += ["front", "back"] if (cfg.depth_um or 0.0) > 0 else []
    missing += [n for n in outer if n not in groups.facets]
    if missing:
        raise GeometryError(f"the built model lacks {missing}")


def _mesh_model(cfg: GeometryConfig, gdim: int) -> int:
    """Generate the mesh (and raise the order); returns the number of cells."""
    gmsh.model.mesh.generate(gdim)
    if cfg.mesh.order > 1:
        gmsh.model.mesh.setOrder(cfg.mesh.order)
    errors = [m for m in gmsh.logger.get() if m.startswith("Error")]
    if errors:
        raise GeometryError("; ".join(errors[-3:]))
    _, elems, _ = gmsh.model.mesh.getElements(gdim)
    return int(sum(len(e) for e in elems))


def gmsh_home() -> Path:
    """The HOME Gmsh starts with: ``$XDG_CACHE_HOME/csefem/gmsh-home`` (default
    ``~/.cache/...``). Gmsh's GUI toolkit (FLTK) writes its preference file under HOME at
    every start, so the user's HOME is never given to it."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "csefem" / "gmsh-home"


def _initialize_gmsh() -> None:
    """``gmsh.initialize`` with HOME and XDG_CONFIG_HOME pointing into the cache, and
    without reading the user's ``~/.gmshrc`` (meshes must not depend on it)."""
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_CONFIG_HOME")}
    home = gmsh_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # an unwritable HOME only makes FLTK skip its preference file
    os.environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    try:
        gmsh.initialize(readConfigFiles=False, interruptible=False)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _start_gmsh() -> bool:
    """Initialize gmsh quietly; returns True if this call owns the session."""
    own = not gmsh.isInitialized()
    if own:
        _initialize_gmsh()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.logger.start()
    return own


def _stop_gmsh(own: bool, model_name: str) -> None:
    for msg in gmsh.logger.get():
        if msg.startswith("Warning"):
            log.debug("gmsh: %s", msg)
    gmsh.logger.stop()
    if own:
        gmsh.finalize()
    else:
        gmsh.model.setCurrent(model_name)
        gmsh.model.remove()


def _build_on_root(cfg: GeometryConfig, model_name: str) -> tuple[BuiltModel | None, str | None]:
    try:
        gmsh.model.add(model_name)
        built = build_model(cfg)
        n = _mesh_model(cfg, built.gdim)
        return BuiltModel(built.gdim, built.layers, built.region_materials, built.regions,
                          built.boundaries, n), None
    except Exception as err:  # noqa: BLE001  (re-raised on every rank below)
        last = [m for m in gmsh.logger.get() if m.startswith("Error")][-3:]
        detail = f" (gmsh: {'; '.join(last)})" if last and str(err) not in last else ""
        return None, f"{type(err).__name__}: {err}{detail}"


def build_geometry(cfg: GeometryConfig, comm: MPI.Comm = MPI.COMM_WORLD,
                   model_name: str = "csefem_stack") -> MeshBundle:
    """Build, mesh and distribute the stack; collective on ``comm``.

    Gmsh runs on rank 0 only (one thread, no terminal output); the mesh is distributed
    by ``dolfinx.io.gmsh.model_to_mesh`` with ``GhostMode.shared_facet`` so interface
    (``dS``) integrals work in parallel.  Coordinates are in micrometres.

    Args:
        cfg: geometry (a preset name or explicit layers).
        comm: communicator of the mesh.
        model_name: gmsh model name (removed afterwards).

    Returns:
        The mesh with cell tags "material", facet tags "boundaries" and the name tables.

    Raises:
        GeometryError: on every rank, if gmsh fails to build or mesh the model.
    """
    cfg = cfg.resolved()
    built, err, own = None, None, False
    if comm.rank == 0:
        own = _start_gmsh()
        built, err = _build_on_root(cfg, model_name)
    err = comm.bcast(err, root=0)
    try:
        if err is not None:
            raise GeometryError(f"gmsh could not build the geometry: {err}")
        partitioner = dmesh.create_cell_partitioner(dmesh.GhostMode.shared_facet, 2)
        data = model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0,
                             gdim=built.gdim if comm.rank == 0 else cfg.gdim,
                             partitioner=partitioner)
    finally:
        if comm.rank == 0:
            _stop_gmsh(own, model_name)
    built = comm.bcast(built, root=0)
    return _bundle(cfg, built, data, comm)


def _bundle(cfg: GeometryConfig, built: BuiltModel, data, comm: MPI.Comm) -> MeshBundle:
    gdim = built.gdim
    groups = data.physical_groups
    regions = {n: int(g.tag) for n, g in groups.items() if g.dim == gdim}
    boundaries = {n: int(g.tag) for n, g in groups.items() if g.dim == gdim - 1}
    if regions != built.regions or boundaries != built.boundaries:
        raise GeometryError("physical groups changed between gmsh and DOLFINx")
    data.cell_tags.name = "material"
    data.facet_tags.name = "boundaries"
    msh = data.mesh
    msh.topology.create_connectivity(gdim - 1, gdim)
    n_cells = msh.topology.index_map(gdim).size_global
    if n_cells != built.num_cells:
        raise GeometryError(f"DOLFINx has {n_cells} cells, gmsh meshed {built.num_cells}")
    log.info("geometry: %dD, %d cells on %d rank(s); regions %s; boundaries %s",
             gdim, n_cells, comm.size, list(built.regions), list(built.boundaries))
    return MeshBundle(mesh=msh, cell_tags=data.cell_tags, facet_tags=data.facet_tags,
                      regions=dict(built.regions), boundaries=dict(built.boundaries),
                      region_materials=dict(built.region_materials), layers=list(built.layers),
                      width_um=cfg.width_um, height_um=cfg.height_um,
                      depth_um=cfg.depth_um or 0.0)
