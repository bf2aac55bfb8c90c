// Keeping freed memory for reuse. glibc serves allocations above 32 MiB with a fresh mmap and
// returns them with munmap, so every large activation of every layer of every batch (a
// MobileNetV2 batch of 32 at 224 px has 154 MB tensors) is faulted in and zeroed again by the
// kernel: measured 10 million page faults and more system than user time for 600 images, on
// both hcmsn and PyTorch. Serving everything from the heap and keeping it removes that: 2.4×
// the extraction rate (bench/compare_extract.py, 2 threads: 83.5 vs 34.5 images/s), at the cost
// of a higher resident peak, since the process keeps what it once needed (extracting the 4,679
// images of the real-data recipe: 1.35 GB, /usr/bin/time).
#pragma once

namespace hcmsn::util {

/// Makes the C allocator keep and reuse freed memory (glibc: no mmap for large blocks, no
/// trimming). Call once, early, before large allocations; a no-op on other C libraries.
/// Returns true when applied.
bool keep_freed_memory();

}  // namespace hcmsn::util
