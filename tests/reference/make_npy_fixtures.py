#!/usr/bin/python3
"""Writes the tiny .npy fixtures used by tests/unit/io/npy_test.cpp.

Run with Debian's interpreter (numpy 1.24), from anywhere:

    /usr/bin/python3 tests/reference/make_npy_fixtures.py

Outputs go to tests/fixtures/npy/. `expected.json` lists, for every supported file, its shape,
dtype (the torch dtype name the reader must produce) and its values flattened in C order.
Unsupported files are listed under "unsupported" with the descr string the error must name.
Everything is deterministic so re-running produces identical bytes.
"""
import io
import json
import os

import numpy as np
from numpy.lib import format as npformat

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "npy")
OUT = os.path.normpath(OUT)

TORCH_DTYPE = {
    "f4": "float32",
    "f8": "float64",
    "i4": "int32",
    "i8": "int64",
    "u1": "uint8",
    "b1": "bool",
}


def save(name, arr, version=None, allow_pickle=False):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, arr, allow_pickle=allow_pickle)
    else:
        with open(path, "wb") as fh:
            npformat.write_array(fh, arr, version=version, allow_pickle=allow_pickle)
    # Verify numpy reads back what we meant to write.
    back = np.load(path, allow_pickle=allow_pickle)
    assert back.dtype == arr.dtype and back.shape == arr.shape, name
    return path


def plain(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return float(v)  # float32 -> float64 is exact; repr round-trips


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"supported": {}, "unsupported": {}}

    def supported(name, arr, **kw):
        save(name, arr, **kw)
        code = arr.dtype.str[1:]
        expected["supported"][name] = {
            "shape": list(arr.shape),
            "dtype": TORCH_DTYPE[code],
            "fortran_order": bool(arr.flags.f_contiguous and not arr.flags.c_contiguous),
            "values": [plain(v) for v in np.ascontiguousarray(arr).reshape(-1).tolist()],
        }

    def unsupported(name, arr, descr, **kw):
        save(name, arr, **kw)
        expected["unsupported"][name] = {"descr": descr}

    f32 = np.array([[1.5, -2.25, 3.0], [0.1, -0.0, 1e-40], [3.4e38, -7.0, 65504.0]],
                   dtype=np.float32)
    supported("c_f32_2d.npy", f32)
    f64 = np.array([[0.1, -1e300, 2.5e-310, 3.141592653589793],
                    [1.0 / 3.0, -0.0, 123456789.125, 2.0 ** 60]], dtype=np.float64)
    supported("c_f64_2d.npy", f64)
    # Same values as c_f32_2d but Fortran order on disk; a (2, 4) shape catches swapped axes.
    fo = np.asfortranarray(np.arange(8, dtype=np.float32).reshape(2, 4) * 0.5 - 1.0)
    supported("fortran_f32_2d.npy", fo)
    fo3 = np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4) + 0.25)
    supported("fortran_f64_3d.npy", fo3)
    supported("be_f4.npy", np.array([[1.0, -2.5], [3.25, 1e-3], [6.0e7, -0.125]], dtype=">f4"))
    supported("be_f8.npy", np.array([1.0 / 7.0, -2.5e100, 42.0], dtype=">f8"))
    supported("be_i8.npy", np.array([1, -2, 2 ** 40 + 3], dtype=">i8"))
    supported("v2_f32.npy", np.array([[1.0, 2.0], [3.0, 4.5]], dtype=np.float32), version=(2, 0))
    supported("v3_f64.npy", np.array([[-1.0, 0.5, 8.0]], dtype=np.float64), version=(3, 0))
    supported("i64_1d.npy", np.array([0, -1, 2 ** 62 + 7, -(2 ** 63), 2 ** 63 - 1], dtype=np.int64))
    supported("i32_1d.npy", np.array([7, -2 ** 31, 2 ** 31 - 1], dtype=np.int32))
    supported("u8.npy", np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8))
    supported("bool.npy", np.array([True, False, False, True, True], dtype=np.bool_))
    supported("scalar_0d.npy", np.array(2.75, dtype=np.float64))
    supported("empty_0x4.npy", np.zeros((0, 4), dtype=np.float32))
    supported("f32_3d.npy", (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 11.5) / 4.0)

    unsupported("complex64.npy", np.array([1 + 2j, 3 - 4j], dtype=np.complex64), "<c8")
    unsupported("object.npy", np.array([1, "a", None], dtype=object), "|O", allow_pickle=True)
    unsupported("structured.npy",
                np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]), "[('a', '<i4'), ('b', '<f8')]")
    unsupported("float16.npy", np.array([1.0, 2.0], dtype="<f2"), "<f2")
    unsupported("unicode.npy", np.array(["abc", "de"], dtype="<U3"), "<U3")

    # The reader must produce numpy-identical bytes for a plain C-order float32 matrix.
    buf = io.BytesIO()
    np.save(buf, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32))
    with open(os.path.join(OUT, "numpy_written_f32_2x3.npy"), "wb") as fh:
        fh.write(buf.getvalue())

    # One line per file keeps the JSON short and diffs readable.
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        fh.write("{\n")
        for i, section in enumerate(("supported", "unsupported")):
            fh.write(' "%s": {\n' % section)
            names = sorted(expected[section])
            for j, name in enumerate(names):
                entry = json.dumps(expected[section][name], sort_keys=True)
                fh.write('  "%s": %s%s\n' % (name, entry, "," if j + 1 < len(names) else ""))
            fh.write(" }%s\n" % ("," if i == 0 else ""))
        fh.write("}\n")
    json.load(open(os.path.join(OUT, "expected.json")))  # well-formed


if __name__ == "__main__":
    main()
