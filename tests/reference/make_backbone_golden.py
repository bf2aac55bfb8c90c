#!/usr/bin/env python3
"""Golden values of the pretrained backbones (tests/unit/vision/backbone_golden_test.cpp).

Independent reference: torchvision 0.14's own mobilenet_v2() and resnet50() (Debian
python3-torchvision), nothing from hcmsn. Writes
  tests/fixtures/backbone_state_dict_keys.json  torchvision's state-dict names and shapes
  tests/fixtures/backbone_golden.json           pooled features and top-5 logits

* MobileNetV2: the real weights of ../shared/weights (torch.load of the .pth), on formula inputs,
  once with torchvision's padding and once with TF-"SAME" padding emulated as the weights'
  README says (padding 0 and F.pad(x, (before_w, after_w, before_h, after_h)) in front of every
  stride-2 conv, total = max((ceil(H/2) - 1) * 2 + 3 - H, 0), floor(total/2) before). One input
  is 224x224 (all even sizes), one 161x190 (odd sizes on the way: the general formula).
* ResNet-50: no weights are shared, so every state-dict tensor k (torchvision order, counters
  included in the count) is filled from s = sin(0.37 * i + 0.11 * k), i its flat index,
  computed in float64 then rounded to float32:
    *.num_batches_tracked   0
    conv / linear weights   s * 2 / sqrt(fan_in), fan_in = numel / shape[0]
    *.running_var           0.75 + 0.25 * s
    *.running_mean          0.1 * s
    other 1-d weight        1 + 0.2 * s          (BatchNorm scale)
    other 1-d bias          0.1 * s              (BatchNorm shift, fc bias)
Inputs (float64 then float32): x[b, c, h, w] = sin(0.05 * (h + 1) * (c + 1) + 0.031 * w * (b + 1)
+ 0.7 * b), for a batch of 2 unless noted.

Usage: make_backbone_golden.py [SHARED_WEIGHTS_DIR]   (default ../shared/weights from the repo)
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
HEAD = 16  # leading pooled dimensions stored


def formula_input(batch, height, width):
    b = torch.arange(batch, dtype=torch.float64).view(-1, 1, 1, 1)
    c = torch.arange(3, dtype=torch.float64).view(1, -1, 1, 1)
    h = torch.arange(height, dtype=torch.float64).view(1, 1, -1, 1)
    w = torch.arange(width, dtype=torch.float64).view(1, 1, 1, -1)
    return torch.sin(0.05 * (h + 1) * (c + 1) + 0.031 * w * (b + 1) + 0.7 * b).float()


class TfSamePad(torch.nn.Module):
    """Wraps a stride-2 3x3 conv: TF 'SAME' padding, then the conv with padding 0."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv
        conv.padding = (0, 0)

    @staticmethod
    def split(size):
        total = max((math.ceil(size / 2) - 1) * 2 + 3 - size, 0)
        return total // 2, total - total // 2

    def forward(self, x):
        top, bottom = self.split(x.shape[2])
        left, right = self.split(x.shape[3])
        return self.conv(F.pad(x, (left, right, top, bottom)))


def emulate_tf_same(model):
    count = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Conv2d) and child.stride == (2, 2):
                assert child.kernel_size == (3, 3)
                setattr(module, child_name, TfSamePad(child))
                count += 1
    assert count == 5, count
    return model


def summary(pooled, logits):
    top = torch.topk(logits, 5, dim=1)
    return {
        "pooled_head": pooled[:, :HEAD].tolist(),
        "pooled_norm": pooled.norm(dim=1).tolist(),
        "pooled_mean": pooled.mean(dim=1).tolist(),
        "top5_index": top.indices.tolist(),
        "top5_logit": top.values.tolist(),
    }


def mobilenet_cases(weights_dir):
    state = torch.load(os.path.join(weights_dir, "mobilenet_v2_imagenet.pth"))
    inputs = {"224x224": formula_input(2, 224, 224), "161x190": formula_input(1, 161, 190)}
    out = {}
    for padding in ("tf_same", "torchvision"):
        model = torchvision.models.mobilenet_v2()
        model.load_state_dict(state, strict=True)
        if padding == "tf_same":
            emulate_tf_same(model)
        model.eval()
        for size, x in inputs.items():
            with torch.no_grad():
                pooled = model.features(x).mean((2, 3))
                logits = model.classifier(pooled)
            out[f"{padding}_{size}"] = summary(pooled, logits)
    return out


def fill_resnet(model):
    state = model.state_dict()
    filled = {}
    for k, (name, t) in enumerate(state.items()):
        if name.endswith("num_batches_tracked"):
            filled[name] = torch.zeros_like(t)
            continue
        i = torch.arange(t.numel(), dtype=torch.float64)
        s = torch.sin(0.37 * i + 0.11 * k).view(t.shape)
        if t.dim() >= 2:
            v = s * 2.0 / math.sqrt(t.numel() / t.shape[0])
        elif name.endswith("running_var"):
            v = 0.75 + 0.25 * s
        elif name.endswith("running_mean"):
            v = 0.1 * s
        elif name.endswith("weight"):
            v = 1.0 + 0.2 * s
        else:
            v = 0.1 * s
        filled[name] = v.float()
    model.load_state_dict(filled, strict=True)


def resnet_case():
    model = torchvision.models.resnet50()
    fill_resnet(model)
    model.eval()
    x = formula_input(2, 224, 224)
    with torch.no_grad():
        f = model.conv1(x)
        f = model.maxpool(model.relu(model.bn1(f)))
        f = model.layer4(model.layer3(model.layer2(model.layer1(f))))
        pooled = f.mean((2, 3))
        logits = model.fc(pooled)
        assert torch.allclose(logits, model(x), atol=1e-5)
    return {"224x224": summary(pooled, logits)}


def keys_of(model):
    return [[name, list(t.shape)] for name, t in model.state_dict().items()]


def main():
    weights_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "weights")
    torch.set_num_threads(1)
    keys = {
        "mobilenet_v2": keys_of(torchvision.models.mobilenet_v2()),
        "resnet50": keys_of(torchvision.models.resnet50()),
    }
    with open(os.path.join(FIXTURES, "backbone_state_dict_keys.json"), "w") as f:
        json.dump(keys, f, separators=(",", ":"))
        f.write("\n")
    golden = {
        "generator": "tests/reference/make_backbone_golden.py, torch " + torch.__version__
        + ", torchvision " + torchvision.__version__,
        "mobilenet_v2": mobilenet_cases(weights_dir),
        "resnet50": resnet_case(),
    }
    with open(os.path.join(FIXTURES, "backbone_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
