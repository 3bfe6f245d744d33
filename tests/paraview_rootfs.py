"""ParaView 5.13 (ADIOS2 VTX reader) from Debian trixie, in a cached root filesystem.

Debian 12 ships ParaView 5.11, which reads XDMF only; trixie's 5.13 also reads VTX
(``.bp``).  ``python tests/paraview_rootfs.py build`` makes the root filesystem once with
``mmdebstrap`` (about 3 minutes; cached outside the repository in
``$CSEFEM_PARAVIEW_ROOTFS`` or ``~/.cache/csefem/paraview-5.13-rootfs``) from the Debian
mirror of this machine's apt sources, read at run time.  It prints the root's path, or a
reason and exit status 77 where it cannot (no mmdebstrap, no mirror, not root).
:func:`pvpython_command` runs pvpython inside it in a private mount namespace (nothing
stays mounted) with one host folder bind-mounted at :data:`MOUNT`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

SUITE = "trixie"
PACKAGES = "paraview,python3-paraview,xvfb,xauth,python3-numpy"
MOUNT = "/mnt/csefem"  # where the host folder appears inside the root
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SKIP = 77  # exit status: cannot build here (make paraview-check reports a skip)


def rootfs_path() -> Path:
    return Path(os.environ.get("CSEFEM_PARAVIEW_ROOTFS",
                               Path.home() / ".cache/csefem/paraview-5.13-rootfs"))


def ready(root: Path | None = None) -> bool:
    root = root or rootfs_path()
    return (root / "usr/bin/pvpython").exists() and (root / "usr/bin/xvfb-run").exists()


def host_mirror() -> str | None:
    """The Debian mirror of this machine's apt sources (one-line or deb822 format)."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        for url in re.findall(r"^\s*(?:deb\s+(?:\[[^\]]*\]\s*)?|URIs:\s*)(\S+)", text, re.M):
            if "security" not in url and url.startswith(("http", "file", "ftp")):
                return url
    return None


def why_not() -> str | None:
    """Why the root cannot be built here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (mmdebstrap and the chroot mount namespace)"
    if shutil.which("mmdebstrap") is None:
        return "mmdebstrap is not installed (apt-get install -y mmdebstrap)"
    if host_mirror() is None:
        return "no Debian mirror in /etc/apt/sources.list*"
    return None


def build(root: Path | None = None) -> Path:
    """Build the root (reused if present); raises RuntimeError with the reason."""
    root = root or rootfs_path()
    if ready(root):
        return root
    reason = why_not()
    if reason:
        raise RuntimeError(reason)
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mmdebstrap", "--variant=apt", f"--include={PACKAGES}", SUITE,
                          str(tmp), host_mirror()], capture_output=True, text=True,
                         timeout=1800, check=False)
    if res.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError("mmdebstrap failed (Debian mirror unreachable?): "
                           + (res.stderr.strip().splitlines() or ["no output"])[-1])
    (tmp / MOUNT.lstrip("/")).mkdir(parents=True, exist_ok=True)
    tmp.rename(root)
    return root


def pvpython_command(root: Path, host_dir: Path, args: list[str]) -> list[str]:
    """Command running ``xvfb-run -a pvpython ARGS`` in ``root`` with ``host_dir`` at MOUNT."""
    r = str(root)
    mount, chroot, unshare = (shutil.which(n, path=SYSTEM_PATH) or n
                              for n in ("mount", "chroot", "unshare"))
    inner = (f"{mount} --make-rprivate / && {mount} -t proc proc {r}/proc && "
             f"{mount} --rbind /dev {r}/dev && {mount} --rbind /sys {r}/sys && "
             f"{mount} --bind {host_dir} {r}{MOUNT} && "
             f"exec {chroot} {r} env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 "
             f"xvfb-run -a pvpython " + " ".join(f"'{a}'" for a in args))
    return [unshare, "--mount", "--fork", "/bin/sh", "-c", inner]


if __name__ == "__main__":  # python tests/paraview_rootfs.py build
    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python tests/paraview_rootfs.py build")
    try:
        print(build())
    except RuntimeError as e:
        print(f"paraview-check: skipped, cannot build the ParaView 5.13 root filesystem: {e}",
              file=sys.stderr)
        sys.exit(SKIP)
