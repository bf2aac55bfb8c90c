"""Golden outputs of torchvision's PIL pipeline for tests/unit/data/transforms_test.cpp.

Run with Debian's Python (python3-torchvision 0.14, PIL): /usr/bin/python3 <this file>.
Writes a deterministic test picture (PNG) and what torchvision makes of it, as .npy (uint8
CHW after resizing; float32 after normalisation).
"""
import os

import numpy as np
from PIL import Image
import torch
from torchvision import transforms as T

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "transforms")


def picture(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 255.0 * x / (w - 1)
    b = np.where(((x // 9) + (y // 6)) % 2 == 0, 230.0, 20.0)  # sharp checkerboard edges
    return np.clip(np.rint(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8)


def chw(img):
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))


def main():
    os.makedirs(OUT, exist_ok=True)
    img = Image.fromarray(picture(77, 123))
    img.save(os.path.join(OUT, "picture.png"))
    img = Image.open(os.path.join(OUT, "picture.png")).convert("RGB")
    cases = {
        "squash_40x40": T.Resize((40, 40))(img),  # shrink, both axes
        "up_150x200": T.Resize((150, 200))(img),  # enlarge
        "shorter_50": T.Resize(50)(img),
        "shorter_50_crop_44": T.CenterCrop(44)(T.Resize(50)(img)),
        "crop_90_padded": T.CenterCrop(90)(img),
    }
    for name, out in cases.items():
        np.save(os.path.join(OUT, name + ".npy"), chw(out))
    norm = T.Compose([T.Resize((40, 40)), T.ToTensor(),
                      T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])(img)
    np.save(os.path.join(OUT, "normalized_40x40.npy"), norm.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
