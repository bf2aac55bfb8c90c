// Tests of the .npy reader/writer against files written by NumPy 1.24
// (tests/reference/make_npy_fixtures.py -> tests/fixtures/npy/, values in expected.json),
// hand-built malformed images, and a deterministic mutation fuzzer.
#include "hcmsn/io/npy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string npy_fixture(const std::string& name) {
  return test::fixture("npy/" + name);
}

const json& expected() {
  static const json j = json::parse(util::read_file(npy_fixture("expected.json")));
  return j;
}

torch::ScalarType dtype_named(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  if (name == "int32") return torch::kInt32;
  if (name == "int64") return torch::kInt64;
  if (name == "uint8") return torch::kUInt8;
  if (name == "bool") return torch::kBool;
  ADD_FAILURE() << "unknown dtype name in expected.json: " << name;
  return torch::kFloat32;
}

// Exact comparison against the reference values (float32 values are stored as the exact
// float64 of the float32; -0.0 must keep its sign).
void expect_values(const torch::Tensor& t, const json& values) {
  ASSERT_EQ(static_cast<size_t>(t.numel()), values.size());
  const torch::Tensor flat = t.contiguous().reshape({-1});
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t k = static_cast<int64_t>(i);
    switch (t.scalar_type()) {
      case torch::kFloat32: {
        const double want = values[i].get<double>();
        const double got = static_cast<double>(flat[k].item<float>());
        EXPECT_EQ(got, want) << "element " << i;
        EXPECT_EQ(std::signbit(got), std::signbit(want)) << "element " << i;
        break;
      }
      case torch::kFloat64: {
        const double want = values[i].get<double>();
        const double got = flat[k].item<double>();
        EXPECT_EQ(got, want) << "element " << i;
        EXPECT_EQ(std::signbit(got), std::signbit(want)) << "element " << i;
        break;
      }
      case torch::kInt32:
        EXPECT_EQ(flat[k].item<int32_t>(), values[i].get<int64_t>()) << "element " << i;
        break;
      case torch::kInt64:
        EXPECT_EQ(flat[k].item<int64_t>(), values[i].get<int64_t>()) << "element " << i;
        break;
      case torch::kUInt8:
        EXPECT_EQ(flat[k].item<uint8_t>(), values[i].get<int64_t>()) << "element " << i;
        break;
      case torch::kBool:
        EXPECT_EQ(flat[k].item<bool>(), values[i].get<bool>()) << "element " << i;
        break;
      default:
        FAIL() << "unexpected dtype " << t.scalar_type();
    }
  }
}

using test::error_of;
std::string parse_error(const std::string& bytes, const std::string& what = "img.npy") {
  return error_of([&] { parse_npy(bytes, what); });
}

// A .npy image with the given header dict text, padded like NumPy does (data 64-aligned).
std::string make_npy(const std::string& dict, const std::string& payload, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  const size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (size_t i = 0; i < prefix - 8; ++i)
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xFF));
  return out + header + payload;
}

std::string f32_payload(std::initializer_list<float> vals) {
  std::string out;
  for (float v : vals) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

using test::contains;

// ----------------------------------------------------------------------------------------------
// NumPy-written fixtures

TEST(NpyFixtures, EveryFixtureFileIsListedInExpectedJson) {
  std::set<std::string> listed;
  for (const auto& [name, _] : expected()["supported"].items()) listed.insert(name);
  for (const auto& [name, _] : expected()["unsupported"].items()) listed.insert(name);
  EXPECT_GE(expected()["supported"].size(), 16u);
  EXPECT_GE(expected()["unsupported"].size(), 5u);
  for (const auto& entry : fs::directory_iterator(npy_fixture(""))) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".npy" || name == "numpy_written_f32_2x3.npy") continue;
    EXPECT_TRUE(listed.count(name)) << name << " is not described in expected.json";
  }
  for (const auto& name : listed) EXPECT_TRUE(fs::exists(npy_fixture(name))) << name;
}

