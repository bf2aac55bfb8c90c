// safetensors reading against a file written by the reference `safetensors` package
// (tests/reference/make_state_dict_fixtures.py), round trips, and corrupt inputs.
#include "hcmsn/io/safetensors.h"

#include <gtest/gtest.h>

#include <string>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/util/atomic_file.h"
#include "support/test_support.h"

namespace hcmsn::io {
namespace {

using test::contains;
using test::error_of;

// The fixture script's formula: 3 sin(0.37 i + 0.11 k), computed in float64.
torch::Tensor formula(std::vector<int64_t> shape, int k, torch::ScalarType dtype) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  auto i = torch::arange(n, torch::kFloat64);
  return (torch::sin(0.37 * i + 0.11 * k) * 3.0).reshape(shape).to(dtype);
}

const torch::Tensor& find(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  throw std::runtime_error("no tensor " + name);
}

TEST(Safetensors, ReadsEveryDtypeWrittenByTheReferencePackage) {
  const auto file = read_safetensors(test::fixture("state_dict/mixed.safetensors"));
  EXPECT_EQ(file.metadata, nlohmann::json({{"source", "hcmsn test"}}));
  ASSERT_EQ(file.tensors.size(), 11u);
  const auto& t = file.tensors;
  EXPECT_TRUE(torch::equal(find(t, "linear.weight"), formula({3, 4}, 0, torch::kFloat32)));
  EXPECT_TRUE(torch::equal(find(t, "linear.bias"), formula({3}, 1, torch::kFloat32)));
  EXPECT_TRUE(torch::equal(find(t, "half"), formula({2, 2}, 4, torch::kFloat16)));
  EXPECT_TRUE(torch::equal(find(t, "bf16"), formula({5}, 5, torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(find(t, "double"), formula({2, 1, 2}, 9, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(find(t, "ints"), torch::arange(-3, 3, torch::kInt32)));
  EXPECT_TRUE(torch::equal(find(t, "bytes"), torch::arange(0, 250, 50, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(find(t, "flags"), torch::tensor({true, false, true})));
  EXPECT_EQ(find(t, "bn.num_batches_tracked").dim(), 0);
  EXPECT_EQ(find(t, "bn.num_batches_tracked").item<int64_t>(), 7);
  EXPECT_EQ(find(t, "empty").sizes(), torch::IntArrayRef({0, 3}));
}

TEST(Safetensors, RoundTripsBitForBitInTheGivenOrder) {
  NamedTensors tensors = {{"z", torch::randn({4, 5})},
                          {"a", torch::tensor({-0.0f, 1e-40f, INFINITY})},
                          {"m", torch::arange(6, torch::kInt64).reshape({2, 3})},
                          {"h", torch::randn({3}).to(torch::kFloat16)}};
  const std::string path = test::temp_dir("safetensors") + "/x.safetensors";
  write_safetensors(path, tensors, {{"k", "v"}});
  const auto back = read_safetensors(path);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first);
    EXPECT_EQ(back.tensors[i].second.scalar_type(), tensors[i].second.scalar_type());
    // Bytes, so that -0.0 and infinities count too.
    const auto& a = back.tensors[i].second;
    const auto& b = tensors[i].second;
    ASSERT_EQ(a.sizes(), b.sizes());
    EXPECT_EQ(0, std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()));
  }
  EXPECT_EQ(back.metadata["k"], "v");
  // The header is padded so that the buffer starts 8-byte aligned.
  const std::string bytes = util::read_file(path);
  EXPECT_EQ((8 + get_le(bytes, 0, 8)) % 8, 0u);
}

TEST(Safetensors, RejectsCorruptFilesWithAMessage) {
  const std::string good = to_safetensors_bytes({{"w", torch::ones({2, 3})}});
  const uint64_t h = get_le(good, 0, 8);
  EXPECT_TRUE(contains(error_of([&] { parse_safetensors("abc", "f"); }), "not a safetensors"));
  EXPECT_TRUE(contains(error_of([&] { parse_safetensors(good.substr(0, good.size() - 1), "f"); }),
                       "outside"));
  EXPECT_TRUE(
      contains(error_of([&] { parse_safetensors(good.substr(0, 8 + h / 2), "f"); }), "truncated"));
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string bad = good;
    const auto pos = bad.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    bad.replace(pos, from.size(), to);
    return bad;
  };
  EXPECT_TRUE(contains(error_of([&] { parse_safetensors(edit("\"F32\"", "\"F99\""), "f"); }),
                       "unsupported dtype"));
  EXPECT_TRUE(
      contains(error_of([&] { parse_safetensors(edit("[2,3]", "[3,3]"), "f"); }), "do not match"));
  EXPECT_TRUE(contains(error_of([&] { parse_safetensors(edit("{", "["), "f"); }), "JSON"));
  std::string huge = good;
  huge[7] = '\x7f';
  EXPECT_TRUE(contains(error_of([&] { parse_safetensors(huge, "f"); }), "header size"));
  // Two tensors sharing bytes.
  const std::string overlap =
      to_safetensors_bytes({{"a", torch::ones({2})}, {"b", torch::ones({2})}});
  std::string bad = overlap;
  const auto pos = bad.find("[8,16]");
  ASSERT_NE(pos, std::string::npos);
  bad.replace(pos, 6, "[4,12]");
  EXPECT_TRUE(contains(error_of([&] { parse_safetensors(bad, "f"); }), "overlap"));
  EXPECT_TRUE(contains(error_of([&] { read_safetensors("/nonexistent/x.safetensors"); }),
                       "/nonexistent/x.safetensors"));
}

TEST(Safetensors, WriterRejectsBadNamesAndMetadata) {
  EXPECT_TRUE(contains(error_of([] {
                         to_safetensors_bytes({{"a", torch::ones(1)}, {"a", torch::ones(1)}});
                       }),
                       "duplicate"));
  EXPECT_TRUE(contains(error_of([] { to_safetensors_bytes({{"", torch::ones(1)}}); }), "invalid"));
  EXPECT_TRUE(contains(error_of([] {
                         to_safetensors_bytes({{"a", torch::ones(1)}}, {{"k", 1}});
                       }),
                       "must be a string"));
  EXPECT_TRUE(contains(error_of([] {
                         to_safetensors_bytes({{"c", torch::ones(1, torch::kComplexFloat)}});
                       }),
                       "unsupported"));
}

}  // namespace
}  // namespace hcmsn::io
