#!/usr/bin/env bash
# Optional PyTorch baseline for the training benchmarks: a CPU-only torch in a venv of its own,
# outside the project (never part of npm install or the tests).
#
#   bench/pytorch/setup.sh            creates ~/.cache/pipewright/torch-venv (or $TORCH_VENV)
#   TORCH_WHEEL=/path/torch.whl bench/pytorch/setup.sh   installs that wheel instead of PyPI's
#
# PyPI's Linux torch wheel declares the CUDA runtime (nvidia-*, cuda-toolkit, triton: several GB)
# as dependencies. Only its CPU half is used here, so torch goes in with --no-deps, followed by the
# few pure-Python packages it imports. Its libraries still name the CUDA ones as NEEDED, so
# cuda_stubs.py writes small stand-ins for them (a CPU run never calls into them); needs a C compiler
# and readelf (build-essential / binutils).
set -euo pipefail

venv="${TORCH_VENV:-$HOME/.cache/pipewright/torch-venv}"
python="${PYTHON:-python3}"
torch_version="${TORCH_VERSION:-2.15.0}"

if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --upgrade pip

torch_spec="torch==$torch_version"
if [ -n "${TORCH_WHEEL:-}" ]; then
  torch_spec="$TORCH_WHEEL"
elif [ -f "/tmp/torchdl/torch-$torch_version-cp311-cp311-manylinux_2_28_x86_64.whl" ] && "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  # A wheel already downloaded on this machine: saves fetching 540 MB again.
  torch_spec="/tmp/torchdl/torch-$torch_version-cp311-cp311-manylinux_2_28_x86_64.whl"
fi
"${pip[@]}" install --no-deps "$torch_spec"
# torch's own pure dependencies (its METADATA, less the CUDA ones), then what the scripts read with.
"${pip[@]}" install filelock 'typing-extensions>=4.13' 'setuptools>=77.0.3' 'sympy>=1.13.3' mpmath 'networkx>=2.5.1' jinja2 MarkupSafe 'fsspec>=0.8.5' numpy pyarrow

# Stand-ins for the CUDA libraries torch links against but a CPU run never calls (see cuda_stubs.py).
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$venv/bin/python" "$(dirname "$0")/cuda_stubs.py" "$site/torch"

"$venv/bin/python" - <<'PY'
import torch
torch.set_num_threads(2)
x = torch.randn(256, 64)
layer = torch.nn.Linear(64, 1)
layer(x).sum().backward()
print(f"torch {torch.__version__} works on CPU (cuda available: {torch.cuda.is_available()}), {torch.get_num_threads()} threads")
PY
echo "venv: $venv  (run: $venv/bin/python bench/pytorch/train_flights.py --help)"
