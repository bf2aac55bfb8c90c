#!/usr/bin/python3
"""Training throughput of hcmsn (C++, bench/bench_train) next to an eager PyTorch loop of the
same model (issue 3): cached 1280-d features, d = 512, batch 128 (16 classes x 4 per class x 2
modalities), 100 seen classes, samples/s of the step loop after a warm-up.

Both sides run the same work per step:
  forward     F: modality-specific Linear(1280,1024)-ReLU-Dropout(0.2) (each row through its own
              modality's layer only), then Linear(1024,512) -> f
              S: Linear(512,1024)-ReLU-Dropout-Linear(1024,768) -> s
              P: Linear(512,512), clip to norm r = 2.3, expmap0 at c = 0.01 -> h
              hyperbolic MLR over 100 classes, p = exp0(p_raw), a = a_raw (1 - c|p|^2)
  D step      BCE-with-logits(D(w_y), 1) + BCE(D(s.detach()), 0); Adam(2e-4, betas 0.5/0.999)
              D: Linear(768,512)-LeakyReLU(0.2)-Linear(512,1)
  G step      CE + non-saturating BCE(D(s), 1) (D's parameters frozen) + mean(1 - cos(s, w_y))
              + cross-modal reconstruction MSE(R(s_i), detached class mean of f over the other
              modality) + semantic reconstruction MSE(R(w_y), detached class mean of f), all
              lambda = 1; R: Linear(768,1024)-ReLU-Dropout-Linear(1024,512);
              backward, clip_grad_norm 10, Adam(1e-3, betas 0.9/0.999); cosine lr (both Adams),
              loss terms read back with .item() every step (the C++ trainer logs them)
Equivalence is checked, not assumed: `bench_train --check DIR` writes the C++ network's weights,
a fixed batch and the loss terms and gradient norms of one step (dropout off); this script loads
the weights into its model and must reproduce every term and gradient norm to 1e-4 (relative).
The parameter counts are printed and must be equal too (6,138,112 generator + 394,241 D).

Figures: samples/s is wall-clock over the timed epoch (the C++ Trainer's own timer; batches are
drawn before it starts, as here). samples/CPU-s divides by CPU time instead, which other jobs on
the machine disturb much less: here process_time() over the timed epoch; for the C++ process,
its CPU time minus that of a --steps 1 run (set-up, checkpoints and 2 steps cancel out).

Differences that could not be avoided (none changes the matrix products, which dominate):
  * the C++ geometry is written for robustness (even ratio functions of c|v|^2 with Taylor
    branches, overflow-safe projection, 1 - c|x|^2 in factored form): a few more elementwise
    kernels on (128, 512) and (128, 100) tensors than the textbook formulas used here;
  * the C++ side validates its inputs every step (label range, modality values: a few
    reductions and .item() reads) and reseeds the generator per step (done here too);
  * the data are generated the same way but by different generators, and training is
    stochastic, so the losses of the timed epoch (printed for reference) agree in magnitude only;
  * Python's Adam in torch 1.13 defaults to the per-tensor (not foreach) path on CPU, like
    LibTorch's C++ Adam; --foreach times the multi-tensor path instead.

Environment: both sides run with the same OMP_NUM_THREADS, OPENBLAS_NUM_THREADS (= --threads)
and OMP_WAIT_POLICY, passive by default. With more than one thread, LibTorch runs two pools
(OpenMP for elementwise ops, OpenBLAS's pthreads for matrix products), and with libgomp's default
active waiting each pool spins while the other works: on a machine shared with other jobs both
sides then lose up to 10x, by amounts that depend on the neighbours, not on the code
(--omp-wait-policy active measures that default).

Needs Debian's python3-torch and python3-numpy. About 1 minute on 2 cores with defaults.
Usage: /usr/bin/python3 bench/compare_train.py [BENCH_TRAIN] [--threads N] [--steps 30]
           [--rounds 3] [--rows 20000] [--foreach] [--omp-wait-policy passive] [--json OUT]
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

CLASSES_PER_BATCH, PER_CLASS = 16, 4
LR, DISC_LR, MIN_LR_RATIO, GRAD_CLIP = 1e-3, 2e-4, 0.01, 10.0


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", nargs="?", default="build/bench/bench_train",
                    help="the bench_train binary (default build/bench/bench_train)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="intra-op (and OpenBLAS) threads of both sides (default: all cores)")
    ap.add_argument("--steps", type=int, default=30, help="timed steps (and as many warm-up)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each side")
    ap.add_argument("--rows", type=int, default=20000, help="cached feature rows")
    ap.add_argument("--foreach", action="store_true", help="multi-tensor Adam on the Python side")
    ap.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", "passive"),
                    choices=["passive", "active", "PASSIVE", "ACTIVE"],
                    help="OMP_WAIT_POLICY of both sides (default passive; see the header)")
    ap.add_argument("--json", help="write the figures here")
    return ap.parse_args()


ARGS = parse_args()
# OpenBLAS sizes its own pool at load time; LibTorch's set_num_threads does not reach it.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
# libgomp reads this once, when it is loaded: before `import torch` here, and in the child.
os.environ["OMP_WAIT_POLICY"] = ARGS.omp_wait_policy.upper()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from bench_common import cpu_model  # noqa: E402
from hcmsn_torch import (CLASSES, DIM, IN_DIM, SEM_DIM, HCMSN,  # noqa: E402
                         check_equivalence, discriminator_loss, generator_losses)


# --- data and batches -----------------------------------------------------------------------

def make_data(rows, seed):
    torch.manual_seed(seed)
    centres = torch.randn(CLASSES, IN_DIM)
    shift = torch.randn(2, IN_DIM) * 0.5
    labels = torch.arange(rows) % CLASSES
    modality = (torch.arange(rows) // CLASSES) % 2
    inputs = torch.relu(centres[labels] + shift[modality] + torch.randn(rows, IN_DIM)).contiguous()
    return inputs, labels, modality, torch.randn(CLASSES, SEM_DIM)


def epoch_batches(labels, modality, steps, rng):
    pools = {}
    for i, (y, m) in enumerate(zip(labels.tolist(), modality.tolist())):
        pools.setdefault((y, m), []).append(i)
    batches, order = [], []
    for _ in range(steps):
        if len(order) < CLASSES_PER_BATCH:
            order += rng.permutation(CLASSES).tolist()
        classes, order = order[:CLASSES_PER_BATCH], order[CLASSES_PER_BATCH:]
        rows = [i for y in classes for m in (0, 1)
                for i in rng.choice(pools[(y, m)], PER_CLASS, replace=False)]
        batches.append(torch.tensor(rows, dtype=torch.int64))
    return batches


# --- the PyTorch training loop --------------------------------------------------------------

def run_pytorch(data, steps, seed=0, foreach=False):
    inputs, all_labels, all_modality, semantics = data
    torch.manual_seed(seed)
    model = HCMSN()
    gen_params = model.generator_parameters()
    disc_params = list(model.discriminator.parameters())
    g_opt = torch.optim.Adam(gen_params, lr=LR, betas=(0.9, 0.999), foreach=foreach)
    d_opt = torch.optim.Adam(disc_params, lr=DISC_LR, betas=(0.5, 0.999), foreach=foreach)
    rng = np.random.default_rng(seed)
    total_steps = 2 * steps

    def step(rows, global_step):
        torch.manual_seed(seed * 1000003 + global_step)
        factor = MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (
            1 + math.cos(math.pi * global_step / total_steps))
        for opt, lr in ((g_opt, LR), (d_opt, DISC_LR)):
            for group in opt.param_groups:
                group["lr"] = lr * factor
        model.train()
        x = inputs.index_select(0, rows)
        labels = all_labels.index_select(0, rows)
        modality = all_modality.index_select(0, rows)
        f, s, _, logits = model(x, modality)
        w_y = semantics.index_select(0, labels)

        d_opt.zero_grad()
        d_loss = discriminator_loss(model, w_y, s)
        d_loss.backward()
        d_opt.step()

        g_opt.zero_grad()
        terms = generator_losses(model, f, s, logits, labels, modality, semantics, w_y)
        total = terms["total"].item()
        assert math.isfinite(total), "training diverged"
        terms["total"].backward()
        nn.utils.clip_grad_norm_(gen_params, GRAD_CLIP)
        g_opt.step()
        record = {k: t.item() for k, t in terms.items()}
        record["disc"] = d_loss.item()
        return record

    for epoch in range(2):  # warm-up epoch, timed epoch
        batches = epoch_batches(all_labels, all_modality, steps, rng)
        sums = {}
        start, cpu_start = time.perf_counter(), time.process_time()
        for i, rows in enumerate(batches):
            for k, v in step(rows, epoch * steps + i).items():
                sums[k] = sums.get(k, 0.0) + v
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    samples = steps * len(batches[0])
    return {"impl": "pytorch", "samples_per_second": samples / seconds,
            "samples_per_cpu_second": samples / cpu, "seconds": seconds, "steps": steps,
            "threads": torch.get_num_threads(),
            "generator_parameters": sum(p.numel() for p in gen_params),
            "discriminator_parameters": sum(p.numel() for p in disc_params),
            "loss": {k: v / steps for k, v in sums.items()}}


# --- the C++ side ---------------------------------------------------------------------------

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_bench(args, steps):
    before = children_cpu()
    out = subprocess.run([args.bench, "--steps", str(steps), "--threads", str(args.threads),
                          "--rows", str(args.rows)], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_cpu"] = children_cpu() - before
    return result


def run_hcmsn(args):
    """The Trainer's own samples/s of the timed epoch, plus samples per CPU-second of its steps:
    the CPU time of a --steps 1 run (set-up, 2 steps, checkpoints) is subtracted from that of
    the full run, leaving 2 (steps - 1) steps (which include warm-up steps)."""
    result = run_bench(args, args.steps)
    if args.steps > 1:
        base = run_bench(args, 1)
        cpu = result["process_cpu"] - base["process_cpu"]
        result["samples_per_cpu_second"] = 2 * (args.steps - 1) * result["batch"] / cpu
    return result


def main():
    args = ARGS
    if not os.path.exists(args.bench):
        sys.exit(f"{args.bench} not found: build it with -DHCMSN_BUILD_BENCH=ON "
                 f"(ninja -C BUILD bench_train) or pass its path")
    torch.set_num_threads(args.threads)
    worst, where = check_equivalence(args.bench)
    print(f"equivalence: same weights and batch give the same losses and gradient norms "
          f"(largest relative difference {worst:.1e}, {where})")
    data = make_data(args.rows, seed=0)
    runs = {"hcmsn": [], "pytorch": []}
    for r in range(args.rounds):
        runs["hcmsn"].append(run_hcmsn(args))
        runs["pytorch"].append(run_pytorch(data, args.steps, seed=r, foreach=args.foreach))
        print(f"round {r + 1}/{args.rounds}: hcmsn {runs['hcmsn'][-1]['samples_per_second']:.0f}, "
              f"pytorch {runs['pytorch'][-1]['samples_per_second']:.0f} samples/s", flush=True)

    c, p = runs["hcmsn"][0], runs["pytorch"][0]
    print(f"parameters: hcmsn generator {c['generator_parameters']:,} + discriminator "
          f"{c['discriminator_parameters']:,}; pytorch generator {p['generator_parameters']:,} + "
          f"discriminator {p['discriminator_parameters']:,}")
    assert (c["generator_parameters"] == p["generator_parameters"] and
            c["discriminator_parameters"] == p["discriminator_parameters"]), \
        "the two models differ in size: they are not the same model"
    assert c["threads"] == p["threads"] == args.threads, "thread counts differ"

    def median(impl, key):
        values = [r[key] for r in runs[impl] if key in r]
        return statistics.median(values) if values else float("nan")

    wall = {k: median(k, "samples_per_second") for k in runs}
    cpu = {k: median(k, "samples_per_cpu_second") for k in runs}
    load = os.getloadavg()[0]
    print(f"\nbatch 128 (16 classes x 4 x 2 modalities), 1280-d features, d = {DIM}, "
          f"{args.steps} timed steps after {args.steps} warm-up, {args.rounds} rounds, "
          f"threads = {args.threads} of {os.cpu_count()} cores, OMP_WAIT_POLICY "
          f"{os.environ['OMP_WAIT_POLICY']}, load average {load:.1f}, "
          f"{cpu_model()}, torch {torch.__version__}")
    print(f"{'impl':10}{'samples/s':>11}{'min':>8}{'max':>8}{'ratio':>8}"
          f"{'samples/CPU-s':>15}{'ratio':>8}")
    for k in ("hcmsn", "pytorch"):
        v = [r["samples_per_second"] for r in runs[k]]
        print(f"{k:10}{wall[k]:11.0f}{min(v):8.0f}{max(v):8.0f}{wall[k] / wall['pytorch']:8.2f}"
              f"{cpu[k]:15.0f}{cpu[k] / cpu['pytorch']:8.2f}")
    print("(medians; ratio = impl / pytorch; samples/CPU-s is robust to other load but counts "
          "OpenMP spin-waiting when threads > 1)")
    terms = ("total", "cls", "adv", "align", "rec", "disc")
    print("mean losses of the timed epoch, first round (same magnitude expected):")
    for k in ("hcmsn", "pytorch"):
        print(f"  {k:8}" + "  ".join(f"{t} {runs[k][0]['loss'][t]:.3f}" for t in terms))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "steps": args.steps, "rounds": args.rounds,
                       "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
                       "load_average": load, "cpu": cpu_model(),
                       "samples_per_second": wall, "samples_per_cpu_second": cpu,
                       "ratio_hcmsn_over_pytorch": wall["hcmsn"] / wall["pytorch"],
                       "cpu_ratio_hcmsn_over_pytorch": cpu["hcmsn"] / cpu["pytorch"],
                       "equivalence_max_rel_diff": worst, "runs": runs}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