TEST(NpyFixtures, SupportedFilesParseToNumpyShapeDtypeAndValues) {
  for (const auto& [name, want] : expected()["supported"].items()) {
    SCOPED_TRACE(name);
    torch::Tensor t;
    ASSERT_NO_THROW(t = read_npy(npy_fixture(name)));
    EXPECT_EQ(t.scalar_type(), dtype_named(want["dtype"].get<std::string>()));
    EXPECT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.device(), torch::Device(torch::kCPU));
    expect_values(t, want["values"]);
  }
}

TEST(NpyFixtures, FortranOrderIsTransposedToCOrder) {
  // Spot-check by index, independently of the flattening in expect_values.
  const torch::Tensor t = read_npy(npy_fixture("fortran_f32_2d.npy"));
  ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(t[0][1].item<float>(), -0.5f);
  EXPECT_EQ(t[1][0].item<float>(), 1.0f);
  EXPECT_EQ(t[1][3].item<float>(), 2.5f);
  const torch::Tensor u = read_npy(npy_fixture("fortran_f64_3d.npy"));
  ASSERT_EQ(u.sizes().vec(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(u[1][2][3].item<double>(), 23.25);
  EXPECT_EQ(u[0][1][2].item<double>(), 6.25);
  EXPECT_EQ(u[1][0][1].item<double>(), 13.25);
}

TEST(NpyFixtures, UnsupportedDtypesThrowNamingFileAndDtype) {
  for (const auto& [name, want] : expected()["unsupported"].items()) {
    if (name == "structured.npy") continue;  // see StructuredDtypeErrorNamesTheDtype
    SCOPED_TRACE(name);
    const std::string path = npy_fixture(name);
    const std::string msg = error_of([&] { read_npy(path); });
    EXPECT_TRUE(contains(msg, path)) << msg;
    EXPECT_TRUE(contains(msg, want["descr"].get<std::string>())) << msg;
  }
}

TEST(NpyFixtures, StructuredDtypeIsRejectedNamingTheFile) {
  const std::string path = npy_fixture("structured.npy");
  const std::string msg = error_of([&] { read_npy(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
}

// Disabled: the message for a structured dtype is a generic header syntax error ("expected a
// quoted string at offset 11 ... re-save it with numpy.save") that does not mention the dtype.
// Enable once parse_npy reports structured dtypes as unsupported dtypes.
TEST(NpyFixtures, StructuredDtypeErrorNamesTheDtype) {
  const std::string path = npy_fixture("structured.npy");
  const std::string msg = error_of([&] { read_npy(path); });
  EXPECT_TRUE(contains(msg, "dtype")) << msg;
  EXPECT_TRUE(contains(msg, "('a', '<i4')")) << msg;
}

TEST(NpyFixtures, ReadNpyOfMissingFileNamesThePath) {
  const std::string path = npy_fixture("does_not_exist.npy");
  EXPECT_TRUE(contains(error_of([&] { read_npy(path); }), path));
}

// ----------------------------------------------------------------------------------------------
// Writer: byte-identical to NumPy where NumPy's header fits the same 64-byte block.

TEST(NpyWrite, Float32MatrixBytesEqualNumpySave) {
  const torch::Tensor t = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).reshape({2, 3});
  const std::string ours = to_npy_bytes(t);
  const std::string numpy = util::read_file(npy_fixture("numpy_written_f32_2x3.npy"));
  EXPECT_EQ(ours.size(), numpy.size());
  EXPECT_EQ(ours, numpy);

  const std::string dir = test::temp_dir("npy_write_bytes");
  write_npy(dir + "/a.npy", t);
  EXPECT_EQ(util::read_file(dir + "/a.npy"), numpy);
}

TEST(NpyWrite, RewritingCOrderLittleEndianFixturesReproducesNumpyBytes) {
  for (const char* name : {"c_f32_2d.npy", "c_f64_2d.npy", "i64_1d.npy", "i32_1d.npy", "u8.npy",
                           "bool.npy", "scalar_0d.npy", "empty_0x4.npy", "f32_3d.npy"}) {
    SCOPED_TRACE(name);
    const std::string numpy = util::read_file(npy_fixture(name));
    EXPECT_EQ(to_npy_bytes(parse_npy(numpy, name)), numpy);
  }
}

TEST(NpyWrite, HeaderIsVersion1AlignedAndNewlineTerminated) {
  for (const auto& shape : std::vector<std::vector<int64_t>>{{}, {0}, {7}, {3, 5}, {2, 3, 4}}) {
    const std::string b = to_npy_bytes(torch::zeros(shape));
    ASSERT_GE(b.size(), 10u);
    EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const size_t header_len =
        static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u);
    EXPECT_EQ(b[10 + header_len - 1], '\n');
    EXPECT_EQ(b.size(), 10 + header_len + 4 * static_cast<size_t>(torch::zeros(shape).numel()));
  }
}

TEST(NpyWrite, RejectsUnsupportedDtypes) {
  for (auto type : {torch::kFloat16, torch::kInt16, torch::kInt8, torch::kComplexFloat}) {
    SCOPED_TRACE(c10::toString(type));
    const torch::Tensor t = torch::zeros({2}, torch::TensorOptions().dtype(type));
    error_of([&] { to_npy_bytes(t); });
  }
}

TEST(NpyRoundTrip, AllDtypesAndShapes) {
  const std::string dir = test::temp_dir("npy_roundtrip");
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {0}, {1}, {5}, {0, 4}, {4, 0}, {2, 3}, {2, 3, 4}, {1, 2, 1, 3, 1, 2, 1, 1}};
  const std::vector<torch::ScalarType> types = {torch::kFloat32, torch::kFloat64, torch::kInt32,
                                                torch::kInt64,   torch::kUInt8,   torch::kBool};
  int n = 0;
  for (auto type : types) {
    for (const auto& shape : shapes) {
      SCOPED_TRACE(::testing::Message() << c10::toString(type) << " " << torch::IntArrayRef(shape));
      torch::manual_seed(n);
      torch::Tensor t = torch::randint(0, 200, shape, torch::TensorOptions().dtype(torch::kInt64));
      if (type == torch::kFloat32 || type == torch::kFloat64) {
        t = (t.to(type) - 100) / 7;
      } else if (type == torch::kBool) {
        t = t.remainder(2).to(type);
      } else if (type == torch::kInt64) {
        t = t * static_cast<int64_t>(46116860184273879LL) -
            static_cast<int64_t>(4611686018427387904LL);
      } else if (type == torch::kInt32) {
        t = (t * 21474836 - 2147483647).to(type);
      } else {
        t = t.to(type);
      }
      const std::string path = dir + "/t" + std::to_string(n++) + ".npy";
      write_npy(path, t);
      const torch::Tensor back = read_npy(path);
      EXPECT_EQ(back.scalar_type(), type);
      EXPECT_EQ(back.sizes(), t.sizes());
      EXPECT_TRUE(torch::equal(back, t));
    }
  }
}

TEST(NpyRoundTrip, SpecialFloatsSurviveBitForBit) {
  const float inf = std::numeric_limits<float>::infinity();
  const torch::Tensor t =
      torch::tensor({0.f, -0.f, inf, -inf, std::nanf(""), 1e-45f, 3.4028235e38f});
  const torch::Tensor back = parse_npy(to_npy_bytes(t));
  ASSERT_EQ(back.numel(), t.numel());
  EXPECT_EQ(std::memcmp(back.data_ptr(), t.data_ptr(), 4 * 7), 0);
  const torch::Tensor d = t.to(torch::kFloat64);
  const torch::Tensor dback = parse_npy(to_npy_bytes(d));
  EXPECT_EQ(std::memcmp(dback.data_ptr(), d.data_ptr(), 8 * 7), 0);
}

TEST(NpyRoundTrip, NonContiguousInputIsWrittenInLogicalOrder) {
  const torch::Tensor t = torch::arange(12, torch::kFloat32).reshape({3, 4});
  const torch::Tensor tt = t.t();  // (4, 3), not contiguous
  ASSERT_FALSE(tt.is_contiguous());
  const torch::Tensor back = parse_npy(to_npy_bytes(tt));
  EXPECT_EQ(back.sizes().vec(), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(torch::equal(back, tt));
  EXPECT_EQ(back[0][1].item<float>(), 4.f);
  const torch::Tensor sliced = t.index({torch::indexing::Slice(), torch::indexing::Slice(0, 4, 2)});
  EXPECT_TRUE(torch::equal(parse_npy(to_npy_bytes(sliced)), sliced));
}

TEST(NpyRoundTrip, OverwritesExistingFile) {
  const std::string path = test::temp_dir("npy_overwrite") + "/x.npy";
  write_npy(path, torch::ones({100, 10}));
  write_npy(path, torch::zeros({2}, torch::kInt64));
  const torch::Tensor back = read_npy(path);
  EXPECT_EQ(back.scalar_type(), torch::kInt64);
  EXPECT_EQ(back.sizes().vec(), (std::vector<int64_t>{2}));
}

// ----------------------------------------------------------------------------------------------
// Hand-built headers

TEST(NpyParse, HandBuiltImageParses) {
  const std::string img = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                                   f32_payload({1, 2, 3, 4}));
  const torch::Tensor t = parse_npy(img);
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.f, 2.f, 3.f, 4.f}).reshape({2, 2})));
}

