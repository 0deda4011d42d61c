"""PyTorch baseline: trains on exactly the inputs pipewright's training sees, and reports speed and test AUC.

It reads the encoded shards (Arrow IPC: label, is_test, one Float32 code per feature) and the fitted
transform that bench/training-data.ts writes, expands the codes into the model's input vector as
FeatureEncoder.denseInto does (lib/features/feature-encoder.ts), and trains with Adam and binary
cross-entropy on 2 threads, shuffling the train rows every epoch. Test AUC is computed by ranking
over the test split (is_test = 1) after every epoch; validation rows (is_test = 2) are left out.

Models (--models, comma-separated):
  logistic        Linear(D, 1) on the dense input
  mlp             Linear(D, h1)-ReLU-...-Linear(hk, 1) on the dense input (--hidden 64,32)
  embbag          the same MLP, its first layer an EmbeddingBag(D, h1, mode=sum) with per-sample
                  weights (the codes' values) plus a bias: the same function and, with dense
                  gradients and Adam, the same updates as the Linear layer, without a dense input
  embbag-sparse   the same with sparse gradients for the first layer and SparseAdam for it (lazy
                  Adam: rows absent from a batch keep their moments); what sparse inputs buy at most

Usage (after bench/pytorch/setup.sh, and node dist/bench/training-data.js > data.json):
  ~/.cache/pipewright/torch-venv/bin/python bench/pytorch/train_flights.py --data data.json \\
      --models logistic,mlp,embbag --epochs 3 --batch 1024 --lr 1e-3

Prints one JSON object (and progress on stderr). Timings are wall-clock: on a shared machine, check
each epoch's loadAverage (another process on the 2 cores makes OpenMP's spinning threads several
times slower) and rerun. Speeds: `trainSamplesPerSec` per epoch is train
rows / seconds of the training loop (shuffle, batch expansion, forward, backward, step);
`samplesPerSecIncludingLoad` adds the time to read and decode the shards, once per run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import torch

PART_SIZE = {"hour": 24, "weekday": 7, "month": 12, "dayOfMonth": 31}
ONE_HOT_KINDS = {"categorical", "hourOfDay", "dayOfWeek", "quantileBuckets", "hashed", "cross"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def upgrade_transform(t: dict) -> dict:
    """v1 numeric features held mean and std inline (lib/features/transform-format.ts upgradeTransform)."""
    if t.get("format") == "pipewright.transform/v1":
        feats = []
        for f in t["features"]:
            if f["kind"] == "numeric" and "scale" not in f:
                f = {**f, "scale": {"kind": "standard", "mean": f["mean"], "std": f["std"]}}
            feats.append(f)
        t = {**t, "features": feats}
    return t


def cyclical_table(part: str) -> np.ndarray:
    """[[sin, cos] per slot] of the slot's angle 2π·slot/size, as lib/features/calendar.ts cyclicalTable (float64, stored as float32)."""
    size = PART_SIZE[part]
    angles = 2 * math.pi * np.arange(size, dtype=np.float64) / size
    return np.stack([np.sin(angles), np.cos(angles)], axis=1)


