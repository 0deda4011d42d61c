"""Stand-ins for the CUDA libraries that PyPI's Linux torch wheel links against, so that it runs on CPU.

PyPI has one torch wheel for Linux x86-64, built with CUDA: its shared libraries (libtorch_cuda.so,
libtorch_python.so, even libtorch_cpu.so) list libcudart, libcublas, libcudnn, libnccl, ... as
NEEDED, and those come from nvidia-* wheels of several GB. The CPU wheels live on PyTorch's own
index, which this project cannot reach. A CPU-only run never calls into those libraries, but the
dynamic loader still has to find every one of them, with the symbol versions torch asks for, and
resolve every symbol that is bound at load time.

This script writes, for each NEEDED library that is nowhere to be found, a small shared library
with that soname, the version nodes torch requires of it, and a definition of every symbol torch
takes from it (functions that return 0, or report "no device" where torch asks for a count; a
zeroed block for data). They go into torch/lib, the last directory of torch's RUNPATH: if the real
nvidia-* packages are installed later, their directories come first and win.

Usage: python cuda_stubs.py <site-packages>/torch     (needs readelf and a C compiler)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Libraries found on any Linux system or shipped in torch/lib: never stubbed.
SYSTEM_PREFIXES = ("libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "ld-linux", "libstdc++.so", "libgcc_s.so", "libgomp.so")

# Functions whose callers read the result as a pointer or a count, written by hand; everything else
# returns 0 (cudaSuccess, CUBLAS_STATUS_SUCCESS, ...), which no CPU code path ever reaches.
SPECIAL = {
    "cudaGetDeviceCount": "int cudaGetDeviceCount(int *n) { if (n) *n = 0; return 100; }",  # cudaErrorNoDevice
    "cudaGetErrorString": 'const char *cudaGetErrorString(int e) { (void)e; return "CUDA is not available (pipewright CPU stub)"; }',
    "cudaGetErrorName": 'const char *cudaGetErrorName(int e) { (void)e; return "cudaErrorNoDevice"; }',
    "cudaDriverGetVersion": "int cudaDriverGetVersion(int *v) { if (v) *v = 0; return 0; }",
    "cudaRuntimeGetVersion": "int cudaRuntimeGetVersion(int *v) { if (v) *v = 0; return 0; }",
    "cudaGetLastError": "int cudaGetLastError(void) { return 100; }",
    "cudaPeekAtLastError": "int cudaPeekAtLastError(void) { return 100; }",
    "cuGetErrorString": 'int cuGetErrorString(int e, const char **s) { (void)e; if (s) *s = "CUDA is not available"; return 0; }',
    "cudnnGetErrorString": 'const char *cudnnGetErrorString(int e) { (void)e; return "cuDNN is not available"; }',
    "cublasGetStatusString": 'const char *cublasGetStatusString(int e) { (void)e; return "cuBLAS is not available"; }',
    "ncclGetErrorString": 'const char *ncclGetErrorString(int e) { (void)e; return "NCCL is not available"; }',
    "ncclGetLastError": 'const char *ncclGetLastError(void *c) { (void)c; return "NCCL is not available"; }',
    "nvrtcGetErrorString": 'const char *nvrtcGetErrorString(int e) { (void)e; return "NVRTC is not available"; }',
    "cusparseGetErrorString": 'const char *cusparseGetErrorString(int e) { (void)e; return "cuSPARSE is not available"; }',
}


def readelf(*args: str) -> str:
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def needed(lib: Path) -> list[str]:
    return re.findall(r"\(NEEDED\).*\[(.+?)\]", readelf("-d", str(lib)))


def version_needs(lib: Path) -> dict[str, set[str]]:
    """File name -> version names the library requires of it (.gnu.version_r)."""
    out: dict[str, set[str]] = {}
    current = None
    for line in readelf("-V", str(lib)).splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            current = out.setdefault(m.group(1), set())
            continue
        m = re.search(r"Name: (\S+)\s+Flags", line)
        if m and current is not None:
            current.add(m.group(1))
    return out


def dyn_symbols(lib: Path) -> tuple[list[tuple[str, str, str | None, str]], set[str]]:
    """(undefined: name, type, version or None, binding), defined names."""
    undefined, defined = [], set()
    for line in readelf("--dyn-syms", str(lib)).splitlines():
        parts = line.split()
        if len(parts) < 8 or not parts[0].endswith(":"):
            continue
        _, _, _, typ, bind, _, ndx, name = parts[:8]
        if ndx == "UND":
            if not name:
                continue
            sym, _, version = name.partition("@")
            undefined.append((sym, typ, version.lstrip("@") or None, bind))
        elif bind in ("GLOBAL", "WEAK", "UNIQUE"):
            defined.add(name.split("@")[0])
    return undefined, defined


def find_system_lib(name: str) -> Path | None:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(name + " ") and "x86-64" in line:
            return Path(line.split("=>")[-1].strip())
    return None


def main(torch_dir: Path) -> None:
    lib_dir = torch_dir / "lib"
    torch_libs = sorted(lib_dir.glob("*.so")) + sorted(torch_dir.glob("_C*.so"))
    present = {p.name for p in lib_dir.iterdir()}
    runpath_dirs = [torch_dir.parent / "nvidia" / d / "lib" for d in ("cudnn", "nvshmem", "nccl", "cusparselt", "cu13")]

    missing: set[str] = set()
    for lib in torch_libs:
        for name in needed(lib):
            if name in present or name.startswith(SYSTEM_PREFIXES) or any((d / name).exists() for d in runpath_dirs):
                continue
            if find_system_lib(name) is None:
                missing.add(name)
    if not missing:
        print("torch finds every library it needs; no stubs written")
        return

    # What is defined by torch's own libraries and the system libraries they use.
    defined: set[str] = set()
    undefined: list[tuple[str, str, str | None, str]] = []
    versions_of: dict[str, set[str]] = {m: set() for m in missing}
    for lib in torch_libs:
        und, dfn = dyn_symbols(lib)
        undefined += und
        defined |= dfn
        for file, names in version_needs(lib).items():
            if file in missing:
                versions_of[file] |= names
    for name in ("libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libdl.so.2", "libpthread.so.0", "librt.so.1"):
        path = find_system_lib(name)
        if path is not None:
            defined |= dyn_symbols(path)[1]
    if (lib_dir / "libgomp.so.1").exists():
        defined |= dyn_symbols(lib_dir / "libgomp.so.1")[1]

    version_file = {v: f for f, vs in versions_of.items() for v in vs}
    per_lib: dict[str, dict[str, tuple[str, str | None]]] = {m: {} for m in sorted(missing)}
    # Unversioned symbols nobody defines go into the first stub (any library in the global scope will do).
    catch_all = "libcudart.so.13" if "libcudart.so.13" in missing else sorted(missing)[0]
    for sym, typ, version, bind in undefined:
        if version is not None and version in version_file:
            per_lib[version_file[version]][sym] = (typ, version)
        elif version is None and bind != "WEAK" and sym not in defined:
            per_lib[catch_all].setdefault(sym, (typ, None))

    with tempfile.TemporaryDirectory() as tmp:
        for soname, symbols in per_lib.items():
            c_lines = ["/* generated by bench/pytorch/cuda_stubs.py */"]
            for sym, (typ, _) in sorted(symbols.items()):
                if sym in SPECIAL:
                    c_lines.append(SPECIAL[sym])
                elif typ == "OBJECT":
                    c_lines.append(f"char {sym}[4096] __attribute__((aligned(64)));")
                else:
                    c_lines.append(f"long {sym}(void) {{ return 0; }}")
            by_version: dict[str | None, list[str]] = {}
            for sym, (_, version) in symbols.items():
                by_version.setdefault(version, []).append(sym)
            script = []
            for version in sorted(versions_of[soname]):
                names = by_version.get(version, [])
                script.append(f"{version} {{ global: {' '.join(n + ';' for n in sorted(names))} }};")
            unversioned = by_version.get(None, [])
            if not script:
                script.append("STUB { global: *; };")
            elif unversioned:
                script[0] = script[0].replace("global:", "global: " + " ".join(n + ";" for n in sorted(unversioned)), 1)
            src = Path(tmp) / "stub.c"
            vs = Path(tmp) / "stub.map"
            src.write_text("\n".join(c_lines) + "\n")
            vs.write_text("\n".join(script) + "\n")
            out = lib_dir / soname
            subprocess.run(
                ["cc", "-shared", "-fPIC", "-O0", "-w", "-fno-builtin", f"-Wl,-soname,{soname}", f"-Wl,--version-script={vs}", "-o", str(out), str(src)],
                check=True,
            )
            print(f"stub {soname}: {len(symbols)} symbols, versions {sorted(versions_of[soname]) or '-'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]).resolve())
