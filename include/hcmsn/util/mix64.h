// The splitmix64 finaliser: turns correlated seeds ((seed, epoch), (seed, step)) into
// well-spread 64-bit engine seeds, so streams derived from neighbouring values are independent.
#pragma once

#include <cstdint>

namespace hcmsn::util {

inline uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace hcmsn::util