def sparse_columns(transform: dict, codes: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """
    Each row of the dense input as a fixed number K of (slot, value) pairs: the exact inverse of
    FeatureEncoder.denseInto. numeric: its code at its offset; one-hot kinds: 1 at offset + code;
    timestamp: its parts unpacked from the mixed-radix code (first part most significant), each
    one-hot (1 at offset + start + v) or, cyclical, sin and cos at offset + start and + 1.
    Slots within a row are distinct, so scattering the pairs into zeros gives the dense vector.
    """
    idx_cols: list[np.ndarray] = []
    val_cols: list[np.ndarray] = []
    n = len(next(iter(codes.values())))
    ones = np.ones(n, dtype=np.float32)
    for f in transform["features"]:
        code = codes[f["name"]]
        off = f["offset"]
        kind = f["kind"]
        if kind == "numeric":
            idx_cols.append(np.full(n, off, dtype=np.int64))
            val_cols.append(code.astype(np.float32))
        elif kind in ONE_HOT_KINDS or (kind == "timestamp" and not f.get("cyclical") and len(f["parts"]) == 1):
            c = code.astype(np.int64)
            if c.min() < 0 or c.max() >= f["width"]:
                raise ValueError(f'feature {f["name"]}: code out of range [0, {f["width"]})')
            idx_cols.append(off + c)
            val_cols.append(ones)
        elif kind == "timestamp":
            cyclical = bool(f.get("cyclical"))
            sizes = [PART_SIZE[p] for p in f["parts"]]
            starts, at = [], 0
            for s in sizes:
                starts.append(at)
                at += 2 if cyclical else s
            rest = code.astype(np.int64)
            parts_v = [None] * len(sizes)
            for k in range(len(sizes) - 1, -1, -1):
                parts_v[k] = rest % sizes[k]
                rest = rest // sizes[k]
            for k, part in enumerate(f["parts"]):
                v = parts_v[k]
                if cyclical:
                    table = cyclical_table(part).astype(np.float32)
                    idx_cols.append(np.full(n, off + starts[k], dtype=np.int64))
                    val_cols.append(table[v, 0])
                    idx_cols.append(np.full(n, off + starts[k] + 1, dtype=np.int64))
                    val_cols.append(table[v, 1])
                else:
                    idx_cols.append(off + starts[k] + v)
                    val_cols.append(ones)
        else:
            raise ValueError(f"feature kind {kind} is not known to this script")
    return np.stack(idx_cols, axis=1), np.stack(val_cols, axis=1)


def code_width(f: dict) -> int:
    """How many distinct codes a one-hot feature has (a multi-part timestamp: its packed codes)."""
    if f["kind"] == "timestamp":
        if f.get("cyclical"):
            raise ValueError(f'feature {f["name"]}: a cyclical timestamp has no codes to cross')
        return int(np.prod([PART_SIZE[p] for p in f["parts"]]))
    if f["kind"] == "numeric":
        raise ValueError(f'feature {f["name"]}: a numeric feature has no codes to cross')
    return int(f["width"])


def code_crosses(transform: dict, codes: dict[str, np.ndarray], crosses: list[list[str]], dim: int) -> tuple[list[np.ndarray], int]:
    """
    Exploration only, not a pipewright feature: one-hot slots for the exact pair (or tuple) of
    other features' codes, appended after the transform's input vector. Lets a cross be tried that
    a spec cannot express (a cross in a spec combines text columns; this one can take hour, say).
    """
    by_name = {f["name"]: f for f in transform["features"]}
    cols = []
    for names in crosses:
        slot = np.zeros(len(next(iter(codes.values()))), dtype=np.int64)
        width = 1
        for name in names:
            w = code_width(by_name[name])
            slot = slot * w + codes[name].astype(np.int64)
            width *= w
        cols.append(dim + slot)
        dim += width
    return cols, dim


def load(manifest_path: str, crosses: list[list[str]] | None = None) -> dict:
    """Reads the transform and every encoded shard; returns the pairs, labels and split codes."""
    t0 = time.perf_counter()
    with open(manifest_path) as fh:
        manifest = json.load(fh)
    with open(manifest["transformPath"]) as fh:
        transform = upgrade_transform(json.load(fh))
    tables = []
    for path in manifest["shardPaths"]:
        with pa.memory_map(path) as source:
            tables.append(ipc.open_stream(source).read_all())
    table = pa.concat_tables(tables)
    label = table.column("label").to_numpy().astype(np.float32)
    split = table.column("is_test").to_numpy().astype(np.int8)
    codes = {f["name"]: table.column(f"f_{f['name']}").to_numpy() for f in transform["features"]}
    read_s = time.perf_counter() - t0
    idx, val = sparse_columns(transform, codes)
    dim = transform["inputDim"]
    if crosses:
        extra, dim = code_crosses(transform, codes, crosses, dim)
        idx = np.concatenate([idx, np.stack(extra, axis=1)], axis=1)
        val = np.concatenate([val, np.ones((len(idx), len(extra)), dtype=np.float32)], axis=1)
    data = {
        "dim": dim,
        "crosses": crosses or [],
        "transform": transform,
        "manifest": manifest,
        "idx": torch.from_numpy(idx),
        "val": torch.from_numpy(val),
        "label": torch.from_numpy(label),
        "split": split,
        "readSeconds": read_s,
        "loadSeconds": time.perf_counter() - t0,
    }
    return data


WINDOW = 100


def window_rates(windows: list[float], samples: int) -> dict | None:
    """Samples/s of the fastest window, the 10th-fastest percentile and the median (None: under 3 windows)."""
    if len(windows) < 3:
        return None
    w = sorted(windows)
    return {"best": round(samples / w[0]), "p10": round(samples / w[len(w) // 10]), "median": round(samples / w[len(w) // 2]), "windows": len(w)}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve by ranks, ties given their average rank (Mann-Whitney U)."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    y = labels[order]
    # Average rank of each run of equal scores.
    boundaries = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    avg = (starts + ends + 1) / 2.0  # ranks are 1-based: run [a, b) has ranks a+1..b
    ranks = np.repeat(avg, ends - starts)
    pos = y > 0.5
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


class DenseNet(torch.nn.Module):
    """Linear layers on the dense input; hidden [] is logistic regression."""

    def __init__(self, dim: int, hidden: list[int]):
        super().__init__()
        layers: list[torch.nn.Module] = []
        width = dim
        for h in hidden:
            layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
            width = h
        layers.append(torch.nn.Linear(width, 1))
        self.net = torch.nn.Sequential(*layers)
        self.dim = dim

    def forward(self, idx: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        x = torch.zeros(idx.shape[0], self.dim)
        x.scatter_(1, idx, val)
        return self.net(x).squeeze(1)


class BagNet(torch.nn.Module):
    """The first layer as an EmbeddingBag over the (slot, value) pairs: sum of value · W[slot] + b."""

    def __init__(self, dim: int, hidden: list[int], sparse: bool):
        super().__init__()
        if not hidden:
            raise ValueError("embbag needs at least one hidden layer")
        self.bag = torch.nn.EmbeddingBag(dim, hidden[0], mode="sum", sparse=sparse)
        self.bias = torch.nn.Parameter(torch.empty(hidden[0]))
        # Initialised as torch.nn.Linear(dim, hidden[0]) is: U(-1/sqrt(dim), 1/sqrt(dim)).
        bound = 1 / math.sqrt(dim)
        torch.nn.init.uniform_(self.bag.weight, -bound, bound)
        torch.nn.init.uniform_(self.bias, -bound, bound)
        layers: list[torch.nn.Module] = [torch.nn.ReLU()]
        width = hidden[0]
        for h in hidden[1:]:
            layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
            width = h
        layers.append(torch.nn.Linear(width, 1))
        self.rest = torch.nn.Sequential(*layers)

    def forward(self, idx: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        return self.rest(self.bag(idx, per_sample_weights=val) + self.bias).squeeze(1)


def make_model(kind: str, dim: int, hidden: list[int]) -> tuple[torch.nn.Module, list[torch.optim.Optimizer]]:
    if kind == "logistic":
        return DenseNet(dim, []), []
    if kind == "mlp":
        return DenseNet(dim, hidden), []
    if kind in ("embbag", "embbag-sparse"):
        return BagNet(dim, hidden, sparse=kind == "embbag-sparse"), []
    raise ValueError(f"unknown model {kind}")


def optimizers(kind: str, model: torch.nn.Module, lr: float) -> list[torch.optim.Optimizer]:
    if kind == "embbag-sparse":
        assert isinstance(model, BagNet)
        dense = [p for n, p in model.named_parameters() if not n.startswith("bag.")]
        return [torch.optim.SparseAdam(list(model.bag.parameters()), lr=lr), torch.optim.Adam(dense, lr=lr)]
    return [torch.optim.Adam(model.parameters(), lr=lr)]


def evaluate(model: torch.nn.Module, idx: torch.Tensor, val: torch.Tensor, label: np.ndarray, batch: int = 65536) -> tuple[float, float]:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, idx.shape[0], batch):
            out.append(model(idx[i : i + batch], val[i : i + batch]))
    model.train()
    logits = torch.cat(out)
    y = torch.from_numpy(label)
    log_loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y))
    return auc(logits.numpy().astype(np.float64), label), log_loss


def train_run(
    data: dict, kind: str, hidden: list[int], epochs: int, batch: int, lr: float, seed: int, target_auc: float | None, evals_per_epoch: int = 1
) -> dict:
    """
    Trains one model; evaluates test AUC after every epoch and, with evals_per_epoch > 1, as many
    times within each (at equal numbers of batches), outside the clock, so that the samples and
    training seconds a target AUC takes can be read off `curve`.
    """
    torch.manual_seed(seed)
    dim = data["dim"]
    split = data["split"]
    train = torch.from_numpy(np.flatnonzero(split == 0))
    test = np.flatnonzero(split == 1)
    tr_idx, tr_val, tr_y = data["idx"][train], data["val"][train], data["label"][train]
    te_idx, te_val, te_y = data["idx"][test], data["val"][test], data["label"].numpy()[test]
    n = tr_idx.shape[0]
    model, _ = make_model(kind, dim, hidden)
    opts = optimizers(kind, model, lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(seed)
    epochs_out = []
    curve = []
    train_total = 0.0
    reached = None
    steps = (n + batch - 1) // batch
    checkpoints = {round(steps * k / evals_per_epoch) for k in range(1, evals_per_epoch)}
    for epoch in range(1, epochs + 1):
        load_before = os.getloadavg()[0]
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        e_idx, e_val, e_y = tr_idx[perm], tr_val[perm], tr_y[perm]
        loss_sum = 0.0
        batches = 0
        # Seconds of each run of WINDOW batches: on a shared machine the fastest windows say what
        # the loop does when it has the cores to itself (see windowSamplesPerSec).
        windows = []
        mark = time.perf_counter()
        for i in range(0, n, batch):
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss = loss_fn(model(e_idx[i : i + batch], e_val[i : i + batch]), e_y[i : i + batch])
            loss.backward()
            for o in opts:
                o.step()
            loss_sum += loss.item()
            batches += 1
            if batches % WINDOW == 0:
                now = time.perf_counter()
                windows.append(now - mark)
                mark = now
            if batches in checkpoints:
                paused = time.perf_counter()
                cpu_paused = time.process_time()
                mid_auc, _ = evaluate(model, te_idx, te_val, te_y)
                so_far = train_total + paused - t0
                curve.append({"epoch": round(epoch - 1 + batches / steps, 3), "samples": (epoch - 1) * n + min(batches * batch, n), "trainSeconds": round(so_far, 3), "testAuc": round(mid_auc, 4)})
                log(f"    {curve[-1]}")
                if target_auc is not None and reached is None and mid_auc >= target_auc:
                    reached = {"epoch": curve[-1]["epoch"], "trainSeconds": curve[-1]["trainSeconds"]}
                t0 += time.perf_counter() - paused
                mark += time.perf_counter() - paused
                cpu0 += time.process_time() - cpu_paused
        seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - cpu0
        train_total += seconds
        t1 = time.perf_counter()
        test_auc, test_loss = evaluate(model, te_idx, te_val, te_y)
        eval_s = time.perf_counter() - t1
        epochs_out.append(
            {
                "epoch": epoch,
                "trainSeconds": round(seconds, 3),
                "trainSamplesPerSec": round(n / seconds),
                "windowSamplesPerSec": window_rates(windows, WINDOW * batch),
                # CPU seconds of all threads, and the 1-minute load average before the epoch: a
                # load above the thread count means other processes shared the cores.
                "trainCpuSeconds": round(cpu_seconds, 3),
                "loadAverage": round(load_before, 2),
                "meanTrainLoss": round(loss_sum / batches, 5),
                "testAuc": round(test_auc, 4),
                "testLogLoss": round(test_loss, 5),
                "evalSeconds": round(eval_s, 3),
            }
        )
        curve.append({"epoch": epoch, "samples": epoch * n, "trainSeconds": round(train_total, 3), "testAuc": round(test_auc, 4)})
        rates = epochs_out[-1]["windowSamplesPerSec"]
        windows_text = f", windows of {WINDOW} batches: best {rates['best']:,}/s, median {rates['median']:,}/s" if rates else ""
        log(f"  {kind} epoch {epoch}: {n / seconds:,.0f} samples/s ({seconds:.1f} s){windows_text}, load {load_before:.1f}, test AUC {test_auc:.4f}")
        if target_auc is not None and reached is None and test_auc >= target_auc:
            reached = {"epoch": epoch, "trainSeconds": round(train_total, 3)}
    return {
        "model": kind,
        "hidden": [] if kind == "logistic" else hidden,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainRows": n,
        "testRows": int(len(test)),
        "epochs": epochs_out,
        "curve": curve,
        "trainSeconds": round(train_total, 3),
        "samplesPerSecIncludingLoad": round(n * epochs / (train_total + data["loadSeconds"])),
        **({"targetAuc": target_auc, "reached": reached} if target_auc is not None else {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="training-data.json (the manifest bench/training-data.ts prints and writes)")
    ap.add_argument("--models", default="logistic,mlp,embbag", help="comma-separated: logistic, mlp, embbag, embbag-sparse")
    ap.add_argument("--hidden", default="64,32", help="hidden layer widths of mlp and embbag")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--target-auc", type=float, default=None, help="also report the first epoch (and training seconds) at which test AUC reaches this")
    ap.add_argument("--evals-per-epoch", type=int, default=1, help="test AUC this many times per epoch (outside the clock)")
    ap.add_argument("--cross", action="append", default=[], metavar="A,B", help="exploration: also one-hot the exact pair of features A and B's codes (repeatable)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    data = load(args.data, [c.split(",") for c in args.cross])
    log(
        f"{len(data['split']):,} rows, input width {data['dim']}, {data['idx'].shape[1]} slots per row, "
        f"loaded in {data['loadSeconds']:.1f} s; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    hidden = [int(h) for h in args.hidden.split(",") if h]
    runs = [train_run(data, kind, hidden, args.epochs, args.batch, args.lr, args.seed, args.target_auc, args.evals_per_epoch) for kind in args.models.split(",")]
    result = {
        "spec": data["manifest"].get("specHash"),
        "features": data["manifest"].get("spec", {}).get("features"),
        "inputDim": data["dim"],
        **({"codeCrosses": data["crosses"]} if data["crosses"] else {}),
        "slotsPerRow": int(data["idx"].shape[1]),
        "rows": int(len(data["split"])),
        "loadSeconds": round(data["loadSeconds"], 3),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": {"cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "runs": runs,
    }
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
