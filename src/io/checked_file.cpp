#include "hcmsn/io/checked_file.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::io {
namespace {

constexpr std::string_view kMagic("\x89HCMSN\r\n", 8);
// Header bytes besides the kind: magic, K, version, N, payload CRC, header CRC.
constexpr size_t kFixedHeaderLen = 8 + 4 + 4 + 8 + 4 + 4;

bool valid_kind(std::string_view kind) {
  if (kind.empty() || kind.size() > kMaxKindLength) return false;
  return std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

struct Header {
  std::string kind;
  uint32_t version = 0;
  size_t payload_offset = 0;
};

[[noreturn]] void fail_truncated(const std::string& what, const std::string& detail) {
  throw Error(detail::concat("'", what, "' is truncated (", detail,
                             "); it was cut short, e.g. by an interrupted copy or a full disk; "
                             "copy it again or re-create it"));
}

[[noreturn]] void fail_not_hcmsn(std::string_view bytes, const std::string& what,
                                 const std::string& expected_kind) {
  std::string looks_like;
  if (bytes.substr(0, 6) == std::string_view("\x93NUMPY", 6)) {
    looks_like = " (it looks like a NumPy .npy file)";
  } else if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    looks_like = " (it looks like a zip archive, e.g. a PyTorch torch.save file)";
  }
  throw Error(detail::concat(
      "'", what, "' is not an hcmsn file: its first bytes are not the hcmsn ", "magic number",
      looks_like, "; pass the ", expected_kind, " file that hcmsn wrote"));
}

// Checks everything in the order that gives the most useful message: identity (magic), then
// integrity of the header, then meaning (kind, version), then the payload's length and checksum.
Header parse_header(std::string_view bytes, const std::string& expected_kind,
                    uint32_t max_supported_version, const std::string& what) {
  if (bytes.size() < kMagic.size()) {
    if (bytes.empty()) fail_truncated(what, "the file is empty");
    if (kMagic.substr(0, bytes.size()) == bytes) {
      fail_truncated(what, detail::concat("only ", bytes.size(), " bytes"));
    }
    fail_not_hcmsn(bytes, what, expected_kind);
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    if (bytes.substr(1, 5) == kMagic.substr(1, 5)) {
      throw Error(detail::concat(
          "'", what,
          "' is an hcmsn file damaged by a text-mode transfer (its line endings or high bits "
          "were changed); copy the original again in binary mode"));
    }
    fail_not_hcmsn(bytes, what, expected_kind);
  }
  if (bytes.size() < kMagic.size() + 4) {
    fail_truncated(what, detail::concat("only ", bytes.size(), " bytes, the header is incomplete"));
  }
  const uint64_t kind_len = get_le(bytes, 8, 4);
  HCMSN_CHECK(kind_len >= 1 && kind_len <= kMaxKindLength, "'", what,
              "' is corrupt: its header gives a kind length of ", kind_len, " (at most ",
              kMaxKindLength, "); re-create it");
  const size_t header_len = kFixedHeaderLen + kind_len;
  if (bytes.size() < header_len) {
    fail_truncated(what,
                   detail::concat("only ", bytes.size(), " bytes, the header needs ", header_len));
  }
  const size_t crc_at = header_len - 8;
  const uint32_t header_crc = static_cast<uint32_t>(get_le(bytes, crc_at + 4, 4));
  HCMSN_CHECK(crc32_of(bytes.substr(0, crc_at + 4)) == header_crc, "'", what,
              "' is corrupt: header checksum mismatch; re-create it");

  Header h;
  h.kind = std::string(bytes.substr(12, kind_len));
  h.version = static_cast<uint32_t>(get_le(bytes, 12 + kind_len, 4));
  const uint64_t payload_len = get_le(bytes, 16 + kind_len, 8);
  const uint32_t payload_crc = static_cast<uint32_t>(get_le(bytes, crc_at, 4));
  h.payload_offset = header_len;
  // Only a writer bug gets past the header checksum with these wrong.
  HCMSN_CHECK(valid_kind(h.kind) && h.version >= 1, "'", what,
              "' has an invalid header (kind or version); re-create it");

  HCMSN_CHECK(h.kind == expected_kind, "'", what, "' is a ", h.kind, " file, expected a ",
              expected_kind, " file; pass the right file");
  HCMSN_CHECK(h.version <= max_supported_version, "'", what, "' was written by a newer hcmsn (",
              h.kind, " format version ", h.version, "; this build reads up to version ",
              max_supported_version, "); upgrade hcmsn to read it");

  const uint64_t available = bytes.size() - header_len;
  if (payload_len > available) {
    fail_truncated(
        what, detail::concat("the payload has ", available, " of its ", payload_len, " bytes"));
  }
  HCMSN_CHECK(payload_len == available, "'", what, "' is corrupt: ", available - payload_len,
              " unexpected bytes after the payload (was something appended?); re-create it");
  HCMSN_CHECK(crc32_of(bytes.substr(header_len)) == payload_crc, "'", what,
              "' is corrupt: checksum mismatch in the payload; re-create it");
  return h;
}

}  // namespace

std::string peek_checked_kind(std::string_view head) {
  if (head.size() < kMagic.size() + 4 || head.substr(0, kMagic.size()) != kMagic) return "";
  const uint64_t kind_len = get_le(head, 8, 4);
  if (kind_len < 1 || kind_len > kMaxKindLength || head.size() < 12 + kind_len) return "";
  const std::string_view kind = head.substr(12, kind_len);
  return valid_kind(kind) ? std::string(kind) : "";
}

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t get_le(std::string_view bytes, size_t offset, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

uint32_t crc32_of(std::string_view bytes, uint32_t crc) {
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string to_checked_bytes(const std::string& kind, uint32_t version, std::string_view payload) {
  HCMSN_CHECK(valid_kind(kind), "invalid file kind '", kind, "': use 1 to ", kMaxKindLength,
              " characters of a-z, 0-9 and '-'");
  HCMSN_CHECK(version >= 1, "invalid format version 0 for a ", kind, " file: versions start at 1");
  std::string out;
  out.reserve(kFixedHeaderLen + kind.size() + payload.size());
  out.append(kMagic);
  put_le(out, kind.size(), 4);
  out.append(kind);
  put_le(out, version, 4);
  put_le(out, payload.size(), 8);
  put_le(out, crc32_of(payload), 4);
  put_le(out, crc32_of(out), 4);
  out.append(payload);
  return out;
}

void write_checked_file(const std::string& path, const std::string& kind, uint32_t version,
                        std::string_view payload) {
  util::write_file_atomic(path, to_checked_bytes(kind, version, payload));
}

CheckedFile parse_checked_file(std::string_view bytes, const std::string& expected_kind,
                               uint32_t max_supported_version, const std::string& what) {
  Header h = parse_header(bytes, expected_kind, max_supported_version, what);
  return {std::move(h.kind), h.version, std::string(bytes.substr(h.payload_offset))};
}

CheckedFile read_checked_file(const std::string& path, const std::string& expected_kind,
                              uint32_t max_supported_version) {
  std::string bytes = util::read_file(path);
  Header h = parse_header(bytes, expected_kind, max_supported_version, path);
  bytes.erase(0, h.payload_offset);  // in place: large caches are not held twice
  return {std::move(h.kind), h.version, std::move(bytes)};
}

}  // namespace hcmsn::io
