"""Study files: one TOML file -> a validated :class:`Study` of typed :class:`Case` objects.

Shape (all sections but ``[study]`` and ``[[cases]]`` optional)::

    [study]                 name, type (default physics of the cases), description
    [materials.<name>]      new materials or library overrides (fem.material_defs), merged
                            into every case's ``materials``
    [defaults]              any case field, deep-merged into every case
    [[cases]]               name, type, geometry, materials, conditions, physics, solver, output
    [[sweeps]]              mode = "product" | "zip", cases = [...], values = {"a.b" = [...]}
    [report]                sample_times_s, sample_columns, montage (:class:`ReportConfig`)

Everything is validated before any heavy work: unknown keys, wrong types, unknown
materials or material fields, non-positive thicknesses, a mesh size above the thinnest
layer, duplicate case names, empty sweeps, zips of unequal length, unknown physics types.
Each failure is a :class:`fem.config.ConfigError` whose one-line message names the dotted
field (``cases[1].geometry.layers[0].thickness_um: expected ..., got -1.0``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w

from fem.case import Conditions, OutputConfig, SolverConfig
from fem.config import ConfigError, parse, require, to_dict
from fem.material_defs import apply_fields, key_hint, resolve_materials
from fem.materials import Material, MaterialError
from geometries.spec import GeometryConfig, region_names
from studies import registry
from studies.case_materials import check_case_materials, split_layer_overrides
from studies.decomposition import DecompositionConfig
from studies.sweeps import CASE_FIELDS, apply_overrides, deep_merge, expand

TOP_KEYS = ("study", "materials", "defaults", "cases", "sweeps", "report")
STUDY_KEYS = ("name", "type", "description")
CASE_KEYS = ("name", *CASE_FIELDS, "sweep_values")
CASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")  # fullmatch (no trailing "\n")


@dataclass(frozen=True)
class Case:
    """One fully resolved case of a study (after defaults, sweeps and overrides)."""

    name: str
    type: str
    geometry: GeometryConfig
    materials: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: Conditions = field(default_factory=Conditions)
    solver: SolverConfig = field(default_factory=SolverConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    physics: Any = None
    sweep_values: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def library(self) -> dict[str, Material]:
        """Every material this case knows: the library plus its ``materials`` definitions."""
        return resolve_materials(self.materials, "materials")

    def material(self, name: str) -> Material:
        """Material ``name`` (library or defined in the study) with this case's overrides."""
        if name not in self.library:
            raise MaterialError(f"unknown material '{name}', expected one of "
                                f"{sorted(self.library)} or a [materials.{name}] table")
        return self.library[name]

    def layer_materials(self) -> dict[str, Material]:
        """Region name -> Material of every layer (its region material with the layer's
        own ``overrides``, named ``<material>@<region>``)."""
        layers = self.geometry.resolved().layers
        out = {}
        for k, (r, la) in enumerate(zip(region_names(layers), layers, strict=True)):
            mat = self.material(la.region_material)
            if la.overrides:
                mat = dataclasses.replace(mat, name=f"{mat.name}@{r}")
                mat = apply_fields(mat, la.overrides, f"geometry.layers[{k}]")
            out[r] = mat
        return out

    def region_materials(self, bundle: Any = None) -> dict[str, Material]:
        """Region name -> Material: the layers' (:meth:`layer_materials`) and, with a
        ``bundle``, every other region of its mesh (e.g. kept filaments) by material name."""
        layers = self.layer_materials()
        if bundle is None:
            return layers
        return {r: layers.get(r) or self.material(m) for r, m in bundle.region_materials.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :func:`load_study` parses back into an equal case (None dropped)."""
        return prune({
            "name": self.name, "type": self.type, "geometry": to_dict(self.geometry),
            "materials": to_dict(self.materials), "conditions": to_dict(self.conditions),
            "solver": to_dict(self.solver), "output": to_dict(self.output),
            "physics": to_dict(self.physics), "sweep_values": to_dict(self.sweep_values)})

    def config_hash(self) -> str:
        """SHA-256 of the configuration, including the resolved geometry and materials
        (so a changed preset or library value counts as a changed configuration).
        ``output.pngs`` counts only as figures on/off, so "final" and "all" (and the
        old ``true``) share a hash: which maps get drawn is no reason to rerun."""
        case = self.to_dict()
        if "output" in case:  # figures only: any drawn mode hashes as the former `true`
            case["output"]["pngs"] = case["output"].get("pngs") is not False
        resolved = {"case": case,
                    "geometry_resolved": prune(to_dict(self.geometry.resolved())),
                    "materials_resolved": {r: prune(to_dict(m)) for r, m in
                                           sorted(self.region_materials().items())}}
        text = json.dumps(resolved, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.+-]*")  # fullmatch
MAX_KEY_METRICS = 6  # the key-metrics table: case, these, sweep point (<= 8 columns)


@dataclass(frozen=True)
class ReportConfig:
    """The ``[report]`` table: what ``csefem report`` adds to the comparison table.

    Attributes:
        sample_times_s: Times [s] at which the cases' CSV series with a ``time_s`` first
            column are sampled (linear interpolation; blank after a case's end; the end
            value is always added). Empty: no sampled tables.
        sample_columns: The CSV columns to sample; None: every numeric column of each
            CSV (the first :data:`studies.compare.MAX_SAMPLED_COLUMNS`).
        montage: For every PNG name that two or more cases wrote, one figure per sweep
            point (the case name after the first ``__``) with the cases' maps stacked,
            drawn again from their fields (:mod:`studies.montage`).
        montage_scale: ``"shared"``: one colour scale for all panels of a montage (one
            colour, one value); ``"per_panel"``: each panel its own range, labelled so.
        baseline: The case (name before any ``__<sweep point>``) that the headline's
            ratios refer to; None: the first case.
        key_metrics: The summary metrics of the headline and the key-metrics table (at
            most :data:`MAX_KEY_METRICS`); None: the study type's defaults
            (:data:`studies.headline.DEFAULT_KEY_METRICS`).
        decomposition: seeded comparison at equal charge and factor decomposition
            (:mod:`studies.decomposition`); None: none.
    """

    sample_times_s: list[float] = field(default_factory=list)
    sample_columns: list[str] | None = None
    montage: bool = True
    montage_scale: Literal["shared", "per_panel"] = "shared"
    baseline: str | None = None
    key_metrics: list[str] | None = None
    decomposition: DecompositionConfig | None = None

    def __post_init__(self) -> None:
        times = self.sample_times_s
        for i, t in enumerate(times):
            require(math.isfinite(t) and t >= 0.0, f"sample_times_s[{i}]",
                    "a finite time >= 0 s", t)
        require(all(b > a for a, b in itertools.pairwise(times)), "sample_times_s",
                "strictly increasing times [s]", times)
        cols = self.sample_columns
        if cols is not None:
            require(len(cols) > 0, "sample_columns", "a non-empty list of CSV column names "
                    "(leave it out for all numeric columns)", cols)
            for i, c in enumerate(cols):
                require(bool(COLUMN_NAME.fullmatch(c)), f"sample_columns[{i}]",
                        "a CSV column name (letters, digits, '_')", c)
            require(len(set(cols)) == len(cols), "sample_columns", "unique column names",
                    cols)
        require(self.baseline is None or bool(CASE_NAME.fullmatch(self.baseline)), "baseline",
                "a case name (letters, digits, '_', '-', '+', '.')", self.baseline)
        keys = self.key_metrics
        if keys is not None:
            require(0 < len(keys) <= MAX_KEY_METRICS and len(set(keys)) == len(keys),
                    "key_metrics", f"1 to {MAX_KEY_METRICS} distinct summary metric names",
                    keys)
            for i, k in enumerate(keys):
                require(bool(COLUMN_NAME.fullmatch(k)), f"key_metrics[{i}]",
                        "a summary metric name (letters, digits, '_', '.')", k)


def parse_report(raw: Any, where: str = "report") -> ReportConfig:
    """Validate a ``[report]`` table (absent/None: the defaults)."""
    return ReportConfig() if raw is None else parse(ReportConfig, raw, where)


@dataclass(frozen=True)
class Study:
    """A parsed study: its cases in file order (sweeps expanded) and its report settings."""

    name: str
    type: str | None
    description: str
    cases: list[Case]
    source_text: str = ""
    path: Path | None = None
    report: ReportConfig = field(default_factory=ReportConfig)

    def case(self, name: str) -> Case:
        for c in self.cases:
            if c.name == name:
                return c
        raise KeyError(f"no case '{name}', expected one of {[c.name for c in self.cases]}")

    def to_dict(self) -> dict[str, Any]:
        """The resolved study (no defaults, no sweeps): loads back to the same cases.

        ``[report]`` is kept (``csefem report DIR`` reads it from the written study.toml);
        it is not part of any case's :meth:`Case.config_hash`, so changing only the
        report settings never invalidates finished cases.
        """
        head = prune({"name": self.name, "type": self.type, "description": self.description})
        return {"study": head, "report": prune(to_dict(self.report)),
                "cases": [c.to_dict() for c in self.cases]}

    def resolved_toml(self) -> str:
        """The resolved study as TOML text (what the runner writes as ``study.toml``)."""
        return dumps_toml(self.to_dict())


def prune(obj: Any) -> Any:
    """Drop ``None`` values from nested dicts (TOML has no null; defaults restore them)."""
    if isinstance(obj, dict):
        return {k: prune(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [prune(v) for v in obj]
    return obj


def _check_keys(table: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(where, "a table", table)
    for key in table:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise ConfigError(name, f"a known key (one of {', '.join(allowed)})"
                              f"{key_hint(key, allowed)}")
    return table


def _parse_materials(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    """Validate material definitions (name -> fields, ``base`` optional): new materials
    or overrides of library ones (:func:`fem.material_defs.resolve_materials`)."""
    if not isinstance(raw, dict):
        raise ConfigError(where, "a table of material name -> {field = value} (a new name "
                          "defines a material; base = \"PEO\" inherits)", raw)
    resolve_materials(raw, where)
    return {name: dict(fields) for name, fields in raw.items()}


def parse_case(raw: dict[str, Any], index: int, study_type: str | None) -> Case:
    """Validate one merged, expanded raw case table into a :class:`Case`."""
    where = f"cases[{index}]"
    _check_keys(raw, CASE_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not CASE_NAME.fullmatch(name):
        raise ConfigError(f"{where}.name", "a name of letters, digits, '_', '-', '+' and '.'",
                          name)
    type_name = raw.get("type", study_type)
    if type_name is None:
        raise ConfigError(f"{where}.type", f"one of {', '.join(sorted(registry.TYPES))} "
                          "(or study.type)")
    try:
        ptype = registry.get_type(type_name)
        config_cls = ptype.config_class()
    except ConfigError as err:
        raise err.prefixed(where) from None
    if "geometry" not in raw:
        raise ConfigError(f"{where}.geometry", "a table with a preset or layers (required)")
    sweep_values = raw.get("sweep_values", {})
    if not isinstance(sweep_values, dict):
        raise ConfigError(f"{where}.sweep_values", "a table", sweep_values)
    try:
        geometry_raw = split_layer_overrides(raw["geometry"])
    except ConfigError as err:
        raise err.prefixed(where) from None
    case = Case(
        name=name, type=type_name,
        geometry=parse(GeometryConfig, geometry_raw, f"{where}.geometry"),
        materials=_parse_materials(raw.get("materials", {}), f"{where}.materials"),
        conditions=parse(Conditions, raw.get("conditions", {}), f"{where}.conditions"),
        solver=parse(SolverConfig, raw.get("solver", {}), f"{where}.solver"),
        output=parse(OutputConfig, raw.get("output", {}), f"{where}.output"),
        physics=parse(config_cls, raw.get("physics", {}), f"{where}.physics"),
        sweep_values=dict(sweep_values))
    check_case_materials(case, where)
    return case


def parse_study(raw: dict[str, Any], source_text: str = "", path: Path | None = None) -> Study:
    """Validate a raw study table (after ``--set`` overrides) into a :class:`Study`."""
    _check_keys(raw, TOP_KEYS, "")
    head = _check_keys(raw.get("study"), STUDY_KEYS, "study") if "study" in raw else None
    if head is None:
        raise ConfigError("study", "a [study] table with a name (required)")
    name = head.get("name")
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise ConfigError("study.name", "a non-empty string (one line)", name)
    study_type = head.get("type")
    if study_type is not None and study_type not in registry.TYPES:
        raise ConfigError("study.type", f"one of {', '.join(sorted(registry.TYPES))}", study_type)
    description = head.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("study.description", "a string", description)
    report = parse_report(raw.get("report"))
    defaults = _check_keys(raw.get("defaults", {}), CASE_FIELDS, "defaults")
    definitions = _parse_materials(raw.get("materials", {}), "materials")
    if definitions:
        defaults = deep_merge({"materials": definitions}, defaults)
    cases_raw = raw.get("cases")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise ConfigError("cases", "a non-empty array of [[cases]] tables", cases_raw)
    merged = []
    for i, case in enumerate(cases_raw):
        _check_keys(case, CASE_KEYS, f"cases[{i}]")
        base_name = case.get("name")
        if not isinstance(base_name, str) or not CASE_NAME.fullmatch(base_name):
            raise ConfigError(f"cases[{i}].name", "a name of letters, digits, '_', '-', '+' and '.'",
                              base_name)
        merged.append(deep_merge(defaults, case))
    _unique([c["name"] for c in merged], "cases[{}].name")
    sweeps = raw.get("sweeps", [])
    if not isinstance(sweeps, list):
        raise ConfigError("sweeps", "an array of [[sweeps]] tables", sweeps)
    expanded = expand(merged, sweeps)
    _unique([c["name"] for c in expanded], "expanded case [{}] name")
    cases = [parse_case(c, i, study_type) for i, c in enumerate(expanded)]
    bases = list(dict.fromkeys(c["name"] for c in merged))
    if report.baseline is not None and report.baseline not in bases:
        raise ConfigError("report.baseline", f"one of the cases {bases}", report.baseline)
    if report.decomposition is not None:
        bases = sorted({c.name.partition("__")[0] for c in cases})  # as the report groups
        for n in report.decomposition.case_names():
            if n not in bases:
                raise ConfigError("report.decomposition", f"names of [[cases]] (one of {bases})",
                                  n)
    return Study(name=name, type=study_type, description=description, cases=cases,
                 source_text=source_text, path=path, report=report)


def _unique(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise ConfigError(where.format(i), "a unique case name", n)
        seen.add(n)


def load_study_text(text: str, overrides: list[str] | tuple[str, ...] = (),
                    path: Path | None = None,
                    materials_files: list[Path] | tuple[Path, ...] = ()) -> Study:
    """Parse and validate study TOML ``text`` with ``--set`` overrides; the
    ``[materials.<name>]`` tables of ``materials_files`` come first (the study's own
    definitions of the same name replace them)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path or "study"), "valid TOML", str(err)) from None
    library: dict[str, Any] = {}
    for f in materials_files:
        library.update(load_materials_file(f))
    if library and isinstance(raw, dict):
        own = raw.get("materials", {})
        raw["materials"] = {**library, **own} if isinstance(own, dict) else own
    return parse_study(apply_overrides(raw, list(overrides)), source_text=text, path=path)


