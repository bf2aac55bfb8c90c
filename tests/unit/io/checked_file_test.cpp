// Tests of the checked-file envelope: the documented byte layout (built by hand here), round
// trips, every error kind, and exhaustive single-byte flips and truncations.
#include "hcmsn/io/checked_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::io {
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::error_of;

std::string le(uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  return out;
}

std::string binary_payload() {
  std::string p("a\0b\0\0\xff\x80\r\n\x1a", 10);
  for (int i = 0; i < 256; ++i) p.push_back(static_cast<char>(i));
  return p;
}

std::string cache_parse_error(const std::string& bytes, const std::string& kind = "feature-cache",
                              uint32_t max_version = 1) {
  return error_of([&] { parse_checked_file(bytes, kind, max_version, "x.bin"); });
}

std::vector<std::string> temp_leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (contains(name, ".tmp.")) out.push_back(name);
  }
  return out;
}

// ----------------------------------------------------------------------------------------------
// CRC-32 and the byte layout

TEST(CheckedFileCrc, KnownTestVectors) {
  EXPECT_EQ(crc32_of("123456789"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  EXPECT_EQ(crc32_of("abc"), 0x352441C2u);
  EXPECT_EQ(crc32_of(""), 0u);
  EXPECT_EQ(crc32_of(std::string(32, '\0')), 0x190A55ADu);
  // Continuing a running CRC equals one pass over the concatenation.
  EXPECT_EQ(crc32_of("6789", crc32_of("12345")), 0xCBF43926u);
}

TEST(CheckedFileLayout, BytesMatchTheDocumentedLayout) {
  const std::string head =
      std::string("\x89HCMSN\r\n", 8) + le(1, 4) + "t" + le(7, 4) + le(3, 8) + le(0x352441C2u, 4);
  const std::string want = head + le(crc32_of(head), 4) + "abc";
  EXPECT_EQ(to_checked_bytes("t", 7, "abc"), want);
  EXPECT_EQ(want.size(), 32u + 1u + 3u);
}

TEST(CheckedFileLayout, HeaderCrcIsTheStandardCrcOfTheHeaderBytes) {
  // Independently of crc32_of: the ISO-HDLC CRC of the 29 header bytes before the header CRC,
  // computed bit by bit.
  const std::string bytes = to_checked_bytes("t", 7, "abc");
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < 29; ++i) {
    crc ^= static_cast<unsigned char>(bytes[i]);
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  EXPECT_EQ(le(~crc, 4), bytes.substr(29, 4));
}

// ----------------------------------------------------------------------------------------------
// Round trips

TEST(CheckedFileRoundTrip, EmptyBinaryAndLargePayloads) {
  const std::string dir = test::temp_dir("checked_file_round_trip");
  std::string large(10 * 1000 * 1000, '\0');
  std::mt19937 rng(7);
  for (auto& c : large) c = static_cast<char>(rng());
  for (const std::string& payload : {std::string(), binary_payload(), large}) {
    SCOPED_TRACE(payload.size());
    const std::string path = dir + "/f.bin";
    write_checked_file(path, "checkpoint", 3, payload);
    const CheckedFile f = read_checked_file(path, "checkpoint", 3);
    EXPECT_EQ(f.kind, "checkpoint");
    EXPECT_EQ(f.version, 3u);
    EXPECT_TRUE(f.payload == payload);
    EXPECT_EQ(fs::file_size(path), 32 + 10 + payload.size());
    const CheckedFile g = parse_checked_file(util::read_file(path), "checkpoint", 5);
    EXPECT_TRUE(g.payload == payload);
  }
}

TEST(CheckedFileRoundTrip, OlderVersionsAreReadAndReported) {
  const std::string bytes = to_checked_bytes("index", 2, "p");
  EXPECT_EQ(parse_checked_file(bytes, "index", 2).version, 2u);
  EXPECT_EQ(parse_checked_file(bytes, "index", 9).version, 2u);
}

TEST(CheckedFileWrite, IsAtomicAndReplacesAnExistingFile) {
  const std::string dir = test::temp_dir("checked_file_atomic");
  const std::string path = dir + "/c.bin";
  util::write_file_atomic(path, std::string(5000, 'x'));  // larger than the new file
  write_checked_file(path, "checkpoint", 1, "new");
  EXPECT_EQ(read_checked_file(path, "checkpoint", 1).payload, "new");
  EXPECT_EQ(fs::file_size(path), 32u + 10u + 3u);
  EXPECT_TRUE(temp_leftovers(dir).empty());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"c.bin"});
}

