"""Physics types of a study: name -> (config dataclass, run callable, optional check).

Entries are dotted ``module:attribute`` names imported lazily, so a physics module that
is missing or broken only affects the studies that use it.

Contracts:
    ``run(case, bundle, out, comm) -> dict[str, float | str | list]``: metrics, identical
    on all ranks of ``comm`` (the case's group communicator); ``out`` is a
    :class:`fem.output.CaseOutput` in the case's (staging) directory.
    ``check(case, bundle_or_None) -> list[studies.diagnostics.Diagnostic]`` (plain dicts
    with keys name/value/unit/level/message are accepted too).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fem.config import ConfigError


@dataclass(frozen=True)
class PhysicsType:
    """One physics type: where its config dataclass, run and check callables live."""

    name: str
    config: str
    run: str
    check: str | None = None
    description: str = ""

    def config_class(self) -> type:
        """The config dataclass (imports its module)."""
        return load_attr(self.config, self.name)

    def run_callable(self) -> Callable[..., dict[str, Any]]:
        """The run callable (imports its module)."""
        return load_attr(self.run, self.name)

    def check_callable(self) -> Callable[..., list[Any]] | None:
        """The check callable, or None if the type has none."""
        return load_attr(self.check, self.name) if self.check else None


def load_attr(spec: str, type_name: str = "") -> Any:
    """Import ``module:attribute``; failures become a ConfigError naming the type."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError("type", f"an available physics type ('{type_name}' needs {spec}: "
                          f"{type(err).__name__}: {err})", type_name) from None


@dataclass(frozen=True)
class MeshConfig:
    """Physics section of the built-in "mesh" type (mesh only, no solve).

    Attributes:
        write_xdmf: write ``mesh.xdmf`` with the named cell and facet tags.
    """

    write_xdmf: bool = True


def run_mesh(case: Any, bundle: Any, out: Any, comm: Any) -> dict[str, Any]:
    """Built-in "mesh" type: write the mesh (XDMF + tags) and return its statistics."""
    from geometries.io import mesh_stats

    if getattr(case.physics, "write_xdmf", True):
        out.write_mesh()
    stats = mesh_stats(bundle)
    return _flat_metrics(stats)


def _flat_metrics(stats: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested stats dicts into ``a.b`` keys (numbers, strings and lists kept)."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_metrics(value, f"{name}."))
        else:
            out[name] = value
    return out


TYPES: dict[str, PhysicsType] = {
    "npp": PhysicsType("npp", "fem.npp.study:Config", "fem.npp.study:run",
                       "fem.npp.study:check", "Nernst-Planck(-Poisson) transport"),
    "phasefield": PhysicsType("phasefield", "fem.phasefield.study:Config",
                              "fem.phasefield.study:run", "fem.phasefield.study:check",
                              "mechano-electrochemical phase-field Li deposition"),
    "conductivity": PhysicsType("conductivity", "fem.npp.measure:ConductivityConfig",
                                "fem.npp.measure:run_conductivity", None,
                                "virtual conductivity / Arrhenius measurement (SI eqs. S1-S2)"),
    "bruce_vincent": PhysicsType("bruce_vincent", "fem.npp.measure:BruceVincentConfig",
                                 "fem.npp.measure:run_bruce_vincent", None,
                                 "virtual Bruce-Vincent transference number (SI eq. S3)"),
    "impedance": PhysicsType("impedance", "fem.npp.impedance_study:ImpedanceConfig",
                             "fem.npp.impedance_study:run_impedance",
                             "fem.npp.impedance_checks:check",
                             "virtual impedance spectroscopy (Nyquist, sigma, R_ct, Warburg)"),
    "mesh": PhysicsType("mesh", "studies.registry:MeshConfig", "studies.registry:run_mesh",
                        None, "mesh only: mesh.xdmf and mesh statistics"),
}


def get_type(name: str) -> PhysicsType:
    """The registered type ``name`` or a ConfigError listing the known ones."""
    if name not in TYPES:
        raise ConfigError("type", f"one of {', '.join(sorted(TYPES))}", name)
    return TYPES[name]
