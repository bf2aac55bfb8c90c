"""The HCMSN model, its losses and the shared MobileNetV2 in eager PyTorch: the reference side of
the benchmarks of this folder (compare_train.py: the heads on cached features; compare_extract.py:
the backbone; compare_finetune.py: both, trained end to end). Textbook formulas; parameter
names match the C++ modules'. Import it after the environment (threads, OMP_WAIT_POLICY) is set.
"""
import json
import math
import os
import subprocess
import tempfile

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image

CLASSES, IN_DIM, HIDDEN, DIM, SEM_DIM, DISC_HIDDEN = 100, 1280, 1024, 512, 768, 512
CURVATURE, CLIP_R, DROPOUT = 0.01, 2.3, 0.2
# The five stride-2 3x3 convolutions of torchvision's MobileNetV2: TF "SAME" padding for the
# shared (TensorFlow-trained) weights, as shared/weights/README.md says.
TF_SAME_CONVS = ("features.0.0", "features.2.conv.1.0", "features.4.conv.1.0",
                 "features.7.conv.1.0", "features.14.conv.1.0")


# --- Poincare ball (curvature -c), textbook formulas -------------------------------------------

def project(x, c, eps=1e-5):
    norm = x.norm(dim=-1, keepdim=True).clamp_min(1e-15)
    max_norm = (1 - eps) / math.sqrt(c)
    return torch.where(norm > max_norm, x / norm * max_norm, x)


def expmap0(u, c):
    sc_norm = math.sqrt(c) * u.norm(dim=-1, keepdim=True).clamp_min(1e-15)
    return project(torch.tanh(sc_norm) / sc_norm * u, c)


def hyperbolic_mlr_logits(x, p, a, c):
    # Ganea et al. 2018, all (x, k) pairs through two matrix products (as hyperbolic_mlr.cpp).
    x, p = project(x, c), project(p, c)
    x2 = x.pow(2).sum(-1, keepdim=True)
    p2 = p.pow(2).sum(-1).unsqueeze(0)
    a_norm = a.pow(2).sum(-1).clamp_min(1e-30).sqrt().unsqueeze(0)
    pa = (p * a).sum(-1).unsqueeze(0)
    x_dot_p, x_dot_a = x @ p.t(), x @ a.t()
    one_minus_cx2 = (1 - c * x2).clamp_min(1e-30)
    b = (1 - c * p2).clamp_min(1e-30)
    big_a = 1 - 2 * c * x_dot_p + c * x2
    w = 2 * (b * x_dot_a - big_a * pa) / (b * one_minus_cx2)
    sc = math.sqrt(c)
    return (2 / b) * a_norm / sc * torch.asinh(sc * w / a_norm)


# --- the model ------------------------------------------------------------------------------

def mlp(n_in, hidden, n_out):
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(DROPOUT),
                         nn.Linear(hidden, n_out))


class Wrapped(nn.Module):
    """One child under a fixed name, so that parameter names match the C++ modules'."""

    def __init__(self, name, module):
        super().__init__()
        self.name = name
        self.add_module(name, module)

    def forward(self, x):
        return getattr(self, self.name)(x)


class FeatureNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.sketch_in = nn.Sequential(nn.Linear(IN_DIM, HIDDEN), nn.ReLU(), nn.Dropout(DROPOUT))
        self.photo_in = nn.Sequential(nn.Linear(IN_DIM, HIDDEN), nn.ReLU(), nn.Dropout(DROPOUT))
        self.out = nn.Linear(HIDDEN, DIM)

    def forward(self, v, modality):
        hidden = v.new_empty(v.size(0), HIDDEN)
        for m, layer in ((0, self.sketch_in), (1, self.photo_in)):
            rows = (modality == m).nonzero().squeeze(1)
            if rows.numel():
                hidden = hidden.index_copy(0, rows, layer(v.index_select(0, rows)))
        return self.out(hidden)


class MLR(nn.Module):
    def __init__(self, classes=CLASSES):
        super().__init__()
        self.p_raw = nn.Parameter(torch.zeros(classes, DIM))
        bound = 1 / math.sqrt(DIM)
        self.a_raw = nn.Parameter(torch.empty(classes, DIM).uniform_(-bound, bound))

    def forward(self, h):
        p = expmap0(self.p_raw, CURVATURE)
        a = self.a_raw * (1 - CURVATURE * p.pow(2).sum(-1, keepdim=True))
        return hyperbolic_mlr_logits(h, p, a, CURVATURE)


class HCMSN(nn.Module):
    def __init__(self, classes=CLASSES, sem_dim=SEM_DIM):
        super().__init__()
        self.feature_net = FeatureNet()
        self.semantic_net = Wrapped("mlp", mlp(DIM, HIDDEN, sem_dim))
        self.reconstruction_net = Wrapped("mlp", mlp(sem_dim, HIDDEN, DIM))
        self.projection_net = Wrapped("linear", nn.Linear(DIM, DIM))
        self.classifier = MLR(classes)
        self.discriminator = Wrapped("mlp", nn.Sequential(
            nn.Linear(sem_dim, DISC_HIDDEN), nn.LeakyReLU(0.2), nn.Linear(DISC_HIDDEN, 1)))

    def generator_parameters(self):
        return [p for n, p in self.named_parameters() if not n.startswith("discriminator.")]

    def forward(self, v, modality):
        f = self.feature_net(v, modality)
        s = self.semantic_net(f)
        u = self.projection_net(f)
        u = u * (CLIP_R / u.norm(dim=-1, keepdim=True).clamp_min(1e-15)).clamp_max(1.0)
        h = expmap0(u, CURVATURE)
        return f, s, h, self.classifier(h)