TEST(CheckedFileWrite, RejectsBadKindsAndVersionZero) {
  for (const std::string& kind :
       {std::string(), std::string("Checkpoint"), std::string("a b"), std::string("x/y"),
        std::string(kMaxKindLength + 1, 'a'), std::string("k\n")}) {
    SCOPED_TRACE(kind);
    EXPECT_TRUE(contains(error_of([&] { to_checked_bytes(kind, 1, ""); }), "kind"));
  }
  EXPECT_NO_THROW(to_checked_bytes(std::string(kMaxKindLength, 'a'), 1, ""));
  EXPECT_NO_THROW(to_checked_bytes("feature-cache-2", 1, ""));
  EXPECT_TRUE(contains(error_of([&] { to_checked_bytes("index", 0, ""); }), "version"));
}

TEST(CheckedFileWrite, MissingDirectoryIsAnErrorNamingThePath) {
  const std::string path = test::temp_dir("checked_file_nodir") + "/missing/c.bin";
  EXPECT_TRUE(contains(error_of([&] { write_checked_file(path, "index", 1, "p"); }), path));
}

// ----------------------------------------------------------------------------------------------
// Every error kind, with a message that says what happened and what to do

TEST(CheckedFileErrors, MissingFileNamesThePath) {
  const std::string path = test::temp_dir("checked_file_missing") + "/nope.bin";
  EXPECT_TRUE(contains(error_of([&] { read_checked_file(path, "index", 1); }), path));
}

TEST(CheckedFileErrors, NotAnHcmsnFileNamesThePath) {
  const std::string dir = test::temp_dir("checked_file_magic");
  const std::string path = dir + "/notes.txt";
  util::write_file_atomic(path, "hello, this is a text file\n");
  const std::string msg = error_of([&] { read_checked_file(path, "feature-cache", 1); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "not an hcmsn file")) << msg;
  EXPECT_TRUE(contains(msg, "feature-cache")) << msg;

  EXPECT_TRUE(contains(cache_parse_error("x"), "not an hcmsn file"));
  EXPECT_TRUE(
      contains(cache_parse_error(std::string("\x93NUMPY\x01\x00vvvvvvvvvvvv", 20)), ".npy"));
  EXPECT_TRUE(contains(cache_parse_error(std::string("PK\x03\x04zipzipzipzip", 16)), "zip"));
}

TEST(CheckedFileErrors, TextModeTransferIsRecognised) {
  const std::string good = to_checked_bytes("index", 1, "payload\n");
  std::string crlf_to_lf = good;
  crlf_to_lf.erase(6, 1);  // "\r\n" -> "\n"
  std::string lf_to_crlf = good;
  lf_to_crlf.insert(7, "\r");  // "\r\n" -> "\r\r\n"
  std::string seven_bit = good;
  seven_bit[0] = static_cast<char>(0x09);
  for (const auto& bytes : {crlf_to_lf, lf_to_crlf, seven_bit}) {
    const std::string msg = cache_parse_error(bytes, "index");
    EXPECT_TRUE(contains(msg, "text-mode transfer")) << msg;
    EXPECT_TRUE(contains(msg, "binary mode")) << msg;
  }
}

TEST(CheckedFileErrors, WrongKindSaysWhatItIs) {
  const std::string msg =
      cache_parse_error(to_checked_bytes("checkpoint", 1, "p"), "feature-cache");
  EXPECT_TRUE(contains(msg, "is a checkpoint file, expected a feature-cache file")) << msg;
  EXPECT_TRUE(contains(msg, "x.bin")) << msg;
}

