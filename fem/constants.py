"""Physical constants, defined once (CODATA 2018 exact values where exact)."""

FARADAY_C_PER_MOL = 96485.33212
GAS_CONSTANT_J_PER_MOL_K = 8.314462618
VACUUM_PERMITTIVITY_F_PER_M = 8.8541878128e-12
ZERO_CELSIUS_K = 273.15


def celsius_to_kelvin(t_c: float) -> float:
    """Temperature in kelvin from degrees Celsius."""
    return t_c + ZERO_CELSIUS_K


def thermal_voltage_V(temperature_K: float) -> float:
    """RT/F in volts."""
    return GAS_CONSTANT_J_PER_MOL_K * temperature_K / FARADAY_C_PER_MOL
