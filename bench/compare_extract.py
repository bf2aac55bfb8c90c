#!/usr/bin/python3
"""Feature-extraction throughput of `hcmsn extract` (C++) next to torchvision in Python on the
same machine, the same files and the same model: ImageNet MobileNetV2 (the shared weights),
1280-d pooled features, images/s of the extraction loop, alternating rounds, one ratio.

Input: real images from shared/data, linked into a temporary generic dataset folder
TMP/{sketch,photo}/<class>/: every photo of photos/<class>/*.jpg whose class also has TU-Berlin
sketches (19 classes, 33 JPEGs, 50-256 px, colour), then TU-Berlin sketches
tuberlin40/<class>/*.png of those classes (150x150 8-bit grey PNG), taken round-robin over the
classes in file-name order, up to --images in all (default 600). One class is named unseen in a
list file (the generic layout needs a split; it does not change the work).

Both sides do, per image, in the same order (the order of the cache hcmsn writes: its item ids
are the rows' file names, and the Python side reads the files in that order):
  hcmsn   `hcmsn --threads T extract --layout generic --backbone mobilenet_v2 --no-resume
          --quiet --stats-json` (defaults: --resize squash, --batch-size 32, TF-SAME padding):
          read the file, OpenCV imdecode (libpng / libjpeg) -> RGB uint8 (grey replicated) ->
          LibTorch interpolate bilinear, antialias=True, align_corners=False to 224x224 in
          float, rounded back to uint8 -> (x/255 - 128/255) / (128/255) -> batches of 32 ->
          MobileNetV2 features (TF-SAME padding) -> mean over H, W. Decoding and resizing of a
          batch run in parallel over LibTorch's intra-op pool (at::parallel_for, T threads).
  Python  PIL Image.open -> convert("RGB") -> resize((224, 224), BILINEAR) (whole image, no
          crop; PIL's bilinear downscaling is the same antialiased triangle filter, computed in
          fixed point on uint8) -> ToTensor -> Normalize(mean = std = 128/255) -> batches of 32
          (torch.stack) -> torchvision.models.mobilenet_v2() with the shared .pth loaded
          strictly, eval(), no_grad(), model.features(x).mean((2, 3)); TF-SAME emulated
          exactly as shared/weights/README.md says: the five stride-2 3x3 convs get padding 0
          and their input is padded F.pad(x, (0, 1, 0, 1)) first (a forward pre-hook).
          Decoding and preprocessing run serially in the main process (torch.set_num_threads(T)
          for the forward); with --dataloader, also a DataLoader(num_workers=T, batch_size=32)
          variant of the same pipeline (reported separately: it uses T more processes).

Timed on both sides: decode + preprocess + forward over all images, no warm-up (hcmsn's own
`seconds` in --stats-json, which excludes start-up, the dataset scan, loading the weights and
writing the cache; here time.perf_counter() around the loop, model already built). The wall
time of the whole hcmsn command is reported too, and its CPU time (user / sys) and minor page
faults (getrusage(RUSAGE_CHILDREN) deltas), beside those of the Python loop (RUSAGE_SELF plus
reaped children, i.e. DataLoader workers).

Equivalence is checked, not assumed: the script parses hcmsn's feature cache (the io::checked_file
envelope: magic "\\x89HCMSN\\r\\n", u32 kind length, kind "feature-cache", u32 version 1, u64
payload length, CRC-32 of the payload, CRC-32 of the header, payload; the payload: u64 JSON
header length H, JSON header {n, d, item_ids, class_names, meta, ...}, float32 (n, d) features,
int64 labels, int64 modality; both CRCs are verified) and compares each row with the Python
features of the same file: cosine similarity (mean, min) and relative L2 distance (mean, max).
To isolate the resize, the features are also computed (untimed) with PIL decoding but
LibTorch's resize in Python (F.interpolate as hcmsn calls it): measured, they equal hcmsn's
bit for bit, sketches and photos alike (so OpenCV and PIL decode these PNGs and JPEGs to the same
pixels, and the forward passes are the same kernels: Debian's python3-torch and libtorch are one
build). What differs is the resize alone: the same filter (triangle, antialiased when
downscaling, plain bilinear when upscaling, as for the 150 px sketches), but LibTorch computes
in float and rounds once, PIL in fixed point with a uint8 rounding between its two passes, so
pixels differ by a level here and there: measured cosine >= 0.9988 per image (mean 0.99987),
relative L2 about 0.6 % (sketches) and 2 % (photos, up to 5 %).

System time: with glibc's default malloc both sides spend about as much CPU time in the kernel
as in user code. The activations of a batch of 32 (up to 32x96x112x112 floats, 154 MB) are far
above glibc's largest mmap threshold (32 MB), so every such tensor is a fresh mmap, freed with
munmap, and its pages are faulted in and zeroed again at every layer of every batch: millions of
minor page faults (strace -c shows few syscalls; /usr/bin/time shows the faults). hcmsn now
avoids this itself (util::keep_freed_memory(), mallopt() at start-up: freed memory is kept and
reused), so by default this script compares hcmsn as it ships with PyTorch as it ships.
--malloc-keep runs both sides with MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_=1 TiB,
MALLOC_TOP_PAD_=1 GiB, which gives the Python side the same remedy: the like-for-like
comparison of the code itself. Measured on 2 cores, 600 images, 3 rounds, 2 threads:
default 83.5 vs 32.4 images/s (2.58x; Python 18.8 s sys, 10.3 million faults);
--malloc-keep 83.2 vs 74.3 (1.12x).

Environment: both sides run with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = --threads and
OMP_WAIT_POLICY passive (set before `import torch` here and passed to the child), as in
bench/compare_train.py.

Needs Debian's python3-torch, python3-torchvision, python3-pil and python3-numpy, the built
hcmsn binary and shared/{data,weights}. About 2-3 minutes on 2 cores with defaults.
Usage: /usr/bin/python3 bench/compare_extract.py [HCMSN] [--threads 2] [--images 600]
           [--rounds 3] [--dataloader] [--malloc-keep] [--data DIR] [--weights DIR]
           [--json OUT]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("hcmsn", nargs="?", default="build/hcmsn",
                    help="the hcmsn binary (default build/hcmsn)")
    ap.add_argument("--threads", type=int, default=2,
                    help="intra-op (and OpenBLAS) threads of both sides (default 2)")
    ap.add_argument("--images", type=int, default=600, help="images in all (default 600)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each side")
    ap.add_argument("--dataloader", action="store_true",
                    help="also time a DataLoader(num_workers=threads) variant of the Python side")
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.path.join(os.path.dirname(here), "shared")
    if not os.path.isdir(shared):
        shared = "/work/shared"
    ap.add_argument("--data", default=os.path.join(shared, "data"), help="shared/data folder")
    ap.add_argument("--weights", default=os.path.join(shared, "weights"),
                    help="shared/weights folder (mobilenet_v2_imagenet.{safetensors,pth})")
    ap.add_argument("--malloc-keep", action="store_true",
                    help="both sides with glibc malloc told to keep freed memory (no mmap for "
                         "large blocks, no trimming): see 'System time' in the header")
    ap.add_argument("--json", help="write the figures here")
    return ap.parse_args()


ARGS = parse_args()
# OpenBLAS sizes its own pool at load time; LibTorch's set_num_threads does not reach it.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
# libgomp reads this once, when it is loaded: before `import torch` here, and in the child.
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
MALLOC_KEEP = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40),
               "MALLOC_TOP_PAD_": str(1 << 30)}
if ARGS.malloc_keep and any(os.environ.get(k) != v for k, v in MALLOC_KEEP.items()):
    # glibc reads these once, at the first malloc: re-execute this script with them set.
    os.environ.update(MALLOC_KEEP)
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402

from bench_common import build_dataset, compare, cpu_model, read_feature_cache  # noqa: E402
from hcmsn_torch import libtorch_resized, make_model  # noqa: E402

BATCH = 32
SIZE = 224


# --- input folder -------------------------------------------------------------------------------

# --- hcmsn --------------------------------------------------------------------------------------

def run_hcmsn(args, root, unseen, out_dir, r):
    cache = os.path.join(out_dir, f"cache{r}.bin")
    stats = os.path.join(out_dir, f"stats{r}.json")
    cmd = [args.hcmsn, "--threads", str(args.threads), "extract", "--layout", "generic",
           "--root", root, "--unseen", unseen, "--backbone", "mobilenet_v2",
           "--weights", os.path.join(args.weights, "mobilenet_v2_imagenet.safetensors"),
           "--out", cache, "--no-resume", "--quiet", "--stats-json", stats]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"hcmsn extract failed ({proc.returncode}):\n{proc.stderr}")
    with open(stats) as f:
        s = json.load(f)
    return {"images": s["computed"], "seconds": s["seconds"],
            "images_per_second": s["images_per_second"], "command_seconds": wall,
            "command_images_per_second": s["computed"] / wall,
            "user_seconds": after.ru_utime - before.ru_utime,
            "sys_seconds": after.ru_stime - before.ru_stime,
            "minor_faults": after.ru_minflt - before.ru_minflt,
            "cache": cache}


# --- Python -------------------------------------------------------------------------------------

TRANSFORM = transforms.Compose([
    transforms.Resize((SIZE, SIZE), interpolation=transforms.InterpolationMode.BILINEAR),
    transforms.ToTensor(),
    transforms.Normalize([128 / 255] * 3, [128 / 255] * 3)])


def load(path):
    with Image.open(path) as im:
        return TRANSFORM(im.convert("RGB"))


class Files(torch.utils.data.Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return load(self.paths[i])


def rusage():
    """CPU seconds (user, sys) and minor faults of this process and its reaped children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + c.ru_utime, s.ru_stime + c.ru_stime, s.ru_minflt + c.ru_minflt