TEST(NpyParse, HeaderVariantsNumpyMayWrite) {
  // Key order, double quotes, no trailing comma, Python-2 long suffix, extra whitespace.
  for (const std::string dict :
       {"{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 2)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }",
        "{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , 2 , ) , }"}) {
    SCOPED_TRACE(dict);
    torch::Tensor t;
    ASSERT_NO_THROW(t = parse_npy(make_npy(dict, f32_payload({1, 2, 3, 4}))));
    EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(t[1][0].item<float>(), 3.f);
  }
}

TEST(NpyParse, Version2HeaderLongerThan64KiB) {
  // Version 2.0 exists for headers that do not fit a 16-bit length; NumPy pads with spaces.
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  dict.append(70000, ' ');
  const std::string img = make_npy(dict, f32_payload({-1, 0.5f, 9}), 2);
  const size_t header_len = static_cast<unsigned char>(img[8]) |
                            (static_cast<unsigned char>(img[9]) << 8) |
                            (static_cast<size_t>(static_cast<unsigned char>(img[10])) << 16);
  ASSERT_GT(header_len, 0xFFFFu);
  const torch::Tensor t = parse_npy(img);
  EXPECT_TRUE(torch::equal(t, torch::tensor({-1.f, 0.5f, 9.f})));
}

