// A fingerprint of a file's bytes, to tell the same photo under two paths (issue 14: a gallery
// skips content it already holds). 64-bit FNV-1a over the bytes, as 16 hex digits: not a
// cryptographic hash, and two different photos share one with probability about n²/2^65 for n
// photos (3e-8 for a million).
#pragma once

#include <string>
#include <string_view>

namespace hcmsn::util {

/// FNV-1a (64-bit) of `bytes` as 16 lower-case hex digits.
std::string content_hash(std::string_view bytes);

}  // namespace hcmsn::util
