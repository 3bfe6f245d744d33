"""Post-processing of the XDMF files DOLFINx writes (rank 0, after the writer closed).

* :func:`declare_number_types`: DOLFINx leaves most ``<DataItem Format="HDF">`` without a
  number type, so XDMF readers take them as 4-byte floats (ParaView rounds float64
  fields to single precision and reads int32 tags as floats).  Each HDF item gets the
  number type and precision of its dataset.
* :func:`one_grid_per_time`: DOLFINx writes one temporal collection per function, each
  a copy of the mesh (ParaView shows one unnamed block per field, and integrating the
  reader counts the domain once per field).  This rewrites the file as one temporal
  collection named after the series with one grid per output time that holds every
  field as an attribute, the DG0 ``material`` field as int32 cell data, and the length
  unit of the coordinates as grid (field) data ``length_unit_m`` (:func:`add_length_unit`).
"""

from __future__ import annotations

import re
from contextlib import nullcontext
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from fem.fileio import atomic_write_text

_DATAITEM = re.compile(r'<DataItem(?P<attrs>[^>]*)>(?P<ref>[^<]*)</DataItem>')
_XI = "https://www.w3.org/2001/XInclude"
ET.register_namespace("xi", _XI)
_HEADER = '<?xml version="1.0"?>\n<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>\n'


def _number_type(dtype: np.dtype) -> str | None:
    if np.issubdtype(dtype, np.floating):
        return f'NumberType="Float" Precision="{dtype.itemsize}"'
    if np.issubdtype(dtype, np.unsignedinteger):
        return f'NumberType="UInt" Precision="{dtype.itemsize}"'
    if np.issubdtype(dtype, np.integer):
        return f'NumberType="Int" Precision="{dtype.itemsize}"'
    return None


def declare_number_types(xdmf_path: Path | str) -> int:
    """Give every HDF data item without a ``NumberType`` its dataset's type (in place).

    Returns:
        The number of data items changed.
    """
    import h5py

    p = Path(xdmf_path)
    text = p.read_text(encoding="utf-8")
    files: dict[str, h5py.File] = {}
    changed = 0

    def fix(m: re.Match) -> str:
        nonlocal changed
        attrs, ref = m.group("attrs"), m.group("ref").strip()
        if "NumberType" in attrs or 'Format="HDF"' not in attrs or ":" not in ref:
            return m.group(0)
        fname, dset = ref.split(":", 1)
        if fname not in files:
            files[fname] = h5py.File(p.parent / fname, "r")
        decl = _number_type(files[fname][dset].dtype)
        if decl is None:
            return m.group(0)
        changed += 1
        return m.group(0).replace(' Format="HDF"', f' {decl} Format="HDF"', 1)

    try:
        new = _DATAITEM.sub(fix, text)
    finally:
        for fh in files.values():
            fh.close()
    if changed:
        atomic_write_text(p, new)
    return changed


def one_grid_per_time(xdmf_path: Path | str, series: str, int_fields: list[str]) -> list[float]:
    """Rewrite a DOLFINx XDMF file as one temporal collection ``series`` (in place).

    ``int_fields`` (DG0 fields written once, at the first time) are stored as int32
    datasets ``/<name>`` in the ``.h5`` file and attached to every time step.

    Returns:
        The output times.
    """
    import h5py

    p = Path(xdmf_path)
    root = ET.parse(p).getroot()
    domain = root.find("Domain")
    grids = list(domain.findall("Grid"))
    mesh = next(g for g in grids if g.get("GridType") == "Uniform")
    topology, geometry = mesh.find("Topology"), mesh.find("Geometry")
    by_time: dict[float, list[ET.Element]] = {}
    constant: list[ET.Element] = []
    h5_name = None
    for coll in (g for g in grids if g.get("CollectionType") == "Temporal"):
        for g in coll.findall("Grid"):
            attr = g.find("Attribute")
            item = attr.find("DataItem")
            h5_name = item.text.split(":", 1)[0].strip()
            if attr.get("Name") in int_fields:
                constant.append(attr)
            else:
                by_time.setdefault(float(g.find("Time").get("Value")), []).append(attr)
    with h5py.File(p.parent / h5_name, "r+") if h5_name else nullcontext() as h5:
        for attr in constant:
            item = attr.find("DataItem")
            name = attr.get("Name")
            src = item.text.split(":", 1)[1].strip()
            values = np.rint(np.asarray(h5[src])).astype(np.int32)
            del h5[src]
            group = src.rsplit("/", 1)[0]
            if group and not len(h5[group]):
                del h5[group]
            h5.create_dataset(name, data=values)
            item.text = f"{h5_name}:/{name}"
            item.attrib.pop("NumberType", None)
            item.attrib.pop("Precision", None)
    collection = ET.Element("Grid", Name=series, GridType="Collection",
                            CollectionType="Temporal")
    for t in sorted(by_time):
        step = ET.SubElement(collection, "Grid", Name=series, GridType="Uniform")
        step.extend([topology, geometry])
        ET.SubElement(step, "Time", Value=repr(t))
        step.extend(by_time[t] + constant)
    out = ET.Element("Xdmf", Version="3.0")
    ET.SubElement(out, "Domain").append(collection)
    _write(p, out)
    return sorted(by_time)


def add_length_unit(xdmf_path: Path | str, length_unit_m: float) -> int:
    """Record ``length_unit_m`` (metres per coordinate unit) as grid (field) data of
    every uniform grid of an XDMF file (in place); returns the number of grids."""
    p = Path(xdmf_path)
    root = ET.parse(p).getroot()
    grids = [g for g in root.iter("Grid") if g.get("GridType") == "Uniform"]
    for g in grids:
        if any(a.get("Name") == "length_unit_m" for a in g.findall("Attribute")):
            continue
        unit = ET.SubElement(g, "Attribute", Name="length_unit_m", AttributeType="Scalar",
                             Center="Grid")
        ET.SubElement(unit, "DataItem", Dimensions="1", NumberType="Float", Precision="8",
                      Format="XML").text = repr(float(length_unit_m))
    _write(p, root)
    return len(grids)


def _write(path: Path, root: ET.Element) -> None:
    ET.indent(root)
    atomic_write_text(path, _HEADER + ET.tostring(root, encoding="unicode") + "\n")