TEST(NpyParse, TruncatedAndOversizedPayload) {
  const std::string good = util::read_file(npy_fixture("c_f32_2d.npy"));
  ASSERT_NO_THROW(parse_npy(good));
  EXPECT_TRUE(contains(parse_error(good.substr(0, good.size() - 1), "short.npy"), "short.npy"));
  EXPECT_TRUE(contains(parse_error(good.substr(0, good.size() - 4)), "payload"));
  parse_error(good + std::string(1, '\0'));
  parse_error(good + std::string(4, '\0'));
  // Header alone (no payload at all) for a non-empty shape.
  parse_error(good.substr(0, 128));
}

TEST(NpyParse, TruncatedHeaderAndPreamble) {
  const std::string good = util::read_file(npy_fixture("c_f32_2d.npy"));
  for (size_t n : {0, 1, 5, 6, 7, 8, 9, 10, 11, 50, 127}) {
    SCOPED_TRACE(n);
    const std::string msg = parse_error(good.substr(0, n), "trunc.npy");
    EXPECT_TRUE(contains(msg, "trunc.npy")) << msg;
  }
  const std::string v2 = util::read_file(npy_fixture("v2_f32.npy"));
  for (size_t n : {9, 10, 11, 12, 13}) parse_error(v2.substr(0, n));
}

TEST(NpyParse, HeaderLengthPointingPastTheEnd) {
  std::string img = util::read_file(npy_fixture("c_f32_2d.npy"));
  img[8] = static_cast<char>(0xFF);
  img[9] = static_cast<char>(0xFF);
  EXPECT_TRUE(contains(parse_error(img), "header")) << parse_error(img);
  std::string v3 = util::read_file(npy_fixture("v3_f64.npy"));
  for (int b = 8; b < 12; ++b) v3[b] = static_cast<char>(0xFF);  // 4 GiB - 1
  parse_error(v3);
  v3[8] = v3[9] = v3[10] = '\0';
  v3[11] = 0x01;  // 16 MiB
  parse_error(v3);
  // Shorter than the real header: the dict is cut off.
  std::string cut = util::read_file(npy_fixture("c_f32_2d.npy"));
  cut[8] = 20;
  cut[9] = 0;
  parse_error(cut);
  cut[8] = 0;
  parse_error(cut);
}

