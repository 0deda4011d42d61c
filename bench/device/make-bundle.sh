#!/usr/bin/env bash
# Builds .device/: bench/train-backends.ts as one CommonJS file plus the files a bundle cannot hold,
# for a GPU machine that receives the work tree but not node_modules (560 MB, over the 64 MiB that
# can travel). Run there with plain `node .device/train-backends.cjs`; no npm, no network.
#
#   .device/train-backends.cjs          entry point: requires bench/train-backends.cjs
#   .device/bench/train-backends.cjs    tfjs core/layers/cpu/wasm/webgpu backends and the bench; one
#                                       level down, as in dist/, so recordResult's __dirname/../..
#                                       is the repo root and results land in bench/results/
#   .device/bench/tfjs-backend-wasm*.wasm  tfjs-backend-wasm loads these from the bundle's __dirname
#   .device/node_modules/webgpu/        left external: its index.js finds dawn.node via import.meta.url,
#                                       which a CommonJS bundle does not have; linux-x64 build only
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device

rm -rf "$out"
mkdir -p "$out/bench" "$out/node_modules/webgpu/dist/linux-x64"
# tfjs-node(-gpu) is not installed here; backend.ts requires it by a variable name, so it is not
# bundled and the bench reports it as failed to initialise.
node_modules/.bin/esbuild bench/train-backends.ts --bundle --platform=node --format=cjs --target=node20 \
  --outfile="$out/bench/train-backends.cjs" --log-level=warning
echo "require('./bench/train-backends.cjs');" >"$out/train-backends.cjs"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/bench/"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"

# Git-ignored locally (not in .gitignore: it is a per-checkout build output).
exclude="$(git rev-parse --git-path info/exclude 2>/dev/null || true)"
if [ -n "$exclude" ]; then
  mkdir -p "$(dirname "$exclude")"
  grep -qxF '/.device/' "$exclude" 2>/dev/null || echo '/.device/' >>"$exclude"
fi
du -sh "$out"
