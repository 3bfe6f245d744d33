"""NPP against closed forms and semi-analytic references (docs/theory/npp.md sec. 7.1, 7.2,
7.4, 7.5, 7.7).

1D interval meshes (200-400 P1 cells), electroneutral mu-form.  References come from
:mod:`fem.electrochem` (closed forms) and :mod:`fem.npp.reference` (independent SciPy
ODE solve), never from the finite-element code itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem import electrochem as ec
from fem.case import Conditions
from fem.material_library import get_material
from fem.npp.build import (
    OverLimitingError,
    build_problem,
    check_steady_feasible,
    solver_options,
)
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.meshes import stack_bundle
from fem.npp.postprocess import Postprocessor
from fem.npp.problem import Drive, NPPProblem
from fem.npp.reference import Layer1D, binary_transient, steady_stack
from fem.npp.solve import run_transient, solve_steady
from fem.timestepping import TimeStepConfig

T60 = 333.15
UM = 1e-6


def peo_problem(i_A_per_m2: float, cells: int = 200, degree: int = 1):
    bundle = stack_bundle([("PEO", 20.0)], cells)
    mats = {n: get_material(m) for n, m in bundle.region_materials.items()}
    cond = Conditions(temperature_C=60.0, current_density_mA_per_cm2=i_A_per_m2 / 10.0)
    problem = build_problem(bundle, mats, cond, Config(degree=degree))
    return problem, mats["PEO"].transport(T60)


def scaled_problem(layers: list[tuple[float, float, float, float]], flux_hat: float,
                   cells: int | list[int], mode: str = "galvanostatic") -> NPPProblem:
    """Synthetic stack: (thickness [um], D+ [um^2/s], D_a, c_f / c_ref) per layer, c_ref = 1."""
    bundle = stack_bundle([(f"L{k}", la[0]) for k, la in enumerate(layers)], cells)
    scales = Scales(1.0, 300.0)
    tr = {f"L{k}": RegionTransport(f"L{k}", k + 1, f"L{k}", la[1], la[2], 1.0, 1.0 - la[3],
                                   la[3], 8.0, 1.0, 0.5) for k, la in enumerate(layers)}
    drive = Drive(mode, flux_hat * scales.flux_mol_per_m2_s)
    return NPPProblem(bundle, tr, scales, drive, Config(), solver_options())


def nodal(problem: NPPProblem, post: Postprocessor, name: str):
    """(y, values) of a DG output field at its dofs, gathered and sorted by (y, region tag):
    at an interface both one-sided values appear, the anode-side layer first."""
    f = post.update_functions()[name]
    V = f.function_space
    y = V.tabulate_dof_coordinates()[:, 0]
    tag = np.zeros(y.size)
    ct = problem.bundle.cell_tags
    tag[V.dofmap.list[ct.indices].ravel()] = np.repeat(ct.values, V.dofmap.list.shape[1])
    n = V.dofmap.index_map.size_local
    ys, ts, vs = (np.concatenate(problem.comm.allgather(a[:n])) for a in (y, tag, f.x.array))
    order = np.lexsort((ts, ys))
    return ys[order], vs[order]


@pytest.mark.parametrize("degree", [1, 2])
def test_n1_binary_profile_and_voltage(degree):
    """N1: PEO, 60 C, 0.2 mA/cm^2, 20 um: c(y) linear, V = 6.674 mV, both to 1e-4."""
    i = 2.0
    problem, tr = peo_problem(i, cells=200 if degree == 1 else 100, degree=degree)
    assert check_steady_feasible(problem) == pytest.approx(i / 34.45, rel=1e-3)
    solve_steady(problem)
    post = Postprocessor(problem)
    y, c = nodal(problem, post, "c_Li")
    ref = np.array(ec.binary_steady_profile((20.0 - y) * UM, i, tr.D_plus_m2_per_s, 1100.0,
                                            20 * UM))
    assert np.max(np.abs(c - ref) / ref) < 1e-4
    m = post.metrics()
    V = ec.binary_steady_voltage_V(i, tr.D_plus_m2_per_s, 1100.0, 20 * UM, T60)
    assert V == pytest.approx(6.674e-3, rel=1e-3)
    assert m["cell_voltage_V"] == pytest.approx(V, rel=1e-4)
    assert m["electrolyte_potential_drop_V"] == pytest.approx(V / 2, rel=1e-4)
    assert m["current_density_mA_per_cm2"] == pytest.approx(0.2, rel=1e-8)
    assert m["c_Li_anode_min_mol_per_m3"] == pytest.approx(1100 * 0.941945, rel=1e-5)
    assert m["li_flux_cv_anode"] < 1e-12


def test_n2_limiting_current_and_refusal():
    """N2: at 0.99 i_lim the anode concentration is 0.01 c0; at >= i_lim steady is refused."""
    _, tr = peo_problem(1.0)
    i_lim = ec.limiting_current_A_per_m2(tr.D_plus_m2_per_s, 1100.0, 20 * UM)
    assert i_lim / 10 == pytest.approx(3.445, rel=1e-3)
    problem, _ = peo_problem(0.99 * i_lim, cells=400)
    solve_steady(problem)
    post = Postprocessor(problem)
    c_min, c_max = post.anode_c_li_range()
    assert c_min / 1100.0 == pytest.approx(0.01, rel=2e-3)  # c0 (1 - i/i_lim)
    # 1D: the anode is one node, so the metric's max is the same closed form
    assert post.metrics()["c_Li_anode_max_mol_per_m3"] / 1100.0 == pytest.approx(0.01, rel=2e-3)
    over, _ = peo_problem(1.01 * i_lim)
    with pytest.raises(OverLimitingError, match="limiting current"):
        check_steady_feasible(over)


@pytest.mark.parametrize("N,cf,table", [
    (0.5, 0.0, (1.125000, 0.875000, 1.125000, 0.875000, 0.502629)),
    (0.5, 0.3, (1.103730, 0.898064, 0.803730, 0.598064, 0.501773)),
    (2.0, 0.3, (1.420199, 0.611958, 1.120199, 0.311958, 2.120282)),
    (1.0, 1 / 3, (1.203130, 0.805095, 0.869797, 0.471762, 1.013508)),
])
def test_n5_three_species_table(N, cf, table):
    """N5: immobilised anions, 400 cells: c+(source), c+(plating), c_a, FV/RT to 1e-4."""
    problem = scaled_problem([(1.0, 1.0, 3.0, cf)], N, 400)
    solve_steady(problem)
    post = Postprocessor(problem)
    y, cp = nodal(problem, post, "c_Li")
    _, ca = nodal(problem, post, "c_anion")
    got = (cp[-1], cp[0], ca[-1], ca[0], post.metrics()["cell_voltage_V"]
           / problem.scales.thermal_voltage_V)
    np.testing.assert_allclose(got, table, rtol=1e-4, atol=0)
    ref = steady_stack([Layer1D(1.0, 1.0, cf, 1.0 - cf)], N, [0.0, 1.0])
    np.testing.assert_allclose((ref.c_plus[-1], ref.c_plus[0], ref.voltage),
                               (table[0], table[1], table[4]), rtol=2e-6)


def test_n7_stack_profile_donnan_and_series():
    """N7: three layers (binary | binary | c_f = 1/3): profile with Donnan jumps vs the ODE."""
    layers = [(3.0, 1.0, 2.0, 0.0), (6.6, 0.3, 1.2, 0.0), (3.0, 2.0, 2.0, 1 / 3)]
    N = 0.02
    problem = scaled_problem(layers, N, [100, 200, 100])
    # rest state: Donnan equilibrium across the binary | fixed-anion interface
    post = Postprocessor(problem)
    y, cp = nodal(problem, post, "c_Li")
    _, ca = nodal(problem, post, "c_anion")
    _, psi = nodal(problem, post, "phi")
    left, right = np.flatnonzero(np.isclose(y, 9.6))[[0, -1]]
    d = ec.donnan_equilibrium(cp[left], ca[left], 1 / 3)
    assert cp[right] == pytest.approx(d.c_plus2, rel=1e-10)
    vt = problem.scales.thermal_voltage_V
    assert (psi[right] - psi[left]) / vt == pytest.approx(d.psi_jump, rel=1e-8)
    solve_steady(problem)
    y, cp = nodal(problem, post, "c_Li")
    _, ca = nodal(problem, post, "c_anion")
    y_side = y.copy()
    y_side[np.flatnonzero(np.diff(y) == 0)] -= 1e-12  # interface dof of the anode-side layer
    ref = steady_stack([Layer1D(la[0], la[1], la[3], 1 - la[3]) for la in layers], N, y_side)
    np.testing.assert_allclose(cp, ref.c_plus, rtol=1e-4)
    np.testing.assert_allclose(ca, ref.c_anion, rtol=1e-4)
    m = post.metrics()
    assert m["cell_voltage_V"] / vt == pytest.approx(ref.voltage, rel=1e-4)
    bal = post.li_balance()
    assert abs(bal["li_balance_rel"]) < 1e-8
    assert bal["li_flux_out_mol_per_m2_s"] == pytest.approx(bal["li_flux_in_mol_per_m2_s"],
                                                             rel=1e-8)


def test_n4_transient_series_and_inventory():
    """N4: galvanostatic binary transient (BDF2) vs the Fourier series; Li conservation."""
    L, Dp, Da = 1.0, 1.0, 3.0
    N = 0.5
    problem = scaled_problem([(L, Dp, Da, 0.0)], N, 400)
    post = Postprocessor(problem)
    Ds = ec.salt_diffusivity(Dp, Da)
    tau = L**2 / Ds
    times = [0.01 * tau, 0.1 * tau, 1.0 * tau]
    anion0 = post.inventories()["anion_inventory_mol_per_m2"]
    worst = {"balance": 0.0, "anion": 0.0}
    found = {}

    def on_step(t, dt, its):
        bal = post.li_balance()
        worst["balance"] = max(worst["balance"], abs(bal["li_balance_rel"]))
        inv = post.inventories()["anion_inventory_mol_per_m2"]
        worst["anion"] = max(worst["anion"], abs(inv / anion0 - 1))
        for tm in times:
            if math.isclose(t, tm, rel_tol=1e-12):
                y, c = nodal(problem, post, "c_Li")
                found[tm] = (c[0], c[-1])
        return None

    # BDF2, dt <= 5e-3 L^2/D_s (measured: deviation error 1.2e-3 at 0.01 tau, 3e-4 at 0.1 tau)
    cfg = TimeStepConfig(dt_initial=1e-6 * tau, dt_max=5e-3 * tau, growth_factor=1.2)
    stats = run_transient(problem, times[-1], cfg, milestones=times, bdf2=True,
                          on_step=on_step)
    assert stats.stop_reason == "completed"
    g = (1 - Dp / (Dp + Da)) * N  # salt flux (1 - t+) N
    for tm in times:
        ref = 1.0 + binary_transient(np.array([0.0, L]), tm, L, Ds, g)
        assert found[tm][0] == pytest.approx(ref[0], rel=1e-3)
        assert found[tm][1] == pytest.approx(ref[1], rel=1e-3)
        dev = np.array(found[tm]) - 1.0
        np.testing.assert_allclose(dev, ref - 1.0, rtol=3e-3)
    assert worst["balance"] < 1e-8
    assert worst["anion"] < 1e-11


def test_poisson_converges_to_electroneutral():
    """Full Poisson with an inflated eps_r approaches EN as delta halves
    (docs/theory/npp.md sec. 6.4)."""
    layers = [(1.0, 1.0, 2.0, 0.0)]
    en = scaled_problem(layers, 0.5, 200)
    solve_steady(en)
    v_en = Postprocessor(en).metrics()["cell_voltage_V"]
    diffs = []
    for lam2 in (1e-3, 2.5e-4):
        bundle = stack_bundle([("L0", 1.0)], 400)
        scales = Scales(1.0, 300.0)
        eps_r = lam2 / scales.poisson_coefficient_um2(1.0)
        tr = {"L0": RegionTransport("L0", 1, "L0", 1.0, 2.0, 1.0, 1.0, 0.0, eps_r, 1.0, 0.5)}
        p = NPPProblem(bundle, tr, scales, Drive("galvanostatic", 0.5 * scales.flux_mol_per_m2_s),
                       Config(formulation="poisson"), solver_options())
        solve_steady(p)
        diffs.append(abs(Postprocessor(p).metrics()["cell_voltage_V"] / v_en - 1))
    assert diffs[1] < 0.75 * diffs[0]
    assert diffs[1] < 1e-2


def test_b3_si_literal_is_diffusion_limited():
    """B3 (SI-literal, full Poisson): with phi pinned to 0.01 V the bulk field is ~0, so the
    Li+ flux is carried by diffusion alone and c+ at the anode hits 0 near the pure-diffusion
    Sand time pi D+ c0^2 / (4 J^2) (not the ambipolar one) -- one reason it is non-physical."""
    from fem.npp.solve import equilibrate

    bundle = stack_bundle([("PEO", 5.6)], 200)
    mats = {"PEO": get_material("PEO")}
    cond = Conditions(temperature_C=60.0, li_flux_mol_per_m2_s=0.01, end_time_s=0.1)
    cfg = Config(formulation="poisson", mode="transient", si_literal=True,
                 permittivity_scale=8e6, permittivity_continuation=[8e8, 8e7])
    problem = build_problem(bundle, mats, cond, cfg)
    post = Postprocessor(problem)
    equilibrate(problem)
    worst = [0.0]

    def on_step(t, dt, its):
        worst[0] = max(worst[0], abs(post.li_balance()["li_balance_rel"]))
        return "depleted" if post.min_c_plus() < 1e-3 else None

    stats = run_transient(problem, 0.1, TimeStepConfig(dt_initial=1e-7, dt_max=1e-3,
                                                      growth_factor=1.3), on_step=on_step)
    D_plus = mats["PEO"].transport(T60).D_plus_m2_per_s
    t_diffusion = math.pi * D_plus * 1100.0**2 / (4 * 0.01**2)
    assert stats.stop_reason == "depleted"
    assert stats.t_end_s == pytest.approx(t_diffusion, rel=0.1)
    assert worst[0] < 1e-8
    assert Postprocessor(problem).metrics()["cell_voltage_V"] == pytest.approx(0.01)


@pytest.mark.parametrize("degree,q_high", [(1, 8), (2, 10)])
def test_fixed_quadrature_degree_is_sufficient(degree, q_high):
    """docs/theory/npp.md sec. 8.5: the fixed degree (2 for P1, 6 for P2) on the exp/sqrt terms
    gives the same cell voltage as a much higher one (N5 row N = 1, c_f = 1/3)."""
    volts = []
    for q in (None, q_high):
        bundle = stack_bundle([("L0", 1.0)], 100)
        scales = Scales(1.0, 300.0)
        tr = {"L0": RegionTransport("L0", 1, "L0", 1.0, 3.0, 1.0, 2 / 3, 1 / 3, 8.0, 1.0, 0.5)}
        problem = NPPProblem(bundle, tr, scales,
                             Drive("galvanostatic", 1.0 * scales.flux_mol_per_m2_s),
                             Config(degree=degree, quadrature_degree=q), solver_options())
        solve_steady(problem)
        volts.append(Postprocessor(problem).metrics()["cell_voltage_V"])
    assert volts[1] == pytest.approx(volts[0], rel=1e-8)
    assert volts[0] / problem.scales.thermal_voltage_V == pytest.approx(1.013508, rel=1e-4)


def test_iterative_fieldsplit_matches_direct():
    """GMRES + fieldsplit (one GAMG per field; the splits are set from the mixed space,
    the preconditioner lagged over Newton iterations) reproduces the MUMPS solution of a
    2D two-layer stack, serially and in parallel; it is what the named preset "iterative"
    selects."""
    from petsc4py import PETSc

    from fem.case import SolverConfig
    from fem.npp.build import NPP_PC_LAG

    bundle = stack_bundle([("PEO_MOF", 4.0), ("PEO", 6.0)], 20, width_um=10.0, nx=20)
    mats = {n: get_material(m) for n, m in bundle.region_materials.items()}
    cond = Conditions(temperature_C=60.0, current_density_mA_per_cm2=0.5)
    volts = []
    PETSc.Log.begin()
    gamg = PETSc.Log.Event("PCSetUp_GAMG+")
    # solver.preset = "iterative" alone selects the NPP fieldsplit (fem.npp.build.NPP_FIELDSPLIT)
    for solver in (SolverConfig(), SolverConfig(preset="iterative")):
        problem = build_problem(bundle, mats, cond, Config(), solver)
        builds = gamg.getPerfInfo()["count"]
        stats = solve_steady(problem)
        builds = gamg.getPerfInfo()["count"] - builds
        volts.append(Postprocessor(problem).metrics()["cell_voltage_V"])
    # steady steps (1e4 diffusion times) keep the per-field split (the salt-charge PC of
    # fem.npp.precondition is for small dt)
    assert problem.problem.solver.getKSP().getPC().getType() == "fieldsplit"
    assert not problem.salt_charge.active
    # one GAMG build per field at each step's first Newton iteration and every
    # NPP_PC_LAG-th after it, not at every iteration
    lagged = sum(math.ceil(k / NPP_PC_LAG) for k in stats.newton_per_step)
    assert stats.newton_iterations > lagged and builds == 2 * lagged
    # ... but never on a direct solve put into the preset (a chord method)
    lu = solver_options(SolverConfig(preset="iterative", petsc_options={
        "ksp_type": "preonly", "pc_type": "lu"}))
    assert "snes_lag_preconditioner" not in lu
    assert volts[1] == pytest.approx(volts[0], rel=1e-8)
