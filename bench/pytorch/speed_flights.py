"""Training speed of each PyTorch model on a shared machine: short bursts, interleaved, best and median.

On a 2-core machine that other processes use too, an epoch's wall time says as much about them as
about the model. This trains every model in turns, a burst of --burst batches each, --rounds times,
so that whatever else runs slows them all alike; the fastest burst is what the loop does with the
cores to itself, the median what it did here. Same data and loop as train_flights.py (shuffled
train rows, batch expansion, forward, backward, Adam step).

  ~/.cache/pipewright/torch-venv/bin/python bench/pytorch/speed_flights.py --data DIR/training-data.json \\
      [--models logistic,mlp,embbag,embbag-sparse] [--batch 1024] [--burst 200] [--rounds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_flights as tf  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--models", default="logistic,mlp,embbag,embbag-sparse")
    ap.add_argument("--hidden", default="64,32")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--burst", type=int, default=200, help="batches per timed burst")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    data = tf.load(args.data)
    torch.manual_seed(args.seed)
    train = torch.from_numpy(np.flatnonzero(data["split"] == 0))
    perm = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(args.seed))]
    idx, val, y = data["idx"][perm], data["val"][perm], data["label"][perm]
    n = len(perm)
    hidden = [int(h) for h in args.hidden.split(",") if h]
    loss_fn = torch.nn.BCEWithLogitsLoss()
    runners = []
    for kind in args.models.split(","):
        model, _ = tf.make_model(kind, data["dim"], hidden)
        runners.append({"kind": kind, "model": model, "opts": tf.optimizers(kind, model, args.lr), "at": 0, "seconds": [], "cpu": [], "load": []})

    def burst(r: dict) -> None:
        model, opts = r["model"], r["opts"]
        for _ in range(args.burst):
            i = r["at"]
            if i >= n:
                i = 0
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss = loss_fn(model(idx[i : i + args.batch], val[i : i + args.batch]), y[i : i + args.batch])
            loss.backward()
            for o in opts:
                o.step()
            loss.item()
            r["at"] = i + args.batch

    for r in runners:  # warm-up: allocations, kernels' first use
        burst(r)
    for round_ in range(args.rounds):
        for r in runners:
            r["load"].append(os.getloadavg()[0])
            c0, t0 = time.process_time(), time.perf_counter()
            burst(r)
            r["seconds"].append(time.perf_counter() - t0)
            r["cpu"].append(time.process_time() - c0)
        tf.log(f"round {round_ + 1}: " + ", ".join(f"{r['kind']} {args.burst * args.batch / r['seconds'][-1]:,.0f}/s" for r in runners))

    samples = args.burst * args.batch
    result = {
        "inputDim": data["dim"],
        "slotsPerRow": int(idx.shape[1]),
        "batch": args.batch,
        "hidden": hidden,
        "burstBatches": args.burst,
        "rounds": args.rounds,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "models": {
            r["kind"]: {
                "bestSamplesPerSec": round(samples / min(r["seconds"])),
                "medianSamplesPerSec": round(samples / statistics.median(r["seconds"])),
                "cpuSecondsPerMillionSamples": round(statistics.median(r["cpu"]) / samples * 1e6, 3),
                "loadAverages": [round(x, 2) for x in r["load"]],
            }
            for r in runners
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