# --- the losses (model/losses.h) ------------------------------------------------------------

def class_means(x, group, groups, weight):
    w = weight.to(x.dtype)
    sums = torch.zeros(groups, x.size(1)).index_add(0, group, x * w.unsqueeze(1))
    counts = torch.zeros(groups).index_add(0, group, w)
    return sums / counts.clamp_min(1).unsqueeze(1), counts


def reconstruction_loss(model, s, f, labels, modality, w):
    group_labels, group = torch.unique(labels, return_inverse=True)
    g = group_labels.numel()
    target_f = f.detach()
    is_sketch = modality == 0
    sketch_mean, sketch_n = class_means(target_f, group, g, is_sketch)
    photo_mean, photo_n = class_means(target_f, group, g, ~is_sketch)
    target = torch.where(is_sketch.unsqueeze(1), photo_mean[group], sketch_mean[group])
    partner_n = torch.where(is_sketch, photo_n[group], sketch_n[group])
    rows = (partner_n > 0).nonzero().squeeze(1)
    cross = F.mse_loss(model.reconstruction_net(s.index_select(0, rows)),
                       target.index_select(0, rows))
    class_mean, _ = class_means(target_f, group, g, torch.ones_like(group))
    semantic = F.mse_loss(model.reconstruction_net(w.index_select(0, group_labels)), class_mean)
    return cross + semantic


def discriminator_loss(model, w_y, s):
    real = model.discriminator(w_y).squeeze(-1)
    fake = model.discriminator(s.detach()).squeeze(-1)
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) +
            F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def generator_losses(model, f, s, logits, labels, modality, semantics, w_y):
    disc_params = list(model.discriminator.parameters())
    for p in disc_params:  # D judges s but must not collect gradient from G's loss
        p.requires_grad_(False)
    adv_logits = model.discriminator(s).squeeze(-1)
    for p in disc_params:
        p.requires_grad_(True)
    terms = {
        "cls": F.cross_entropy(logits, labels),
        "adv": F.binary_cross_entropy_with_logits(adv_logits, torch.ones_like(adv_logits)),
        "align": (1 - F.cosine_similarity(s, w_y, dim=1, eps=1e-8)).mean(),
        "rec": reconstruction_loss(model, s, f, labels, modality, semantics),
    }
    terms["total"] = terms["cls"] + terms["adv"] + terms["align"] + terms["rec"]
    return terms


# --- the shared MobileNetV2 --------------------------------------------------------------------

def make_model(weights_dir):
    model = torchvision.models.mobilenet_v2()
    state = torch.load(os.path.join(weights_dir, "mobilenet_v2_imagenet.pth"))
    model.load_state_dict(state, strict=True)
    modules = dict(model.named_modules())
    for name in TF_SAME_CONVS:
        conv = modules[name]
        assert conv.stride == (2, 2) and conv.kernel_size == (3, 3), name
        conv.padding = (0, 0)
        conv.register_forward_pre_hook(lambda m, inp: (F.pad(inp[0], (0, 1, 0, 1)),))
    return model.eval()


def libtorch_resized(model, paths, size=224, batch=32):
    """Features with PIL decoding but hcmsn's resize (LibTorch, float, antialiased, rounded):
    isolates the resize from the rest (not timed)."""
    def one(path):
        with Image.open(path) as im:
            a = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)[None].float()
        a = F.interpolate(a, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True).round_().clamp_(0, 255)
        return (a[0] / 255 - 128 / 255) / (128 / 255)
    with torch.no_grad():
        return torch.cat([model.features(torch.stack([one(p) for p in paths[i:i + batch]]))
                          .mean((2, 3)) for i in range(0, len(paths), batch)]).numpy()


# --- equivalence: the same weights and batch give the same losses and gradients ----------------

def check_equivalence(bench, tolerance=1e-4):
    """Runs `bench --check` and recomputes its step here; returns the largest relative diff."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([bench, "--check", tmp, "--threads", "1"], check=True, capture_output=True)
        expected = json.load(open(os.path.join(tmp, "expected.json")))

        def load(name):
            return torch.from_numpy(np.load(os.path.join(tmp, name + ".npy")))

        model = HCMSN()
        names = [n for n, _ in model.named_parameters()]
        missing = sorted(set(names) ^ set(expected["grad_norm"]))
        assert not missing, f"parameter names differ between the models: {missing}"
        model.load_state_dict({n: load("param." + n) for n in names})
        x, labels, modality, semantics = (load(k) for k in ("x", "labels", "modality", "semantics"))
    model.eval()  # dropout off, as in the C++ check
    f, s, _, logits = model(x, modality)
    w_y = semantics.index_select(0, labels)
    got = {"disc": discriminator_loss(model, w_y, s)}
    terms = generator_losses(model, f, s, logits, labels, modality, semantics, w_y)
    terms["total"].backward()
    got.update(terms)
    diffs = {k: abs(got[k].item() - v) / max(abs(v), 1e-12) for k, v in expected["loss"].items()}
    for n, p in model.named_parameters():
        g = 0.0 if p.grad is None else p.grad.norm().item()
        diffs["grad " + n] = abs(g - expected["grad_norm"][n]) / max(abs(g), 1e-12)
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= tolerance, f"the models differ: {worst} off by {diffs[worst]:.2e}"
    return diffs[worst], worst
