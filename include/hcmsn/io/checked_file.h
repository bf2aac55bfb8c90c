// The envelope of every binary file hcmsn writes for itself (trainer checkpoints, feature
// caches, gallery indexes): a magic number, the kind of file, a format version, the payload
// length and two CRC-32s, then the payload. Files are written atomically
// (util::write_file_atomic), so a reader sees the old file or the new one; the envelope catches
// what atomicity cannot: a file cut short by a copy, flipped bits, a text-mode transfer, the
// wrong file passed, or a file from a newer hcmsn.
//
// Layout, all integers little-endian (K = kind length, N = payload length):
//
//   offset  size  field
//   0       8     magic 89 48 43 4D 53 4E 0D 0A ("\x89HCMSN\r\n"); the high-bit byte catches
//                 7-bit transfers, "\r\n" catches line-ending conversion either way
//   8       4     K, uint32, 1..kMaxKindLength
//   12      K     kind, ASCII [a-z0-9-], e.g. "checkpoint", "feature-cache", "index"
//   12+K    4     format version of the payload, uint32, >= 1 (owned by each kind)
//   16+K    8     N, uint64
//   24+K    4     CRC-32 of the payload (zlib's CRC-32, the one of gzip/PNG)
//   28+K    4     CRC-32 of bytes [0, 28+K), i.e. magic through payload CRC
//   32+K    N     payload
//
// The file ends exactly after the payload. The header CRC is checked before any header field is
// trusted, so a corrupted length reads as corruption, not as a truncation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hcmsn::io {

inline constexpr size_t kMaxKindLength = 64;

/// CRC-32 (ISO-HDLC: zlib, gzip, PNG) of `bytes`, continuing from `crc` (0 to start).
/// crc32_of("123456789") == 0xCBF43926.
uint32_t crc32_of(std::string_view bytes, uint32_t crc = 0);

/// Appends the low `bytes` bytes of `value`, little-endian (the byte order of every hcmsn format).
void put_le(std::string& out, uint64_t value, int bytes);
/// Reads `count` little-endian bytes at `offset`; the caller checks the bounds.
uint64_t get_le(std::string_view bytes, size_t offset, int count);

/// Envelope bytes for `payload`. Throws hcmsn::Error unless `kind` is 1..kMaxKindLength
/// characters of [a-z0-9-] and `version` >= 1.
std::string to_checked_bytes(const std::string& kind, uint32_t version, std::string_view payload);

/// Writes the envelope to `path` atomically (replacing an existing file).
void write_checked_file(const std::string& path, const std::string& kind, uint32_t version,
                        std::string_view payload);

struct CheckedFile {
  std::string kind;
  uint32_t version = 0;
  std::string payload;
};

/// Parses envelope bytes; `what` names the source in error messages. Throws hcmsn::Error, saying
/// what happened and what to do, when the bytes are not an hcmsn file, were altered by a
/// text-mode transfer, are of another kind than `expected_kind`, carry a version above
/// `max_supported_version`, are truncated or have trailing bytes, or fail a checksum. Never
/// reads out of bounds, whatever the bytes.
CheckedFile parse_checked_file(std::string_view bytes, const std::string& expected_kind,
                               uint32_t max_supported_version,
                               const std::string& what = "<memory>");

/// The kind an envelope declares, from a file's first bytes (the magic, K and the kind, i.e.
/// at least 12 + K bytes), checking nothing else: for telling files apart (io/file_content.h),
/// never for trusting one. "" when `head` does not start that way.
std::string peek_checked_kind(std::string_view head);

/// Reads and parses `path` (errors name the path). The payload is not copied a second time.
CheckedFile read_checked_file(const std::string& path, const std::string& expected_kind,
                              uint32_t max_supported_version);

}  // namespace hcmsn::io