def run_python(model, paths, dataloader=False, threads=1):
    torch.set_num_threads(threads)
    out = []
    before = rusage()
    t0 = time.perf_counter()
    with torch.no_grad():
        if dataloader:
            batches = torch.utils.data.DataLoader(Files(paths), batch_size=BATCH,
                                                  num_workers=threads)
        else:
            batches = (torch.stack([load(p) for p in paths[i:i + BATCH]])
                       for i in range(0, len(paths), BATCH))
        for x in batches:
            out.append(model.features(x).mean((2, 3)))
        del batches  # DataLoader workers are reaped here, so their CPU time counts
    seconds = time.perf_counter() - t0
    after = rusage()
    return {"images": len(paths), "seconds": seconds, "images_per_second": len(paths) / seconds,
            "user_seconds": after[0] - before[0], "sys_seconds": after[1] - before[1],
            "minor_faults": after[2] - before[2]}, torch.cat(out).numpy()


# --- main ---------------------------------------------------------------------------------------

def main():
    args = ARGS
    if not os.path.exists(args.hcmsn):
        sys.exit(f"{args.hcmsn} not found: build it (ninja -C build hcmsn) or pass its path")
    tmp = tempfile.mkdtemp(prefix="hcmsn-extract-bench-")
    try:
        return bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench(args, tmp):
    root = os.path.join(tmp, "data")
    n_sketch, n_photo, classes = build_dataset(root, args.data, args.images)
    unseen = os.path.join(tmp, "unseen.txt")
    with open(unseen, "w") as f:
        f.write(classes[0] + "\n")
    model = make_model(args.weights)

    runs = {"hcmsn": [], "python": []}
    if args.dataloader:
        runs["python-dataloader"] = []
    paths, reference = None, None
    for r in range(args.rounds):
        h = run_hcmsn(args, root, unseen, tmp, r)
        header, feats, labels, modality = read_feature_cache(h.pop("cache"))
        ids = header["item_ids"]
        if paths is None:
            # Item ids are paths relative to --root (check: each names a linked file).
            paths = [os.path.join(root, i) for i in ids]
            missing = [i for i in ids if not os.path.lexists(os.path.join(root, i))]
            assert not missing, f"item ids are not paths under the root: {missing[:3]}"
            assert len(ids) == n_sketch + n_photo, (len(ids), n_sketch, n_photo)
            reference = feats.copy()
        else:
            assert [os.path.join(root, i) for i in ids] == paths, "item order changed"
            assert np.array_equal(feats, reference), "hcmsn features differ between rounds"
        runs["hcmsn"].append(h)
        p, py_feats = run_python(model, paths, threads=args.threads)
        runs["python"].append(p)
        line = (f"round {r + 1}/{args.rounds}: hcmsn {h['images_per_second']:.1f} images/s "
                f"(command {h['command_seconds']:.2f} s, user {h['user_seconds']:.2f} s, "
                f"sys {h['sys_seconds']:.2f} s), python {p['images_per_second']:.1f} images/s")
        if args.dataloader:
            d, _ = run_python(model, paths, dataloader=True, threads=args.threads)
            runs["python-dataloader"].append(d)
            line += f", python+DataLoader {d['images_per_second']:.1f} images/s"
        print(line, flush=True)

    modal = np.asarray(modality)
    eq = {"all": compare(reference, py_feats),
          "sketch": compare(reference[modal == 0], py_feats[modal == 0]),
          "photo": compare(reference[modal == 1], py_feats[modal == 1])}
    eq["all"]["worst_item"] = header["item_ids"][eq["all"].pop("worst_row")]
    for k in ("sketch", "photo"):
        eq[k].pop("worst_row")
    lt = libtorch_resized(model, paths, SIZE, BATCH)
    eq["libtorch_resize"] = {"sketch": compare(reference[modal == 0], lt[modal == 0]),
                             "photo": compare(reference[modal == 1], lt[modal == 1])}
    for e in eq["libtorch_resize"].values():
        e.pop("worst_row")

    def median(impl, key):
        return statistics.median(r[key] for r in runs[impl])

    rate = {k: median(k, "images_per_second") for k in runs}
    load = os.getloadavg()[0]
    print(f"\n{n_sketch + n_photo} images ({n_sketch} TU-Berlin sketches 150x150 PNG, {n_photo} "
          f"photos JPEG) in {len(classes)} classes, MobileNetV2 224x224 squash, TF-SAME, batch "
          f"{BATCH}, {args.rounds} rounds, threads = {args.threads} of {os.cpu_count()} cores, "
          f"OMP_WAIT_POLICY passive, malloc {'keep' if args.malloc_keep else 'default'}, "
          f"load average {load:.1f}, {cpu_model()}, "
          f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    print(f"{'impl':18}{'images/s':>9}{'min':>8}{'max':>8}{'ratio':>8}"
          f"{'user s':>8}{'sys s':>8}{'faults':>10}")
    for k in runs:
        v = [r["images_per_second"] for r in runs[k]]
        print(f"{k:18}{rate[k]:9.1f}{min(v):8.1f}{max(v):8.1f}{rate[k] / rate['python']:8.2f}"
              f"{median(k, 'user_seconds'):8.2f}{median(k, 'sys_seconds'):8.2f}"
              f"{median(k, 'minor_faults'):10.0f}")
    cmd_rate = median("hcmsn", "command_images_per_second")
    print(f"{'hcmsn (command)':18}{cmd_rate:9.1f}{'':16}{cmd_rate / rate['python']:8.2f}"
          f"   whole command: {median('hcmsn', 'command_seconds'):.2f} s wall")
    print("(medians; ratio = impl / python; hcmsn = its extraction loop, hcmsn (command) = "
          "the whole process incl. start-up and weights; user/sys/minor page faults: hcmsn the "
          "whole command, python the loop, DataLoader workers included)")

    def fmt(e):
        return (f"cosine mean {e['cos_mean']:.6f} min {e['cos_min']:.6f}, rel. L2 mean "
                f"{e['rel_l2_mean']:.1e} max {e['rel_l2_max']:.1e}")
    print("features, hcmsn cache vs python (PIL resize), per image:")
    for k in ("sketch", "photo", "all"):
        print(f"  {k:7}{fmt(eq[k])}")
    print(f"  worst: {eq['all']['worst_item']}")
    print("the same with LibTorch's resize in Python instead of PIL's (PIL decoding kept):")
    for k in ("sketch", "photo"):
        print(f"  {k:7}{fmt(eq['libtorch_resize'][k])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "malloc_keep": args.malloc_keep,
                       "images": n_sketch + n_photo,
                       "sketches": n_sketch, "photos": n_photo, "classes": classes,
                       "rounds": args.rounds, "load_average": load, "cpu": cpu_model(),
                       "torch": torch.__version__, "torchvision": torchvision.__version__,
                       "images_per_second": rate,
                       "hcmsn_command_images_per_second": cmd_rate,
                       "ratio_hcmsn_over_python": rate["hcmsn"] / rate["python"],
                       "equivalence": eq, "runs": runs}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
