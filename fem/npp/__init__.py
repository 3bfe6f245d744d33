"""Nernst-Planck(-Poisson) transport in layered solid electrolytes (docs/theory/npp.md).

Modules, from the maths up:

- :mod:`~fem.npp.forms`: UFL building blocks (EN closure, fluxes, Poisson, BV kinetics).
- :mod:`~fem.npp.coefficients`: scaled per-region data (um, s, c/c_ref, F phi/RT), DG0 fields.
- :mod:`~fem.npp.problem`: :class:`NPPProblem`, the SNES problem with its drives (B1-B3).
- :mod:`~fem.npp.solve`: rest state, steady (pseudo-transient) and adaptive transient drivers.
- :mod:`~fem.npp.postprocess`: SI fields, consistent boundary fluxes, balances, metrics.
- :mod:`~fem.npp.reference`: independent 1D references (ODE stack solution, N4 series).
- :mod:`~fem.npp.build`: case data -> problem; exact over-limiting check.
- :mod:`~fem.npp.study`: the ``npp`` study type (``Config``, ``run``, ``check``).
- :mod:`~fem.npp.measure`: virtual sigma / Arrhenius / Bruce-Vincent study types.
- :mod:`~fem.npp.meshes`: layered stacks on built-in meshes (tests, 1D references).
"""
