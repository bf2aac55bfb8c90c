"""Writes the state-dict fixtures read by tests/unit/io/{safetensors,state_dict}_test.cpp.

Independent writers: the `safetensors` package and torch.save (zip format). Run with a Python
that has torch and safetensors (e.g. `python tests/reference/make_state_dict_fixtures.py`); the
outputs are deterministic formula tensors, so the C++ test recomputes the expected values.
"""
import json
import os
from collections import OrderedDict

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "state_dict")


def formula(shape, k, dtype):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    return (torch.sin(0.37 * i + 0.11 * k) * 3.0).reshape(shape).to(dtype)


def main():
    os.makedirs(OUT, exist_ok=True)
    tensors = OrderedDict()
    tensors["linear.weight"] = formula((3, 4), 0, torch.float32)
    tensors["linear.bias"] = formula((3,), 1, torch.float32)
    tensors["bn.running_mean"] = formula((4,), 2, torch.float32)
    tensors["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    tensors["half"] = formula((2, 2), 4, torch.float16)
    tensors["bf16"] = formula((5,), 5, torch.bfloat16)
    tensors["ints"] = torch.arange(-3, 3, dtype=torch.int32)
    tensors["bytes"] = torch.arange(0, 250, 50, dtype=torch.uint8)
    tensors["flags"] = torch.tensor([True, False, True])
    tensors["double"] = formula((2, 1, 2), 9, torch.float64)
    tensors["empty"] = torch.zeros((0, 3), dtype=torch.float32)
    save_file(dict(tensors), os.path.join(OUT, "mixed.safetensors"), metadata={"source": "hcmsn test"})

    # A torch.save'd module state dict (OrderedDict with _metadata), and a training checkpoint
    # nesting it under "state_dict".
    module = torch.nn.Sequential(OrderedDict(linear=torch.nn.Linear(4, 3), bn=torch.nn.BatchNorm1d(3)))
    with torch.no_grad():
        for k, (name, t) in enumerate(module.state_dict().items()):
            if t.is_floating_point():
                t.copy_(formula(tuple(t.shape), k, t.dtype))
            else:
                t.fill_(5)
    torch.save(module.state_dict(), os.path.join(OUT, "module.pth"))
    torch.save({"epoch": 3, "state_dict": module.state_dict()}, os.path.join(OUT, "checkpoint.pth"))
    keys = [[name, list(t.shape), str(t.dtype)] for name, t in module.state_dict().items()]
    with open(os.path.join(OUT, "module_keys.json"), "w") as f:
        json.dump(keys, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