TEST(NpyParse, BadMagicAndVersion) {
  const std::string good = util::read_file(npy_fixture("c_f32_2d.npy"));
  std::string bad = good;
  bad[0] = 'X';
  EXPECT_TRUE(contains(parse_error(bad, "m.npy"), "magic"));
  bad = good;
  bad[5] = 'y';
  parse_error(bad);
  EXPECT_TRUE(contains(parse_error("PK\x03\x04 this is a zip"), "magic"));
  bad = good;
  bad[6] = 9;
  const std::string msg = parse_error(bad, "v9.npy");
  EXPECT_TRUE(contains(msg, "version 9")) << msg;
  EXPECT_TRUE(contains(msg, "v9.npy")) << msg;
  bad[6] = 0;
  parse_error(bad);
  bad[6] = 4;
  parse_error(bad);
  bad[6] = static_cast<char>(0xFF);
  parse_error(bad);
}

TEST(NpyParse, MalformedDictionariesThrow) {
  const std::string p4 = f32_payload({1, 2, 3, 4});
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2), }",
      "{'descr': '<f4', 'fortran_order': false, 'shape': (2, 2), }",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2), }",
      "{'fortran_order': False, 'shape': (2, 2), }",  // no descr
      "{'descr': '<f4', 'shape': (2, 2), }",          // no fortran_order
      "{'descr': '<f4', 'fortran_order': False, }",   // no shape
      "{}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 1, }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 'x', }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2], }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 2), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2 2), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), ",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)",
      "{'descr': '<f4', 'fortran_order': False 'shape': (2, 2)}",
      "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 2), }",
      "{'descr': <f4, 'fortran_order': False, 'shape': (2, 2), }",
      "{descr: '<f4', fortran_order: False, shape: (2, 2), }",
      "'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
      "",
      "   ",
      "{'descr': 'f4', 'fortran_order': False, 'shape': (2, 2), }",
      "{'descr': '<f', 'fortran_order': False, 'shape': (2, 2), }",
      "{'descr': '', 'fortran_order': False, 'shape': (2, 2), }",
      "{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }",
      "{'descr': '<f4 ', 'fortran_order': False, 'shape': (2, 2), }",
  };
  for (const auto& d : dicts) {
    SCOPED_TRACE(d);
    const std::string msg = parse_error(make_npy(d, p4), "dict.npy");
    EXPECT_TRUE(contains(msg, "dict.npy")) << msg;
  }
}

TEST(NpyParse, HugeAndOverflowingShapesThrow) {
  const std::string p4 = f32_payload({1, 2, 3, 4});
  const std::vector<std::string> shapes = {
      "(99999999999999999999,)",                     // > int64
      "(9223372036854775807,)",                      // INT64_MAX elements
      "(9223372036854775807, 2)",                    // count overflows
      "(4611686018427387904, 4611686018427387904)",  // 2**62 x 2**62
      "(4294967296, 4294967296)",                    // 2**64
      "(2, 4611686018427387904)",                    // count*itemsize overflows
      "(4611686018427387904,)",                      // count*4 overflows
      "(1152921504606846976,)",                      // count*4 == 2**62, way over payload
      "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
      "1, 1, 4)",  // 33 dims
  };
  for (const auto& s : shapes) {
    SCOPED_TRACE(s);
    parse_error(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + s + ", }", p4));
  }
}

