#!/usr/bin/python3
"""Fine-tuning throughput of `hcmsn train` (C++, issue 12) next to eager PyTorch with
torch.utils.data.DataLoader workers and torchvision transforms, on the same machine, the same
files and the same model: the shared ImageNet MobileNetV2 at 224 trained end to end with the
HCMSN heads, images/s of the training loop, alternating rounds, one ratio.

Input: the real images of bench/compare_extract.py (TU-Berlin sketches and cut-out photos of the
classes that have both, linked into TMP/{sketch,photo}/<class>/), --images of them; one class is
named unseen (the generic layout needs a split) and left out of training on both sides.

Both sides do, per step (batch = --classes-per-batch classes x --per-class x 2 modalities):
  data      a class-balanced batch (classes in a shuffled cycle, sketches and photos of each drawn
            at random, with replacement where a class has fewer); each image decoded, then
            torchvision's RandomResizedCrop(224, scale=(0.6, 1), ratio=(3/4, 4/3)) and a random
            horizontal flip, normalised with mean = std = 128/255; --workers workers decode
            ahead of the step (hcmsn: threads and a window of 4 batches, its default; Python:
            DataLoader(num_workers=--workers, prefetch_factor=2) = 4 batches with 2 workers);
  forward   MobileNetV2 with TF-SAME padding and frozen BatchNorm (eval statistics, no affine
            gradient), mean-pooled to 1280-d, then the HCMSN heads of bench/hcmsn_torch.py
            (d = 512, hidden 1024, the 384-d BERT-MiniLM class embeddings of share/semantics);
  steps     D step, then the G step (cls + adv + align + rec, all lambda = 1), gradient clip 10
            over the backbone and the heads, Adam with the backbone at 0.1 x the heads' lr.
Equivalence is checked first, in two parts (they compose to the whole step): the backbone -
Python's model on hcmsn's own resize reproduces `hcmsn extract`'s features (cosine, relative L2);
the heads and losses - `bench_train --check` (as bench/compare_train.py: every loss term and
gradient norm to 1e-4). Differences: Python keeps a constant learning rate (hcmsn's cosine
schedule changes no work); the random crops come from different generators.

Figures: images/s over one epoch of --steps steps, timed the same way on both sides: from when
the data workers have started, every step included (hcmsn: its log's samples_per_second and the
share of the epoch its step waited for data; Python: the loop's wall time and the time spent in
next(loader)).

Environment as in bench/compare_train.py: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = --threads,
OMP_WAIT_POLICY passive, set before `import torch`.
Needs Debian's python3-torch, python3-torchvision, python3-pil, python3-numpy, the built hcmsn
and bench_train binaries and shared/{data,weights}. About 5 minutes on 2 cores with defaults.
Usage: /usr/bin/python3 bench/compare_finetune.py [HCMSN] [--bench-train B] [--threads 2]
           [--workers 2] [--steps 8] [--rounds 2] [--images 600] [--json OUT]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("hcmsn", nargs="?", default="build/hcmsn")
    ap.add_argument("--bench-train", default="build/bench/bench_train",
                    help="the bench_train binary, for the heads' equivalence check")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--workers", type=int, default=2, help="data workers of both sides")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=2, help="alternating runs of each side")
    ap.add_argument("--classes-per-batch", type=int, default=8)
    ap.add_argument("--per-class", type=int, default=2)
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--weights", default="../shared/weights")
    ap.add_argument("--json", help="write the figures here")
    return ap.parse_args()


ARGS = parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402

from bench_common import build_dataset, compare, cpu_model, read_feature_cache  # noqa: E402
from hcmsn_torch import (HCMSN, check_equivalence, discriminator_loss,  # noqa: E402
                         generator_losses, libtorch_resized, make_model)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEMANTICS = os.path.join(REPO, "share", "semantics", "bert_minilm_all")
LR, DISC_LR, BACKBONE_LR_FACTOR, GRAD_CLIP = 1e-3, 2e-4, 0.1, 10.0

TRAIN_TRANSFORM = transforms.Compose([
    transforms.RandomResizedCrop(224, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize([128 / 255] * 3, [128 / 255] * 3)])


class Items(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items  # (path, label, modality)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label, modality = self.items[i]
        with Image.open(path) as im:
            return TRAIN_TRANSFORM(im.convert("RGB")), label, modality


class BalancedBatches(torch.utils.data.Sampler):
    def __init__(self, items, classes, classes_per_batch, per_class, steps, seed):
        self.pools = {}
        for i, (_, y, m) in enumerate(items):
            self.pools.setdefault((y, m), []).append(i)
        self.classes, self.c, self.k, self.steps = classes, classes_per_batch, per_class, steps
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.steps

    def __iter__(self):
        order = []
        for _ in range(self.steps):
            if len(order) < self.c:
                order += self.rng.permutation(self.classes).tolist()
            chosen, order = order[:self.c], order[self.c:]
            yield [int(i) for y in chosen for m in (0, 1)
                   for i in self.rng.choice(self.pools[(y, m)], self.k,
                                            replace=len(self.pools[(y, m)]) < self.k)]


def seen_items(root, unseen):
    items, names = [], sorted(os.listdir(os.path.join(root, "sketch")))
    names = [c for c in names if c != unseen]
    for m, modality in enumerate(("sketch", "photo")):
        for y, c in enumerate(names):
            folder = os.path.join(root, modality, c)
            for f in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                items.append((os.path.join(folder, f), y, m))
    return items, names


def class_embeddings(names):
    all_names = [line.strip() for line in open(SEMANTICS + ".classes.txt")]
    emb = torch.from_numpy(np.load(SEMANTICS + ".npy")).float()
    key = {n.lower().replace(" ", "_").replace("-", "_"): i for i, n in enumerate(all_names)}
    return emb[[key[n.lower().replace(" ", "_").replace("-", "_")] for n in names]]


def run_pytorch(args, items, names, seed):
    torch.manual_seed(seed)
    backbone = make_model(args.weights)
    backbone.train()
    bn_params = []
    for m in backbone.modules():  # frozen BatchNorm: eval statistics, no affine gradient
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
            bn_params += list(m.parameters())
    for p in bn_params:
        p.requires_grad_(False)
    heads = HCMSN(classes=len(names), sem_dim=384)
    semantics = class_embeddings(names)
    bb_params = [p for p in backbone.features.parameters() if p.requires_grad]
    gen_params = bb_params + heads.generator_parameters()
    g_opt = torch.optim.Adam([{"params": bb_params, "lr": LR * BACKBONE_LR_FACTOR},
                              {"params": heads.generator_parameters()}], lr=LR)
    d_opt = torch.optim.Adam(heads.discriminator.parameters(), lr=DISC_LR, betas=(0.5, 0.999))
    loader = torch.utils.data.DataLoader(
        Items(items), num_workers=args.workers, prefetch_factor=2,
        batch_sampler=BalancedBatches(items, list(range(len(names))), args.classes_per_batch,
                                      args.per_class, args.steps, seed))
    heads.train()
    # Timed as hcmsn times its epoch: from when the workers have started, every step included.
    it = iter(loader)
    waited, start = 0.0, time.perf_counter()
    for step in range(args.steps):
        t0 = time.perf_counter()
        x, labels, modality = next(it)
        waited += time.perf_counter() - t0
        v = backbone.features(x).mean((2, 3))
        f, s, _, logits = heads(v, modality)
        w_y = semantics.index_select(0, labels)
        d_opt.zero_grad()
        discriminator_loss(heads, w_y, s).backward()
        d_opt.step()
        g_opt.zero_grad()
        terms = generator_losses(heads, f, s, logits, labels, modality, semantics, w_y)
        terms["total"].backward()
        nn.utils.clip_grad_norm_(gen_params, GRAD_CLIP)
        g_opt.step()
        terms["total"].item()
        batch_size = x.size(0)
    seconds = time.perf_counter() - start
    del it, loader
    return {"images_per_second": args.steps * batch_size / seconds,
            "data_wait_share": waited / seconds, "batch": batch_size}


def run_hcmsn(args, root, unseen_file, out):
    run = os.path.join(out, "run")
    subprocess.run(["rm", "-rf", run], check=True)
    cmd = [args.hcmsn, "--threads", str(args.threads), "--log-level", "warn", "train", "--quiet",
           "--layout", "generic", "--root", root, "--unseen", unseen_file,
           "--semantics", SEMANTICS + ".npy", "--semantics-classes", SEMANTICS + ".classes.txt",
           "--backbone", "mobilenet_v2",
           "--weights", os.path.join(args.weights, "mobilenet_v2_imagenet.safetensors"),
           "--backbone-lr-factor", str(BACKBONE_LR_FACTOR), "--workers", str(args.workers),
           "--classes-per-batch", str(args.classes_per_batch), "--per-class", str(args.per_class),
           "--epochs", "1", "--batches-per-epoch", str(args.steps), "--eval-every", "0",
           "--out", run]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if proc.returncode != 0:
        sys.exit(f"hcmsn train failed ({proc.returncode}):\n{proc.stderr}")
    record = json.loads(open(os.path.join(run, "log.jsonl")).readlines()[-1])
    return {"images_per_second": record["samples_per_second"],
            "data_wait_share": record["data_wait_share"]}


def check_backbone(args, root, unseen_file, out, n=32):
    """hcmsn extract's features against Python's model on hcmsn's resize, for n images."""
    cache = os.path.join(out, "check.cache")
    subprocess.run([args.hcmsn, "--threads", str(args.threads), "extract", "--quiet",
                    "--layout", "generic", "--root", root, "--unseen", unseen_file,
                    "--backbone", "mobilenet_v2", "--weights",
                    os.path.join(args.weights, "mobilenet_v2_imagenet.safetensors"),
                    "--out", cache, "--no-resume"], check=True, capture_output=True)
    header, feats, _, _ = read_feature_cache(cache)
    # Item ids are paths relative to --root; sketches and photos both among the first rows.
    rows = list(range(n // 2)) + list(range(len(feats) - n // 2, len(feats)))
    paths = [os.path.join(root, header["item_ids"][i]) for i in rows]
    return compare(feats[rows], libtorch_resized(make_model(args.weights), paths))


def main():
    args = ARGS
    args.data, args.weights = os.path.abspath(args.data), os.path.abspath(args.weights)
    for binary in (args.hcmsn, args.bench_train):
        if not os.path.exists(binary):
            sys.exit(f"{binary} not found: build hcmsn (and bench_train) first")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "data")
        n_sketch, n_photo, classes = build_dataset(root, args.data, args.images)
        unseen_file = os.path.join(tmp, "unseen.txt")
        with open(unseen_file, "w") as f:
            f.write(classes[0] + "\n")
        items, names = seen_items(root, classes[0])
        worst, where = check_equivalence(args.bench_train)
        print(f"equivalence, heads and losses: largest relative difference {worst:.1e} ({where})")
        eq = check_backbone(args, root, unseen_file, tmp)
        print(f"equivalence, backbone: cosine min {eq['cos_min']:.6f}, relative L2 max "
              f"{eq['rel_l2_max']:.1e}")
        runs = {"hcmsn": [], "pytorch": []}
        for r in range(args.rounds):
            runs["hcmsn"].append(run_hcmsn(args, root, unseen_file, tmp))
            runs["pytorch"].append(run_pytorch(args, items, names, seed=r))
            print(f"round {r + 1}/{args.rounds}: hcmsn "
                  f"{runs['hcmsn'][-1]['images_per_second']:.1f}, pytorch "
                  f"{runs['pytorch'][-1]['images_per_second']:.1f} images/s", flush=True)

    def median(impl, key):
        return statistics.median(r[key] for r in runs[impl])

    speed = {k: median(k, "images_per_second") for k in runs}
    wait = {k: median(k, "data_wait_share") for k in runs}
    batch = args.classes_per_batch * args.per_class * 2
    print(f"\n{n_sketch} sketches + {n_photo} photos, {len(names)} seen classes, batch {batch}, "
          f"{args.steps} timed steps, {args.rounds} rounds, threads = {args.threads}, workers = "
          f"{args.workers}, load average {os.getloadavg()[0]:.1f}, {cpu_model()}, "
          f"torch {torch.__version__}")
    print("| | images/s | step waited for data |")
    print("|---|---|---|")
    for k in ("hcmsn", "pytorch"):
        print(f"| {k} | {speed[k]:.2f} | {100 * wait[k]:.1f}% |")
    print(f"hcmsn / pytorch: {speed['hcmsn'] / speed['pytorch']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, "images_per_second": speed, "data_wait_share": wait,
                       "equivalence": {"heads_rel": worst, "backbone": eq}}, f, indent=1)


if __name__ == "__main__":
    main()
