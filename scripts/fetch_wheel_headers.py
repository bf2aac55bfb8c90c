#!/usr/bin/env python3
"""Extracts the include/ folders of PyPI wheels into DIR without downloading the wheels.

A wheel is a zip file: its central directory (at the end) lists every member's offset, so HTTP
range requests fetch the directory and then only the bytes of the header files (a few MB of
PyTorch's 906 MB CUDA wheel). Every extracted member is checked against the CRC-32 that the
zip records for it. The check scripts (fetch_libtorch2_headers.sh, fetch_cuda_headers.sh) fall
back to a whole `pip download` when this fails (a server without range requests, say).

Usage: fetch_wheel_headers.py DIR MEMBER_PREFIX_REGEX NAME==VERSION:FILENAME_SUFFIX...
  e.g. fetch_wheel_headers.py out '^torch/include/' torch==2.5.1:cp311-cp311-manylinux1_x86_64.whl
"""
import io
import os
import re
import sys
import urllib.parse
import urllib.request
import zipfile

INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
BLOCK = 1 << 20  # fetch granularity; a wheel's header files lie next to each other


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file that fetches 1 MiB blocks on demand."""

    def __init__(self, url):
        super().__init__()
        self.url = url
        self.pos = 0
        self.blocks = {}
        self.fetched = 0
        first = self._get(0, 0)
        self.size = int(first[1].split("/")[1])

    def _get(self, begin, end):
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={begin}-{end}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            if response.status != 206:
                raise OSError(f"{self.url}: the server ignores range requests")
            data = response.read()
            return data, response.headers["Content-Range"]

    def _block(self, index):
        if index not in self.blocks:
            begin = index * BLOCK
            data, _ = self._get(begin, min(begin + BLOCK, self.size) - 1)
            self.blocks[index] = data
            self.fetched += len(data)
        return self.blocks[index]

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer):
        n = min(len(buffer), max(0, self.size - self.pos))
        done = 0
        while done < n:
            index, within = divmod(self.pos + done, BLOCK)
            chunk = self._block(index)[within:within + n - done]
            buffer[done:done + len(chunk)] = chunk
            done += len(chunk)
        self.pos += n
        return n


def wheel_url(name, version, suffix):
    with urllib.request.urlopen(f"{INDEX}/{name}/", timeout=120) as response:
        page = response.read().decode()
    stem = f"{name.replace('-', '_')}-{version}-"
    for href in re.findall(r'href="([^"]+)"', page):
        file = href.split("#")[0].rsplit("/", 1)[-1]
        if file.startswith(stem) and file.endswith(suffix):
            return urllib.parse.urljoin(f"{INDEX}/{name}/", href.split("#")[0]), file
    raise OSError(f"no wheel {stem}*{suffix} on {INDEX}")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, prefix = sys.argv[1], re.compile(sys.argv[2])
    for spec in sys.argv[3:]:
        requirement, suffix = spec.split(":", 1)
        name, version = requirement.split("==")
        url, file = wheel_url(name, version, suffix)
        remote = RangeFile(url)
        with zipfile.ZipFile(io.BufferedReader(remote, BLOCK)) as wheel:
            members = sorted((m for m in wheel.infolist() if prefix.search(m.filename)),
                             key=lambda m: m.header_offset)
            if not members:
                raise OSError(f"{file} has no member matching {prefix.pattern}")
            for member in members:
                wheel.extract(member, out)  # zipfile checks the member's CRC-32
        print(f"{len(members)} files of {file} ({remote.size >> 20} MB) in {out}, "
              f"{remote.fetched >> 20} MB fetched")


if __name__ == "__main__":
    main()
