"""Nernst-Planck-Poisson transport."""
