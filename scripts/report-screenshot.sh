#!/usr/bin/env bash
# Screenshots a run report (or any HTML file) in headless Chromium, to check that its charts really
# render in a browser: scripts/report-screenshot.sh <report.html> [out.png] [width,height]
# Needs Debian's chromium (apt-get install -y chromium); CHROMIUM names another binary.
set -euo pipefail
html="${1:?usage: report-screenshot.sh <report.html> [out.png] [width,height]}"
png="${2:-${html%.html}.png}"
size="${3:-1400,3000}"
browser="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$browser" ]]; then
  echo "no chromium on PATH: install it (apt-get install -y chromium) or set CHROMIUM" >&2
  exit 2
fi
[[ -f "$html" ]] || { echo "no such file: $html" >&2; exit 2; }
abs="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
mkdir -p "$(dirname "$png")"
png_abs="$(cd "$(dirname "$png")" && pwd)/$(basename "$png")"
# A throwaway profile, so a browser already running (or a locked default profile) does not interfere;
# --no-sandbox because CI runs as root.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --screenshot="$png_abs" --window-size="$size" "file://$abs" >/dev/null 2>&1
[[ -s "$png_abs" ]] || { echo "chromium wrote no screenshot for $abs" >&2; exit 1; }
echo "screenshot: $png_abs"
