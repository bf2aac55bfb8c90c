#include "hcmsn/util/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hcmsn::util {

bool keep_freed_memory() {
#if defined(__GLIBC__)
  // Large blocks from the heap instead of mmap; freed memory stays (the top of the heap is
  // trimmed only when over 1 GiB is free); the heap grows in 64 MiB steps, not per batch.
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 &&
                  mallopt(M_TOP_PAD, 64 << 20) == 1;
  return ok;
#else
  return false;
#endif
}

}  // namespace hcmsn::util
