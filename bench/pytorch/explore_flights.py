"""Which flights features reach a test AUC fastest: trains PyTorch models on variants of the demo's features.

For each variant of a plan (default: flights-variants.json beside this file) it makes the encoded
shards and transform with pipewright's own code (node dist/bench/training-data.js, cached), then
trains each of the variant's runs with train_flights.py's loop and prints a Markdown table; the
full figures go to --out as JSON.

  npm run -s build
  ~/.cache/pipewright/torch-venv/bin/python bench/pytorch/explore_flights.py \\
      [--plan bench/pytorch/flights-variants.json] [--only name,name] [--out /tmp/explore.json]

A plan is a JSON list of {"name", "features": [...], "codeCrosses": [["hour", "origin"]] (optional,
see train_flights.code_crosses: exploration only), "runs": [{"model", "hidden", "batch", "lr",
"epochs"}]}; a run's missing fields take the plan's "defaults" (when the plan is an object
{"defaults": {...}, "variants": [...]}).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import train_flights as tf  # noqa: E402

DEFAULT_RUN = {"model": "mlp", "hidden": [64, 32], "batch": 1024, "lr": 1e-3, "epochs": 3, "seed": 7}


def make_data(node_script: str, spec: str, features: list, partitions: int) -> dict:
    cmd = ["node", node_script, "--spec", spec, "--features", json.dumps(features), "--partitions", str(partitions)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    for line in out.stderr.splitlines():
        tf.log(f"  {line}")
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan", default=str(HERE / "flights-variants.json"))
    ap.add_argument("--only", default=None, help="comma-separated variant names")
    ap.add_argument("--spec", default=str(ROOT / "examples" / "flights.json"))
    ap.add_argument("--node-script", default=str(ROOT / "dist" / "bench" / "training-data.js"))
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target-auc", type=float, default=0.72)
    ap.add_argument("--evals-per-epoch", type=int, default=4, help="test AUC this many times per epoch (outside the clock)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    with open(args.plan) as fh:
        plan = json.load(fh)
    defaults = {**DEFAULT_RUN, **(plan.get("defaults", {}) if isinstance(plan, dict) else {})}
    variants = plan["variants"] if isinstance(plan, dict) else plan
    if args.only:
        wanted = set(args.only.split(","))
        variants = [v for v in variants if v["name"] in wanted]

    results = []
    rows = []
    for v in variants:
        tf.log(f"== {v['name']}")
        manifest = make_data(args.node_script, args.spec, v["features"], args.partitions)
        manifest_path = os.path.join(manifest["dir"], "training-data.json")
        data = tf.load(manifest_path, v.get("codeCrosses"))
        width = data["dim"]
        for run in v.get("runs", [{}]):
            r = {**defaults, **run}
            hidden = r["hidden"] if isinstance(r["hidden"], list) else [int(h) for h in str(r["hidden"]).split(",") if h]
            t0 = time.perf_counter()
            res = tf.train_run(data, r["model"], hidden, r["epochs"], r["batch"], r["lr"], r["seed"], args.target_auc, args.evals_per_epoch)
            res["variant"] = v["name"]
            res["inputDim"] = width
            res["wallSeconds"] = round(time.perf_counter() - t0, 1)
            results.append(res)
            aucs = " / ".join(f"{e['testAuc']:.4f}" for e in res["epochs"])
            secs = " / ".join(f"{e['trainSeconds']:.1f}" for e in res["epochs"])
            reached = res.get("reached")
            hid = "-".join(str(h) for h in res["hidden"]) or "-"
            rows.append(
                f"| {v['name']} | {width} | {r['model']} {hid} | {r['batch']} | {r['lr']:g} | {aucs} | {secs} | "
                f"{'epoch %g, %.1f s' % (reached['epoch'], reached['trainSeconds']) if reached else 'no'} |"
            )
            tf.log(rows[-1])
        del data
    header = [
        f"| variant | input width | model | batch | lr | test AUC per epoch | training s per epoch | AUC ≥ {args.target_auc} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    table = "\n".join(header + rows)
    print(table)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"table": table, "runs": results, "torch": torch.__version__, "threads": torch.get_num_threads()}, fh, indent=2)
            fh.write("\n")


if __name__ == "__main__":
    main()