TEST(CheckedFileErrors, NewerVersionAsksToUpgrade) {
  const std::string msg = cache_parse_error(to_checked_bytes("index", 4, "p"), "index", 3);
  EXPECT_TRUE(contains(msg, "newer hcmsn")) << msg;
  EXPECT_TRUE(contains(msg, "version 4")) << msg;
  EXPECT_TRUE(contains(msg, "up to version 3")) << msg;
  EXPECT_TRUE(contains(msg, "upgrade")) << msg;
}

TEST(CheckedFileErrors, TruncatedPayloadIsReportedAsTruncated) {
  const std::string bytes = to_checked_bytes("index", 1, "0123456789");
  const std::string msg = cache_parse_error(bytes.substr(0, bytes.size() - 4), "index");
  EXPECT_TRUE(contains(msg, "truncated")) << msg;
  EXPECT_TRUE(contains(msg, "6 of its 10 bytes")) << msg;
  EXPECT_TRUE(contains(cache_parse_error("", "index"), "empty"));
}

TEST(CheckedFileErrors, TrailingBytesAreRejected) {
  const std::string msg = cache_parse_error(to_checked_bytes("index", 1, "p") + "zz", "index");
  EXPECT_TRUE(contains(msg, "2 unexpected bytes after the payload")) << msg;
}

TEST(CheckedFileErrors, PayloadChecksumMismatchSaysRecreate) {
  std::string bytes = to_checked_bytes("index", 1, "0123456789");
  bytes[bytes.size() - 3] ^= 0x10;
  const std::string msg = cache_parse_error(bytes, "index");
  EXPECT_TRUE(contains(msg, "corrupt: checksum mismatch")) << msg;
  EXPECT_TRUE(contains(msg, "re-create it")) << msg;
}

TEST(CheckedFileErrors, CorruptHeaderIsNotMistakenForTruncationOrAVersion) {
  const std::string bytes = to_checked_bytes("index", 1, "0123456789");
  std::string version_flip = bytes;
  version_flip[8 + 4 + 5] ^= 0x02;  // version 1 -> 3
  EXPECT_TRUE(contains(cache_parse_error(version_flip, "index"), "header checksum mismatch"));
  std::string length_flip = bytes;
  length_flip[8 + 4 + 5 + 4] ^= 0x40;  // payload length 10 -> 74
  EXPECT_TRUE(contains(cache_parse_error(length_flip, "index"), "header checksum mismatch"));
  std::string kind_len_flip = bytes;
  kind_len_flip[8 + 3] = 0x7F;
  EXPECT_TRUE(contains(cache_parse_error(kind_len_flip, "index"), "kind length"));
}

// ----------------------------------------------------------------------------------------------
// Exhaustive damage of a small file: nothing gets through, nothing crashes.

TEST(CheckedFileDamage, EverySingleByteChangeIsDetected) {
  const std::string good = to_checked_bytes("feature-cache", 1, binary_payload());
  ASSERT_NO_THROW(parse_checked_file(good, "feature-cache", 1));
  int detected = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (int mask : {0x01, 0x80, 0xFF, 0x5A}) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      try {
        parse_checked_file(bad, "feature-cache", 1, "x.bin");
        ADD_FAILURE() << "byte " << pos << " ^ " << mask << " was not detected";
      } catch (const Error& e) {
        ++detected;
        EXPECT_TRUE(contains(e.what(), "x.bin")) << e.what();
      }
    }
  }
  EXPECT_EQ(detected, static_cast<int>(4 * good.size()));
}

TEST(CheckedFileDamage, EveryTruncationIsDetected) {
  const std::string good = to_checked_bytes("checkpoint", 2, binary_payload());
  for (size_t len = 0; len < good.size(); ++len) {
    SCOPED_TRACE(len);
    const std::string msg = cache_parse_error(good.substr(0, len), "checkpoint", 2);
    EXPECT_TRUE(contains(msg, "truncated")) << msg;
  }
}

TEST(CheckedFileDamage, RandomGarbageNeverCrashes) {
  std::mt19937 rng(11);
  const std::string good = to_checked_bytes("index", 1, "payload");
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = good.substr(0, rng() % (good.size() + 1));
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    if (bytes == good) continue;
    error_of([&] { parse_checked_file(bytes, "index", 1); });
  }
}

}  // namespace
}  // namespace hcmsn::io