TEST(NpyParse, ZeroSizedArraysWithLargeOtherDimensions) {
  // No elements, so no payload: either a valid empty tensor or an hcmsn::Error, never a crash or
  // a c10::Error.
  for (const std::string s : {"(0, 1000000)", "(1000000, 0)", "(0, 4611686018427387904)",
                              "(0, 4611686018427387904, 4611686018427387904)",
                              "(9223372036854775807, 9223372036854775807, 0)"}) {
    SCOPED_TRACE(s);
    const std::string img =
        make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + s + ", }", "");
    try {
      const torch::Tensor t = parse_npy(img);
      EXPECT_EQ(t.numel(), 0);
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-hcmsn exception: " << e.what();
    }
  }
  const torch::Tensor t =
      parse_npy(make_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 0, 2), }", ""));
  EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{3, 0, 2}));
}

// Disabled: fails with c10::Error "Storage size calculation overflowed with
// sizes=[4611686018427387904, 4611686018427387904, 0]". parse_npy's overflow check stops at the
// leading 0, but for Fortran order torch::empty gets the reversed shape, whose running product
// overflows before reaching the 0. Enable once parse_npy rejects (or handles) such shapes.
TEST(NpyParse, FortranZeroSizedShapeWithOverflowingDimsThrowsHcmsnError) {
  for (const std::string s :
       {"(0, 4611686018427387904, 4611686018427387904)", "(0, 4294967296, 4294967296)"}) {
    SCOPED_TRACE(s);
    const std::string img =
        make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': " + s + ", }", "");
    try {
      const torch::Tensor t = parse_npy(img);
      EXPECT_EQ(t.numel(), 0);
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-hcmsn exception: " << std::string(e.what()).substr(0, 200);
    }
  }
}

// Disabled: text after the closing '}' (other than the space padding and '\n') is ignored;
// NumPy's reader (ast.literal_eval) rejects such a header.
TEST(NpyParse, TrailingGarbageAfterDictIsRejected) {
  parse_error(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } garbage",
                       f32_payload({1})));
}

TEST(NpyParse, BoolBytesOtherThanZeroOrOneThrow) {
  const std::string dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }";
  EXPECT_NO_THROW(parse_npy(make_npy(dict, std::string("\x01\x00\x01", 3))));
  const std::string msg = parse_error(make_npy(dict, std::string("\x01\x02\x00", 3)));
  EXPECT_TRUE(contains(msg, "element 1")) << msg;
}

TEST(NpyParse, ThirtyTwoDimensionsAreAccepted) {
  std::string shape = "(";
  for (int i = 0; i < 32; ++i) shape += i == 31 ? "3" : "1, ";
  shape += ")";
  const torch::Tensor t =
      parse_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }",
                         f32_payload({1, 2, 3})));
  EXPECT_EQ(t.dim(), 32);
  EXPECT_EQ(t.numel(), 3);
}

// ----------------------------------------------------------------------------------------------
// read_npy_matrix

class NpyMatrix : public ::testing::Test {
 protected:
  std::string dir_ = test::temp_dir("npy_matrix");
  std::string write(const std::string& name, const torch::Tensor& t) {
    const std::string path = dir_ + "/" + name;
    write_npy(path, t);
    return path;
  }
};

