"""Small native kernels, compiled on first use and cached on disk.

Some kernels are a single pass that torch can only express as several (a distance, a
minimum, a scatter-add: each reading memory again). Their C sources live in ``csrc/``; the
first use compiles one with the system C compiler (``$CC``, else ``cc``) into a shared
library that ctypes loads. The library is cached under ``$LAZYHEAT_CACHE_DIR`` (default
``~/.cache/lazyheat``) in ``native/<hash>.so``, keyed by the source, the compiler, its flags
and the CPU model, so a later process, or another rank of the node, loads it in a
millisecond. Ranks that start together compile it once: a lock file serializes them, and
the library is written under a temporary name and renamed, so no rank ever loads a
half-written file.

``LAZYHEAT_NATIVE=0`` turns native kernels off. Where no compiler exists or compiling fails,
``load`` returns None and the callers run their torch version; rank 0 warns once.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

from . import env

CSRC = Path(__file__).resolve().parent / "csrc"
_LOADED: dict[str, ctypes.CDLL | None] = {}
_OPENMP_FLAG = "-fopenmp"


def enabled() -> bool:
    return _NATIVE()


_NATIVE = env.Setting("LAZYHEAT_NATIVE", lambda text: text is None or
                      text.strip() not in ("0", "", "off", "false"))


def cache_dir() -> Path:
    base = os.environ.get("LAZYHEAT_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "lazyheat")
    return Path(base) / "native"


def cpu_model() -> str:
    """The CPU's model line (part of every compiled library's cache key); read once."""
    global _cpu
    if _cpu is None:
        _cpu = _cpu_model()
    return _cpu


_cpu: str | None = None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("model name", "flags", "Features")):
                    return line
    except OSError:
        pass
    return platform.processor()


def _compiler() -> str | None:
    cc = os.environ.get("CC", "cc")
    return shutil.which(cc)


def _flags(openmp: bool) -> list[str]:
    flags = ["-O3", "-march=native", "-fPIC", "-shared", "-std=gnu11"]
    return flags + ([_OPENMP_FLAG] if openmp else [])


def usable_folder(folder: Path, kind: str) -> Path:
    """``folder``, made if needed; a private folder in the temporary directory when it
    cannot be (a read-only home, say)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"lazyheat-{kind}-{os.getuid()}"
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def compile_to(cc: str, src: Path, out: Path, flags, libs=()) -> str | None:
    """Compile ``src`` into the shared library ``out``; None on success, else the
    compiler's last line of complaint. ``out`` appears whole or not at all (a temporary
    file renamed into place), so a reader in another process never loads half a file."""
    tmp = tempfile.NamedTemporaryFile(dir=out.parent, suffix=".so.tmp", delete=False)
    tmp.close()
    try:
        proc = subprocess.run([cc, *flags, str(src), "-o", tmp.name, *libs],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            return (proc.stderr.strip().splitlines() or ["failed"])[-1]
        os.replace(tmp.name, out)
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    finally:
        if os.path.exists(tmp.name):
            os.unlink(tmp.name)


def build_once(cc: str, src: Path, lib: Path, flags, libs=()) -> str | None:
    """``compile_to`` unless ``lib`` exists, under a file lock beside it, so that of the
    processes (ranks) that need one library one compiles and the others wait and load it.
    None when ``lib`` is there."""
    if lib.exists():
        return None
    with open(lib.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return None if lib.exists() else compile_to(cc, src, lib, flags, libs)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(name: str) -> ctypes.CDLL | None:
    cc = _compiler()
    if cc is None:
        return None
    src = CSRC / f"{name}.c"
    text = src.read_bytes()
    for openmp in (True, False):  # a compiler without OpenMP still gives a serial kernel
        key = hashlib.sha256(b"\0".join([
            text, cc.encode(), " ".join(_flags(openmp)).encode(), cpu_model().encode(),
            platform.machine().encode()])).hexdigest()[:20]
        lib = usable_folder(cache_dir(), "native") / f"{name}-{key}.so"
        if build_once(cc, src, lib, _flags(openmp)) is not None:
            continue
        try:
            return ctypes.CDLL(str(lib))
        except OSError:
            continue
    return None


def load(name: str, rank: int = 0) -> ctypes.CDLL | None:
    """The compiled ``csrc/<name>.c`` (built on first use), or None: native kernels off,
    no compiler, or compiling failed (rank 0 warns once per library)."""
    if not enabled():
        return None
    if name not in _LOADED:
        lib = _build(name)
        if lib is None and rank == 0:
            warnings.warn(f"lazyheat: could not compile the native kernel {name!r} (no C "
                          "compiler, or it failed); using the torch version", stacklevel=2)
        _LOADED[name] = lib
    return _LOADED[name]


def ptr(t) -> ctypes.c_void_p:
    """A contiguous CPU tensor's data pointer for a native call (None: a NULL pointer)."""
    return ctypes.c_void_p(None if t is None else t.data_ptr())
