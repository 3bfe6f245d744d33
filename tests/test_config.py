"""Typed config parsing: every error names the dotted field and the expectation."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from fem.case import Conditions, SolverConfig
from fem.config import ConfigError, parse, require, to_dict


@dataclass(frozen=True)
class Inner:
    size_um: float = 1.0
    kind: Literal["a", "b"] = "a"

    def __post_init__(self):
        require(self.size_um > 0, "size_um", "> 0", self.size_um)


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner = field(default_factory=Inner)
    values: list[float] = field(default_factory=list)
    opt: int | None = None


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "inner": {"size_um": -1}}, "c.inner.size_um: expected > 0, got -1.0"),
    ({"name": "x", "inner": {"sz": 1}}, "c.inner.sz: expected a known key"),
    ({"name": 1}, "c.name: expected a string, got 1"),
    ({}, "c.name: expected a string (required)"),
    ({"name": "x", "inner": {"kind": "c"}}, "c.inner.kind: expected one of 'a', 'b', got 'c'"),
    ({"name": "x", "values": [1, "a"]}, "c.values[1]: expected a number, got 'a'"),
    ({"name": "x", "opt": 1.5}, "c.opt: expected an integer, got 1.5"),
    ({"name": "x", "inner": 3}, "c.inner: expected a table, got 3"),
])
def test_errors_name_the_field(data, message):
    with pytest.raises(ConfigError) as err:
        parse(Outer, data, "c")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_round_trip():
    obj = parse(Outer, {"name": "x", "inner": {"size_um": 2}, "values": [1, 2.5], "opt": 3})
    assert parse(Outer, to_dict(obj)) == obj
    assert isinstance(obj.values[0], float)


def test_bool_is_not_a_number():
    with pytest.raises(ConfigError, match="expected a number"):
        parse(Inner, {"size_um": True})


def test_conditions():
    c = parse(Conditions, {"temperature_C": 60, "current_density_mA_per_cm2": 0.2})
    assert c.temperature_K == pytest.approx(333.15)
    assert c.current_density_A_per_m2() == pytest.approx(2.0)
    assert parse(Conditions, {"li_flux_mol_per_m2_s": 0.01}).current_density_A_per_m2() == \
        pytest.approx(964.8533212)
    with pytest.raises(ConfigError, match="conditions.current_density_mA_per_cm2"):
        parse(Conditions, {"current_density_mA_per_cm2": -1}, "conditions")
    with pytest.raises(ConfigError, match="solver.preset"):
        parse(SolverConfig, {"preset": "hypre"}, "solver")