TEST_F(NpyMatrix, AcceptsFiniteFloatMatrices) {
  const torch::Tensor f32 = read_npy_matrix(npy_fixture("c_f32_2d.npy"));
  EXPECT_EQ(f32.scalar_type(), torch::kFloat32);
  EXPECT_EQ(f32.sizes().vec(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(f32[2][1].item<float>(), -7.f);
  const torch::Tensor f64 = read_npy_matrix(npy_fixture("c_f64_2d.npy"));
  EXPECT_EQ(f64.scalar_type(), torch::kFloat64);
  EXPECT_EQ(f64[0][3].item<double>(), 3.141592653589793);
  EXPECT_EQ(read_npy_matrix(npy_fixture("be_f4.npy"))[2][0].item<float>(), 6.0e7f);
  EXPECT_EQ(read_npy_matrix(npy_fixture("fortran_f32_2d.npy"))[1][2].item<float>(), 2.0f);
  EXPECT_EQ(read_npy_matrix(npy_fixture("empty_0x4.npy")).sizes().vec(),
            (std::vector<int64_t>{0, 4}));
}

TEST_F(NpyMatrix, RejectsWrongRank) {
  for (const char* name : {"be_f8.npy", "scalar_0d.npy", "f32_3d.npy", "fortran_f64_3d.npy"}) {
    SCOPED_TRACE(name);
    const std::string path = npy_fixture(name);
    const std::string msg = error_of([&] { read_npy_matrix(path); });
    EXPECT_TRUE(contains(msg, path)) << msg;
    EXPECT_TRUE(contains(msg, "2-D")) << msg;
  }
}

TEST_F(NpyMatrix, RejectsNonFloatDtypes) {
  for (const char* name : {"u8.npy", "i64_1d.npy", "bool.npy"}) {
    SCOPED_TRACE(name);
    const std::string path = npy_fixture(name);
    EXPECT_TRUE(contains(error_of([&] { read_npy_matrix(path); }), path));
  }
  const std::string p = write("int2d.npy", torch::ones({3, 2}, torch::kInt32));
  EXPECT_TRUE(contains(error_of([&] { read_npy_matrix(p); }), p));
}

TEST_F(NpyMatrix, RejectsZeroColumns) {
  const std::string p = write("cols0.npy", torch::zeros({3, 0}));
  error_of([&] { read_npy_matrix(p); });
}

TEST_F(NpyMatrix, NonFiniteRowsAreNamed) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    int64_t row, col;
    double value;
    torch::ScalarType type;
  };
  for (const Case c : {Case{2, 1, nan, torch::kFloat32}, Case{0, 0, inf, torch::kFloat64},
                       Case{4, 3, -inf, torch::kFloat32}, Case{3, 0, nan, torch::kFloat64}}) {
    SCOPED_TRACE(c.row);
    torch::Tensor t = torch::ones({5, 4}, torch::TensorOptions().dtype(c.type));
    t[c.row][c.col] = c.value;
    if (c.row < 4) t[4][2] = nan;  // a later bad row must not be the one reported
    const std::string path = write("bad" + std::to_string(c.row) + ".npy", t);
    const std::string msg = error_of([&] { read_npy_matrix(path); });
    EXPECT_TRUE(contains(msg, "row " + std::to_string(c.row) + " ")) << msg;
    EXPECT_TRUE(contains(msg, path)) << msg;
    // read_npy itself does not care.
    EXPECT_NO_THROW(read_npy(path));
  }
}

// ----------------------------------------------------------------------------------------------
// Mutation fuzzing: every mutated image either parses to a tensor whose byte size equals the
// payload behind the header, or throws hcmsn::Error.

struct FuzzStats {
  int parsed = 0, rejected = 0, failures = 0;
};

void check_one(const std::string& img, const std::string& label, FuzzStats& stats) {
  try {
    const torch::Tensor t = parse_npy(img, "fuzz.npy");
    // Independent computation of the payload size from the preamble.
    ASSERT_GE(img.size(), 10u);
    const int major = static_cast<unsigned char>(img[6]);
    const size_t len_bytes = major == 1 ? 2 : 4;
    size_t header_len = 0;
    for (size_t i = 0; i < len_bytes; ++i) {
      header_len |= static_cast<size_t>(static_cast<unsigned char>(img[8 + i])) << (8 * i);
    }
    const size_t payload = img.size() - 8 - len_bytes - header_len;
    const bool ok = t.defined() && t.is_contiguous() &&
                    static_cast<size_t>(t.numel()) * t.element_size() == payload;
    if (!ok && stats.failures++ < 10) {
      ADD_FAILURE() << label << ": parsed tensor of " << t.numel() << " x " << t.element_size()
                    << " bytes but payload is " << payload;
    }
    ++stats.parsed;
  } catch (const Error&) {
    ++stats.rejected;
  } catch (const std::exception& e) {
    if (stats.failures++ < 10) ADD_FAILURE() << label << ": non-hcmsn exception: " << e.what();
  } catch (...) {
    if (stats.failures++ < 10) ADD_FAILURE() << label << ": non-std exception";
  }
}