def load_materials_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """The validated ``[materials.<name>]`` tables of a materials library file."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(str(p), "a readable TOML file of [materials.<name>] tables",
                          getattr(err, "strerror", None) or str(err)) from None
    _check_keys(raw, ("materials",), str(p))
    return _parse_materials(raw.get("materials", {}), f"{p}: materials")


def load_report_config(study_dir: str | Path) -> ReportConfig:
    """The ``[report]`` table of a study directory's resolved ``study.toml`` (defaults if
    there is no study.toml or no table). Only that table is parsed, so a report can be
    written for a directory whose cases no longer validate against the current schema."""
    p = Path(study_dir) / "study.toml"
    if not p.exists():
        return ReportConfig()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(str(p), "a readable TOML study file", str(err)) from None
    try:
        return parse_report(raw.get("report"))
    except ConfigError as err:
        raise ConfigError(f"{p}: {err.field}", err.expected, err.value) from None


def load_study(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
               materials_files: list[Path] | tuple[Path, ...] = ()) -> Study:
    """Read, validate and expand the study file ``path`` (``overrides``: ``key=value``;
    ``materials_files``: libraries of ``[materials.<name>]`` tables)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(p), "a readable study file", err.strerror) from None
    except UnicodeDecodeError as err:
        raise ConfigError(str(p), "a UTF-8 text file (TOML)",
                          f"byte {err.object[err.start]:#04x} at offset {err.start}") from None
    return load_study_text(text, overrides, p, materials_files)


def dumps_toml(data: dict[str, Any]) -> str:
    """TOML text for ``{"study": {...}, "cases": [{...}, ...]}``-like data (``tomli-w``:
    nested tables as ``[cases.geometry]`` sections, no long inline lines). ``None``
    values must be pruned first."""
    return tomli_w.dumps(data)
