"""Helpers shared by the side-by-side benchmark scripts of this folder."""
import json
import os
import platform
import struct
import zlib

import numpy as np


def cpu_model():
    """The CPU's model name, for the report line of a benchmark."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_dataset(root, data, n_images):
    """TMP/{sketch,photo}/<class>/ symlinks; returns (number of sketches, photos, classes)."""
    sketch_dir, photo_dir = os.path.join(data, "tuberlin40"), os.path.join(data, "photos")
    key = {c.lower().replace("-", "_"): c for c in os.listdir(sketch_dir)}
    classes = sorted(c for c in os.listdir(photo_dir)
                     if os.path.isdir(os.path.join(photo_dir, c)) and c in key)
    photos = [(c, f) for c in classes for f in sorted(os.listdir(os.path.join(photo_dir, c)))
              if f.lower().endswith(".jpg")]
    photos = photos[:max(len(classes), n_images // 2)]
    per_class = {c: sorted(os.listdir(os.path.join(sketch_dir, key[c]))) for c in classes}
    sketches, i = [], 0
    while len(sketches) + len(photos) < n_images and i < max(map(len, per_class.values())):
        for c in classes:
            if i < len(per_class[c]) and len(sketches) + len(photos) < n_images:
                sketches.append((c, per_class[c][i]))
        i += 1
    for modality, items, src in (("sketch", sketches, None), ("photo", photos, photo_dir)):
        for c, f in items:
            os.makedirs(os.path.join(root, modality, c), exist_ok=True)
            target = (os.path.join(sketch_dir, key[c], f) if src is None
                      else os.path.join(photo_dir, c, f))
            os.symlink(target, os.path.join(root, modality, c, f))
    return len(sketches), len(photos), classes


def read_feature_cache(path):
    """The feature cache hcmsn writes (include/hcmsn/data/feature_cache.h), CRCs checked."""
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == b"\x89HCMSN\r\n", "not an hcmsn file"
    k = struct.unpack_from("<I", b, 8)[0]
    kind = b[12:12 + k].decode()
    version, n, payload_crc, header_crc = struct.unpack_from("<IQII", b, 12 + k)
    assert zlib.crc32(b[:28 + k]) == header_crc, "header CRC mismatch"
    assert kind == "feature-cache" and version == 1, (kind, version)
    payload = b[32 + k:]
    assert len(payload) == n and zlib.crc32(payload) == payload_crc, "payload corrupt"
    h = struct.unpack_from("<Q", payload, 0)[0]
    header = json.loads(payload[8:8 + h])
    rows, dim = header["n"], header["d"]
    off = 8 + h
    features = np.frombuffer(payload, "<f4", rows * dim, off).reshape(rows, dim)
    off += 4 * rows * dim
    labels = np.frombuffer(payload, "<i8", rows, off)
    modality = np.frombuffer(payload, "<i8", rows, off + 8 * rows)
    assert off + 16 * rows == len(payload), "payload size disagrees with the header"
    return header, features, labels, modality


def compare(ours, theirs):
    a, b = ours.astype(np.float64), theirs.astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    rel = np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)
    return {"cos_mean": float(cos.mean()), "cos_min": float(cos.min()),
            "rel_l2_mean": float(rel.mean()), "rel_l2_max": float(rel.max()),
            "worst_row": int(rel.argmax())}