TEST(NpyFuzz, MutatedImagesParseConsistentlyOrThrowHcmsnError) {
  const std::vector<std::string> seeds_names = {
      "c_f32_2d.npy", "fortran_f64_3d.npy", "be_f8.npy",     "bool.npy",
      "v2_f32.npy",   "scalar_0d.npy",      "empty_0x4.npy", "u8.npy"};
  std::vector<std::string> seeds;
  for (const auto& n : seeds_names) seeds.push_back(util::read_file(npy_fixture(n)));

  FuzzStats stats;
  int cases = 0;
  // 1. Every truncation of every seed.
  for (size_t s = 0; s < seeds.size(); ++s) {
    for (size_t n = 0; n <= seeds[s].size(); ++n) {
      check_one(seeds[s].substr(0, n), seeds_names[s] + " truncated to " + std::to_string(n),
                stats);
      ++cases;
    }
  }
  // 2. Random mutations; std::mt19937_64's output sequence is fixed by the standard, and only
  // raw draws are used (no distributions), so the cases are the same everywhere.
  std::mt19937_64 rng(0x5eed1234ULL);
  auto draw = [&](uint64_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  const char interesting[] = {'\0',
                              '\'',
                              '"',
                              ',',
                              ':',
                              '(',
                              ')',
                              '{',
                              '}',
                              ' ',
                              '\n',
                              '0',
                              '1',
                              '9',
                              'L',
                              '<',
                              '>',
                              '|',
                              'f',
                              'i',
                              'b',
                              'u',
                              '8',
                              '4',
                              '-',
                              'T',
                              'F',
                              static_cast<char>(0xFF),
                              static_cast<char>(0x80)};
  constexpr int kMutations = 20000;
  for (int m = 0; m < kMutations; ++m) {
    const size_t s = draw(seeds.size());
    std::string img = seeds[s];
    const size_t header_end = std::min(img.size(), size_t{128});
    const int edits = 1 + static_cast<int>(draw(3));
    std::string label = seeds_names[s] + " mutation #" + std::to_string(m) + ":";
    for (int e = 0; e < edits; ++e) {
      // Most edits target the preamble and header, where the parsing logic lives.
      const bool in_header = draw(4) != 0;
      const size_t limit = in_header ? header_end : img.size();
      const size_t pos = draw(limit == 0 ? 1 : limit);
      switch (draw(7)) {
        case 0:  // bit flip
          if (pos < img.size()) img[pos] = static_cast<char>(img[pos] ^ (1 << draw(8)));
          label += " flip@" + std::to_string(pos);
          break;
        case 1:  // random byte
          if (pos < img.size()) img[pos] = static_cast<char>(draw(256));
          label += " byte@" + std::to_string(pos);
          break;
        case 2:  // syntax-relevant byte
          if (pos < img.size()) img[pos] = interesting[draw(sizeof interesting)];
          label += " tok@" + std::to_string(pos);
          break;
        case 3:  // insertion
          img.insert(std::min(pos, img.size()), 1 + draw(4), interesting[draw(sizeof interesting)]);
          label += " ins@" + std::to_string(pos);
          break;
        case 4:  // deletion
          if (pos < img.size()) img.erase(pos, 1 + draw(4));
          label += " del@" + std::to_string(pos);
          break;
        case 5:  // header length field
          if (img.size() > 11) {
            const size_t b = 8 + draw(img[6] == 1 ? 2 : 4);
            img[b] = draw(2) ? static_cast<char>(img[b] + static_cast<char>(draw(9)) - 4)
                             : static_cast<char>(draw(256));
          }
          label += " len";
          break;
        default:  // truncation
          img.resize(draw(img.size() + 1));
          label += " cut";
          break;
      }
    }
    check_one(img, label, stats);
    ++cases;
  }
  EXPECT_EQ(stats.failures, 0);
  EXPECT_EQ(stats.parsed + stats.rejected + stats.failures, cases);
  // The mutations must exercise both outcomes, or the fuzzer is not testing much. (Most
  // padding-byte mutations are rejected since the parser refuses text after the header dict.)
  EXPECT_GT(stats.parsed, 200);
  EXPECT_GT(stats.rejected, 5000);
  RecordProperty("cases", cases);
  RecordProperty("parsed", stats.parsed);
}

}  // namespace
}  // namespace hcmsn::io
