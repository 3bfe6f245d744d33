"""Initial state: a Li anode layer with semicircular nuclei, seeded interface noise, c = c_res,
and phi from E3 with xi frozen (physics-phasefield.md sec. 9).

The noise is a deterministic function of the coordinates (a seeded sum of plane waves), never
of the rank or the dof numbering, and is multiplied by 16 xi^2 (1 - xi)^2 so it lives on the
interface only and keeps xi in [0, 1] for amplitudes <= 0.4.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import ufl

from fem import _stack  # noqa: F401
from dolfinx import fem
from dolfinx.fem.petsc import NonlinearProblem
from fem.config import require
from fem.phasefield import forms
from fem.phasefield.domain import growth_coordinate
from fem.phasefield.problem import C, PHI, XI, PhaseFieldProblem, _insulating
from fem.solvers import snes_result


@dataclass(frozen=True)
class Nucleus:
    """A semicircular (2D) / hemispherical (3D) Li nucleus on the anode layer."""

    x_um: float
    radius_um: float

    def __post_init__(self) -> None:
        require(self.radius_um > 0, "radius_um", "> 0", self.radius_um)


@dataclass(frozen=True)
class RandomNuclei:
    """Nuclei at seeded random positions along the anode (added to the listed ones).

    ``count`` nuclei with radii uniform in [radius_min_um, radius_max_um] and centres
    uniform over the anode width, at least ``gap_um`` apart (edge to edge) and one radius
    from the side walls; drawn from ``InitialConfig.seed`` (identical on all ranks).
    """

    count: int = 0
    radius_min_um: float = 0.4
    radius_max_um: float = 0.8
    gap_um: float = 0.5

    def __post_init__(self) -> None:
        require(self.count >= 0, "count", ">= 0", self.count)
        require(0 < self.radius_min_um <= self.radius_max_um, "radius_min_um",
                f"in (0, radius_max_um = {self.radius_max_um}]", self.radius_min_um)
        require(self.gap_um >= 0, "gap_um", ">= 0", self.gap_um)

    def draw(self, seed: int, width_um: float) -> list[Nucleus]:
        """The nuclei of ``seed`` on an anode of ``width_um`` (ValueError if they do not fit)."""
        rng = np.random.default_rng([seed, 1])  # stream 1: independent of the noise
        out: list[Nucleus] = []
        for _ in range(self.count):
            for _try in range(10000):
                r = rng.uniform(self.radius_min_um, self.radius_max_um)
                x = rng.uniform(r, width_um - r) if width_um > 2 * r else width_um / 2
                if all(abs(x - n.x_um) >= r + n.radius_um + self.gap_um for n in out):
                    out.append(Nucleus(float(x), float(r)))
                    break
            else:
                raise ValueError(f"{self.count} nuclei do not fit on a {width_um:g} um anode "
                                 f"with gap_um = {self.gap_um:g}")
        return out


@dataclass(frozen=True)
class InitialConfig:
    """Initial Li layer, nuclei and noise.

    ``seed`` (the sweep dimension of a seeded study, e.g. ``physics.initial.seed =
    [1, 2, 3, 4, 5]``) draws the random nuclei and, when set, replaces ``noise_seed``.
    """

    layer_thickness_um: float = 1.0
    nuclei: list[Nucleus] = field(default_factory=list)
    noise_amplitude: float = 0.0  # [assumption] <= 0.04 (Hong's inputs use 0.04)
    noise_seed: int = 0
    noise_modes: int = 16
    width_factor: float = 1.0  # initial tanh half-width in units of delta0
    seed: int | None = None
    random_nuclei: RandomNuclei = field(default_factory=RandomNuclei)

    def __post_init__(self) -> None:
        require(self.seed is None or self.seed >= 0, "seed", "an integer >= 0", self.seed)
        require(self.random_nuclei.count == 0 or self.seed is not None, "seed",
                "an integer >= 0 (random_nuclei needs a seed)", self.seed)
        require(self.layer_thickness_um >= 0, "layer_thickness_um", ">= 0",
                self.layer_thickness_um)
        require(0 <= self.noise_amplitude <= 0.4, "noise_amplitude", "in [0, 0.4]",
                self.noise_amplitude)
        require(self.width_factor > 0, "width_factor", "> 0", self.width_factor)


def tanh_profile(distance: np.ndarray, width: float) -> np.ndarray:
    """1/2 [1 - tanh(d / width)]: 1 inside (d < 0), 0 outside."""
    return 0.5 * (1.0 - np.tanh(distance / width))


def anode_field(x: np.ndarray, gdim: int, cfg: InitialConfig, delta0: float) -> np.ndarray:
    """xi0(x): the union (max) of the layer and the nuclei profiles, before noise."""
    w = cfg.width_factor * delta0
    y = growth_coordinate(x, gdim)
    xi = tanh_profile(y - cfg.layer_thickness_um, w)
    for nuc in cfg.nuclei:
        if gdim == 1:
            d = y - cfg.layer_thickness_um - nuc.radius_um
        else:
            r2 = (x[0] - nuc.x_um) ** 2 + (y - cfg.layer_thickness_um) ** 2
            if gdim == 3:
                r2 = r2 + x[2] ** 2
            d = np.sqrt(r2) - nuc.radius_um
        xi = np.maximum(xi, tanh_profile(d, w))
    return xi


def seeded_noise(x: np.ndarray, gdim: int, seed: int, modes: int, wavelength: float
                 ) -> np.ndarray:
    """A smooth pseudo-random field in (-1, 1), a function of the coordinates and the seed."""
    rng = np.random.default_rng(seed)
    total = np.zeros(x.shape[1])
    for _ in range(modes):
        direction = rng.normal(size=gdim)
        direction /= np.linalg.norm(direction) or 1.0
        k = 2 * np.pi / (wavelength * rng.uniform(1.0, 4.0))
        total += np.sin(k * (direction @ x[:gdim]) + rng.uniform(0, 2 * np.pi))
    return np.tanh(total / np.sqrt(max(modes, 1)))


def initial_xi(x: np.ndarray, gdim: int, cfg: InitialConfig, delta0: float) -> np.ndarray:
    """xi0 with noise restricted to the interface."""
    xi = anode_field(x, gdim, cfg, delta0)
    if cfg.noise_amplitude > 0:
        n = seeded_noise(x, gdim, cfg.noise_seed, cfg.noise_modes, 2 * delta0)
        xi = xi + cfg.noise_amplitude * n * 16 * xi**2 * (1 - xi) ** 2
    return xi


def resolved(cfg: InitialConfig, width_um: float) -> InitialConfig:
    """``cfg`` with its random nuclei drawn (on an anode ``width_um`` wide) and added to the
    listed ones, and ``noise_seed`` = ``seed`` when a seed is set."""
    if cfg.seed is None:
        return cfg
    drawn = cfg.random_nuclei.draw(cfg.seed, width_um)
    return dataclasses.replace(cfg, nuclei=[*cfg.nuclei, *drawn], noise_seed=cfg.seed,
                               random_nuclei=RandomNuclei())


def initialise(problem: PhaseFieldProblem, cfg: InitialConfig, c_init: float = 1.0,
               solve_potential: bool = True) -> None:
    """Set xi0, c = c_init and phi (from E3 with xi frozen) in ``w`` and ``w_n``."""
    cfg = resolved(cfg, problem.bundle.width_um)
    gdim = problem.msh.geometry.dim
    delta0 = problem.model.delta0
    for field_id, fn in ((XI, lambda x: initial_xi(x, gdim, cfg, delta0)),
                         (C, lambda x: np.full(x.shape[1], c_init)),
                         (PHI, lambda x: np.zeros(x.shape[1]))):
        V, dofs = problem.spaces[field_id]
        f = fem.Function(V)
        f.interpolate(fn)
        problem.w.x.array[dofs] = f.x.array
    problem.impose_dirichlet()
    if solve_potential:
        problem.w.x.array[problem.spaces[PHI][1]] = initial_potential(problem).x.array
    problem.w_n.x.array[:] = problem.w.x.array
    problem.xi_initial.x.array[:] = problem.w.x.array[problem.spaces[XI][1]]
    problem.update_mechanics()


def initial_potential(problem: PhaseFieldProblem) -> fem.Function:
    """phi solving div(sigma(xi0) grad phi) = 0 with the electrode BCs (xi frozen)."""
    V, _ = problem.spaces[PHI]
    xi = problem.sub_function(XI)
    phi = fem.Function(V, name="phi0")
    q = ufl.TestFunction(V)
    m, k = problem.model, problem.coeffs
    sigma = forms.interpolate(xi, m.sigma_electrode, k.sigma_electrolyte) * _insulating(k.mask)
    F = ufl.inner(sigma * ufl.grad(phi), ufl.grad(q)) * problem.dx
    fdim = problem.msh.topology.dim - 1
    bcs = []
    for name, value in (("anode", float(problem.phi_app.value)),
                        ("cathode", problem.boundary_options.phi_cathode)):
        facets = problem.bundle.facet_tags.find(problem.bundle.boundary_tag(name))
        g = fem.Function(V)
        g.x.array[:] = value
        bcs.append(fem.dirichletbc(g, fem.locate_dofs_topological(V, fdim, facets)))
    opts = {k: v for k, v in problem.options.items() if not k.startswith("snes_")}
    opts["snes_type"] = "ksponly"
    solver = NonlinearProblem(F, phi, bcs=bcs, petsc_options_prefix=problem.prefix + "phi0_",
                              petsc_options=opts)
    solver.solve()
    ok, _, reason = snes_result(solver)
    if not ok:
        raise RuntimeError(f"initial potential solve failed (SNES reason {reason})")
    return phi
