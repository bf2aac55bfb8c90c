// What an existing file holds, told from its first bytes: enough to see that replacing it with a
// JSON report would destroy a photo, a weights file or a checkpoint (io/output_guard.h). A guess
// from a few bytes, never a validation: readers still check what they read.
//
// The signatures, tried in this order on the first kSniffBytes bytes:
//   hcmsn checked file  89 48 43 4D 53 4E 0D 0A, then its kind (io/checked_file.h)
//   PNG                 89 50 4E 47 0D 0A 1A 0A
//   JPEG                FF D8 FF
//   GIF                 "GIF87a" or "GIF89a"
//   BMP                 "BM", then 4 size bytes and 4 reserved zero bytes (no text has those)
//   WebP / other RIFF   "RIFF", 4 size bytes, "WEBP" / anything else
//   TIFF                "II*\0" or "MM\0*"
//   NumPy .npy          93 "NUMPY"
//   zip                 "PK\3\4", "PK\5\6" (torch.save's format since PyTorch 1.6, .pth files)
//   pickle              80 then protocol 2..5 (torch.save's older format, .pkl files)
//   safetensors         8-byte little-endian header length n (2 <= n < 100 MiB), then '{'
//   then, only when the bytes hold no NUL and no control character but tab, line breaks, form
//   feed, backspace and escape:
//   JSON                first non-space byte (after a UTF-8 BOM) '{' or '[', and the bytes are
//                       JSON up to where they end, or their first line is (JSON Lines); a
//                       BERT vocab.txt starting "[PAD]" is text
//   HTML                first non-space bytes "<!doctype html" or "<html" (any case)
//   SVG                 first non-space bytes "<svg", or "<?xml" with "<svg" further on
//   text                anything else
//   binary              what is left: unknown binary data
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hcmsn::io {

enum class FileContent {
  kMissing,     // nothing at the path (a dangling symlink included)
  kFolder,      // a directory
  kUnreadable,  // a file that could not be opened or read
  kEmpty,       // a file of 0 bytes
  kHcmsn,       // an hcmsn checked file; FileSniff::hcmsn_kind says which kind
  kPng,
  kJpeg,
  kGif,
  kBmp,
  kWebp,
  kRiff,  // a RIFF container other than WebP (WAV, AVI)
  kTiff,
  kNpy,
  kZip,
  kPickle,
  kSafetensors,
  kJson,
  kHtml,
  kSvg,
  kText,
  kBinary,  // none of the above
};

inline constexpr size_t kSniffBytes = 4096;

struct FileSniff {
  FileContent content = FileContent::kMissing;
  std::string hcmsn_kind;  // for kHcmsn: "checkpoint", "feature-cache", "gallery", ...
};

/// What the first bytes of a file say it holds (`head` is the start of the file, any length;
/// empty means an empty file).
FileSniff sniff_bytes(std::string_view head);

/// What is at `path` (symlinks followed). Reads at most kSniffBytes bytes; never throws.
FileSniff sniff_file(const std::string& path);

/// For messages: "a JPEG image", "an hcmsn checkpoint file", "JSON", "a folder".
std::string describe(const FileSniff& sniff);

}  // namespace hcmsn::io
