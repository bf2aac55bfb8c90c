// Tests of the feature cache: the documented payload layout (read back by hand), bit-exact round
// trips, every validate() error, damaged and inconsistent files, and the row/class helpers.
#include "hcmsn/data/feature_cache.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::contains;
using test::error_of;

// n rows of d dims over classes cat/dog/zebra; row i has class i % 3 and alternates modality.
FeatureCache make_cache(int64_t n, int64_t d, const std::string& prefix = "img") {
  torch::manual_seed(n * 100 + d);
  FeatureCache c;
  c.features = torch::randn({n, d});
  c.labels = torch::arange(n, torch::kInt64).remainder(3);
  c.modality = torch::arange(n, torch::kInt64).remainder(2);
  for (int64_t i = 0; i < n; ++i) c.item_ids.push_back(prefix + "/" + std::to_string(i) + ".png");
  c.class_names = {"cat", "dog", "zebra"};
  c.meta = {{"backbone", "resnet50"}, {"image_size", 224}};
  return c;
}

std::string raw_bytes(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.nbytes()));
}

std::string class_of(const FeatureCache& c, int64_t row) {
  return c.class_names[static_cast<size_t>(c.labels[row].item<int64_t>())];
}

void expect_identical(const FeatureCache& got, const FeatureCache& want) {
  EXPECT_EQ(got.features.sizes(), want.features.sizes());
  EXPECT_EQ(got.features.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(got.features.is_contiguous());
  EXPECT_TRUE(raw_bytes(got.features) == raw_bytes(want.features)) << "features differ in bits";
  EXPECT_TRUE(torch::equal(got.labels, want.labels));
  EXPECT_TRUE(torch::equal(got.modality, want.modality));
  EXPECT_EQ(got.item_ids, want.item_ids);
  EXPECT_EQ(got.class_names, want.class_names);
  EXPECT_EQ(got.meta, want.meta);
}

std::string validate_error(const std::function<void(FeatureCache&)>& damage) {
  FeatureCache c = make_cache(6, 4);
  damage(c);
  return error_of([&] { c.validate(); });
}

std::string le64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

// A feature-cache payload built by hand from the documented layout.
std::string hand_payload(const json& header, const std::string& data) {
  const std::string text = header.dump();
  return le64(text.size()) + text + data;
}

json header_for(int64_t n, int64_t d) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back("r" + std::to_string(i));
  return {{"n", n},
          {"d", d},
          {"feature_dtype", "<f4"},
          {"label_dtype", "<i8"},
          {"modality_dtype", "<i8"},
          {"class_names", {"a"}},
          {"item_ids", ids},
          {"meta", json::object()}};
}

class FeatureCacheFile : public ::testing::Test {
 protected:
  std::string dir_ = test::temp_dir("feature_cache");
  std::string path_ = dir_ + "/cache.hfc";

  std::string load_error() {
    return error_of([&] { load_feature_cache(path_); });
  }
};

// ----------------------------------------------------------------------------------------------
// Round trips and the on-disk layout

TEST_F(FeatureCacheFile, RoundTripIsBitExactWithSpecialFloatsAndUnicodeIds) {
  FeatureCache c = make_cache(5, 4);
  const float denorm = std::numeric_limits<float>::denorm_min();
  c.features[0] = torch::tensor({-0.0f, 0.0f, denorm, -denorm});
  c.features[1] =
      torch::tensor({std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
                     std::numeric_limits<float>::min() / 4, 1e-40f});
  c.item_ids = {"sketch/Ölfarbe 1.png", "photo/猫 の 写真.jpg", "a b\tc \"q\" \\ back.png",
                "emoji/🦓.png", "plain"};
  c.class_names = {"zebra crossing", "Käfer", "猫"};
  c.meta = {{"backbone", "resnet50"}, {"preprocessing", {{"mean", {0.485, 0.456, 0.406}}}}};
  save_feature_cache(path_, c);
  const FeatureCache got = load_feature_cache(path_);
  expect_identical(got, c);
  EXPECT_TRUE(std::signbit(got.features[0][0].item<float>()));
  EXPECT_EQ(got.features[0][2].item<float>(), denorm);
}

TEST_F(FeatureCacheFile, EmptyCachesRoundTrip) {
  const FeatureCache empty_with_dim = make_cache(0, 16);
  save_feature_cache(path_, empty_with_dim);
  FeatureCache got = load_feature_cache(path_);
  expect_identical(got, empty_with_dim);
  EXPECT_EQ(got.size(), 0);
  EXPECT_EQ(got.dim(), 16);

  const FeatureCache defaults;
  EXPECT_NO_THROW(defaults.validate());
  save_feature_cache(path_, defaults);
  got = load_feature_cache(path_);
  expect_identical(got, defaults);
  EXPECT_EQ(got.dim(), 0);
}

TEST_F(FeatureCacheFile, PayloadFollowsTheDocumentedLayout) {
  const FeatureCache c = make_cache(7, 3);
  save_feature_cache(path_, c);
  const io::CheckedFile f = io::read_checked_file(path_, "feature-cache", 1);
  EXPECT_EQ(f.version, 1u);
  ASSERT_GE(f.payload.size(), 8u);
  uint64_t h = 0;
  std::memcpy(&h, f.payload.data(), 8);
  ASSERT_LE(h, f.payload.size() - 8);
  const json header = json::parse(f.payload.substr(8, h));
  EXPECT_EQ(header.at("n"), 7);
  EXPECT_EQ(header.at("d"), 3);
  EXPECT_EQ(header.at("feature_dtype"), "<f4");
  EXPECT_EQ(header.at("label_dtype"), "<i8");
  EXPECT_EQ(header.at("modality_dtype"), "<i8");
  EXPECT_EQ(header.at("class_names"), json(c.class_names));
  EXPECT_EQ(header.at("item_ids"), json(c.item_ids));
  EXPECT_EQ(header.at("meta"), c.meta);
  const std::string data = f.payload.substr(8 + h);
  ASSERT_EQ(data.size(), 7u * 3u * 4u + 7u * 8u * 2u);
  EXPECT_TRUE(data.substr(0, 84) == raw_bytes(c.features));
  EXPECT_TRUE(data.substr(84, 56) == raw_bytes(c.labels));
  EXPECT_TRUE(data.substr(140, 56) == raw_bytes(c.modality));
  // Row 1 of labels is class 1, little-endian.
  EXPECT_EQ(data.substr(84 + 8, 8), le64(1));
}

TEST_F(FeatureCacheFile, HandBuiltPayloadLoads) {
  std::string data;
  for (float v : {1.5f, -2.0f}) data.append(reinterpret_cast<const char*>(&v), 4);
  data += le64(0) + le64(static_cast<uint64_t>(model::kPhoto));
  io::write_checked_file(path_, "feature-cache", 1, hand_payload(header_for(1, 2), data));
  const FeatureCache c = load_feature_cache(path_);
  EXPECT_EQ(c.size(), 1);
  EXPECT_EQ(c.dim(), 2);
  EXPECT_EQ(c.features[0][1].item<float>(), -2.0f);
  EXPECT_EQ(c.modality[0].item<int64_t>(), model::kPhoto);
  EXPECT_EQ(c.item_ids, std::vector<std::string>{"r0"});
}

TEST_F(FeatureCacheFile, NonContiguousInputIsSavedInLogicalOrder) {
  FeatureCache c = make_cache(4, 3);
  c.features = torch::randn({3, 4}).t();  // (4, 3), column-major in memory
  save_feature_cache(path_, c);
  EXPECT_TRUE(torch::equal(load_feature_cache(path_).features, c.features));
}

// ----------------------------------------------------------------------------------------------
// Damaged or inconsistent files

TEST_F(FeatureCacheFile, CorruptedFileIsRejectedByTheChecksum) {
  save_feature_cache(path_, make_cache(10, 8));
  std::string bytes = util::read_file(path_);
  bytes[bytes.size() / 2] ^= 0x04;
  util::write_file_atomic(path_, bytes);
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, path_)) << msg;
  EXPECT_TRUE(contains(msg, "checksum mismatch")) << msg;
}

TEST_F(FeatureCacheFile, TruncatedFileIsRejected) {
  save_feature_cache(path_, make_cache(10, 8));
  const std::string bytes = util::read_file(path_);
  util::write_file_atomic(path_, bytes.substr(0, bytes.size() - 100));
  EXPECT_TRUE(contains(load_error(), "truncated"));
}

TEST_F(FeatureCacheFile, OtherKindsAndNewerVersionsAreRejected) {
  io::write_checked_file(path_, "checkpoint", 1, "x");
  EXPECT_TRUE(contains(load_error(), "is a checkpoint file, expected a feature-cache file"));
  io::write_checked_file(path_, "feature-cache", 2, "x");
  EXPECT_TRUE(contains(load_error(), "newer hcmsn"));
  util::write_file_atomic(path_, "n,d\n1,2\n");
  EXPECT_TRUE(contains(load_error(), "not an hcmsn file"));
  EXPECT_TRUE(contains(error_of([&] { load_feature_cache(dir_ + "/missing.hfc"); }), "missing"));
}

TEST_F(FeatureCacheFile, SizesThatDisagreeWithTheHeaderAreRejected) {
  const std::string row(4 * 2, '\0');
  const std::string label_and_modality = le64(0) + le64(0);
  // Data for d = 2, header says d = 3; and one trailing byte; and one byte short.
  for (const std::string& data :
       {row + label_and_modality, row + std::string(4, '\0') + label_and_modality + "z",
        row + std::string(3, '\0') + label_and_modality}) {
    io::write_checked_file(path_, "feature-cache", 1, hand_payload(header_for(1, 3), data));
    const std::string msg = load_error();
    EXPECT_TRUE(contains(msg, path_)) << msg;
    EXPECT_TRUE(contains(msg, "need 4·n·d + 16·n")) << msg;
  }
  // Sizes whose byte counts overflow 64 bits (4·2^62 wraps to 0, as does 16·2^60).
  struct Case {
    int64_t n, d;
    std::string data;
  };
  for (const Case& k :
       {Case{1, int64_t{1} << 62, label_and_modality}, Case{int64_t{1} << 60, 0, std::string()},
        Case{int64_t{1} << 62, 1, std::string()}}) {
    json header = header_for(1, 1);
    header["n"] = k.n;
    header["d"] = k.d;
    io::write_checked_file(path_, "feature-cache", 1, hand_payload(header, k.data));
    EXPECT_TRUE(contains(load_error(), "need 4·n·d + 16·n")) << k.n << " " << k.d;
  }
}

TEST_F(FeatureCacheFile, MalformedHeadersAreRejected) {
  const std::string data = std::string(4, '\0') + le64(0) + le64(0);
  auto load_payload = [&](const std::string& payload) {
    io::write_checked_file(path_, "feature-cache", 1, payload);
    return load_error();
  };
  EXPECT_TRUE(contains(load_payload("abc"), "too short"));
  EXPECT_TRUE(contains(load_payload(le64(1000) + "{}"), "exceeds the payload"));
  EXPECT_TRUE(contains(load_payload(le64(5) + "{\"n\":" + data), "malformed JSON header"));
  json no_ids = header_for(1, 1);
  no_ids.erase("item_ids");
  EXPECT_TRUE(contains(load_payload(hand_payload(no_ids, data)), "item_ids"));
  json f64 = header_for(1, 1);
  f64["feature_dtype"] = "<f8";
  EXPECT_TRUE(contains(load_payload(hand_payload(f64, data)), "unsupported dtypes"));
  json negative = header_for(1, 1);
  negative["n"] = -1;
  EXPECT_TRUE(contains(load_payload(hand_payload(negative, data)), "negative size"));
  json fractional = header_for(1, 1);
  fractional["d"] = 1.5;
  EXPECT_TRUE(contains(load_payload(hand_payload(fractional, data)), "must be integers"));
}

TEST_F(FeatureCacheFile, ContentsBreakingTheContractAreRejectedOnLoad) {
  std::string data(4, '\0');
  data += le64(5) + le64(0);  // label 5 with one class
  io::write_checked_file(path_, "feature-cache", 1, hand_payload(header_for(1, 1), data));
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, path_)) << msg;
  EXPECT_TRUE(contains(msg, "is not a valid feature cache: label 5 of row 0 ('r0')")) << msg;
}

TEST_F(FeatureCacheFile, SaveValidatesFirstAndWritesNothing) {
  FeatureCache c = make_cache(4, 2);
  c.features[2][1] = std::nanf("");
  const std::string msg = error_of([&] { save_feature_cache(path_, c); });
  EXPECT_TRUE(contains(msg, path_)) << msg;
  EXPECT_TRUE(contains(msg, "row 2")) << msg;
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(FeatureCacheFile, MetaWithInvalidUtf8IsAnError) {
  FeatureCache c = make_cache(2, 2);
  c.meta["source_root"] = std::string("/data/\xff\xfe");
  EXPECT_TRUE(contains(error_of([&] { save_feature_cache(path_, c); }), "UTF-8"));
}

// ----------------------------------------------------------------------------------------------
// validate(): one test per kind of problem

TEST(FeatureCacheValidate, AcceptsAWellFormedCache) {
  EXPECT_NO_THROW(make_cache(6, 4).validate());
  EXPECT_EQ(make_cache(6, 4).size(), 6);
  EXPECT_EQ(make_cache(6, 4).dim(), 4);
}

TEST(FeatureCacheValidate, ShapeAndDtypeMismatches) {
  EXPECT_TRUE(
      contains(validate_error([](FeatureCache& c) { c.features = c.features.to(torch::kFloat64); }),
               "features must be float32, got float64"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.features = torch::zeros({6}); }),
                       "features must have 2 dimension(s)"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.features = torch::Tensor(); }),
                       "features is not set"));
  EXPECT_TRUE(
      contains(validate_error([](FeatureCache& c) { c.labels = c.labels.to(torch::kInt32); }),
               "labels must be int64, got int32"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) {
                         c.modality = c.modality.view({2, 3});
                       }),
                       "modality must have 1 dimension(s)"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.labels = c.labels.narrow(0, 0, 5); }),
                       "labels has 5 entries for 6 feature rows"));
  EXPECT_TRUE(contains(
      validate_error([](FeatureCache& c) { c.modality = torch::zeros({7}, torch::kInt64); }),
      "modality has 7 entries for 6 feature rows"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.item_ids.pop_back(); }),
                       "5 item ids for 6 feature rows"));
  FeatureCache rank1;
  rank1.features = torch::zeros({3});
  EXPECT_THROW(rank1.size(), Error);
  EXPECT_THROW(rank1.dim(), Error);
}

TEST(FeatureCacheValidate, LabelOutOfRange) {
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.labels[4] = 3; }),
                       "label 3 of row 4 ('img/4.png') is out of range for 3 class names"));
  EXPECT_TRUE(
      contains(validate_error([](FeatureCache& c) { c.labels[1] = -1; }), "label -1 of row 1"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.class_names.clear(); }),
                       "out of range for 0 class names"));
}

TEST(FeatureCacheValidate, BadModality) {
  EXPECT_TRUE(
      contains(validate_error([](FeatureCache& c) { c.modality[3] = 2; }), "modality 2 of row 3"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.modality[0] = -1; }),
                       "modality -1 of row 0"));
}

TEST(FeatureCacheValidate, NonFiniteFeatureNamesTheFirstRow) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(contains(validate_error([&](FeatureCache& c) {
                         c.features[5][0] = std::nanf("");
                         c.features[3][2] = -inf;
                       }),
                       "row 3 ('img/3.png') has a NaN or infinite feature"));
  EXPECT_TRUE(contains(validate_error([&](FeatureCache& c) { c.features[1][3] = inf; }), "row 1 "));
}

TEST(FeatureCacheValidate, BadItemIds) {
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.item_ids[4] = c.item_ids[1]; }),
                       "duplicate item id 'img/1.png' at rows 1 and 4"));
  EXPECT_TRUE(
      contains(validate_error([](FeatureCache& c) { c.item_ids[2] = ""; }), "item id 2 is empty"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.item_ids[0] = "a\nb"; }),
                       "item id 0 contains a line break"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.item_ids[5] = "x\r"; }),
                       "item id 5 contains a line break"));
  for (const std::string& bad : {std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
                                 std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80")}) {
    EXPECT_TRUE(contains(validate_error([&](FeatureCache& c) { c.item_ids[1] = "a" + bad; }),
                         "item id 1 is not valid UTF-8"));
  }
}

TEST(FeatureCacheValidate, BadClassNames) {
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.class_names[2] = "cat"; }),
                       "duplicate class name 'cat' at positions 0 and 2"));
  EXPECT_TRUE(contains(validate_error([](FeatureCache& c) { c.class_names[1] = ""; }),
                       "class name 1 is empty"));
  // Classes without rows are fine.
  FeatureCache c = make_cache(6, 4);
  c.class_names.push_back("unused");
  EXPECT_NO_THROW(c.validate());
}

// ----------------------------------------------------------------------------------------------
// select_rows, subset_classes, concat

TEST(FeatureCacheSelectRows, PicksRowsInTheGivenOrder) {
  const FeatureCache c = make_cache(6, 4);
  const FeatureCache s = select_rows(c, torch::tensor({4, 0, 5}, torch::kInt64));
  EXPECT_EQ(s.size(), 3);
  EXPECT_TRUE(torch::equal(s.features[0], c.features[4]));
  EXPECT_TRUE(torch::equal(s.features[1], c.features[0]));
  EXPECT_TRUE(torch::equal(s.features[2], c.features[5]));
  EXPECT_EQ(s.item_ids, (std::vector<std::string>{"img/4.png", "img/0.png", "img/5.png"}));
  EXPECT_TRUE(torch::equal(s.labels, torch::tensor({1, 0, 2}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(s.modality, torch::tensor({0, 0, 1}, torch::kInt64)));
  EXPECT_EQ(s.class_names, c.class_names);
  EXPECT_EQ(s.meta, c.meta);
  EXPECT_NO_THROW(s.validate());

  const FeatureCache none = select_rows(c, torch::empty({0}, torch::kInt64));
  EXPECT_EQ(none.size(), 0);
  EXPECT_EQ(none.dim(), 4);
  EXPECT_NO_THROW(none.validate());
}

TEST(FeatureCacheSelectRows, BadIndicesAreErrors) {
  const FeatureCache c = make_cache(6, 4);
  EXPECT_TRUE(contains(error_of([&] {
                         select_rows(c, torch::tensor({1, 6}, torch::kInt64));
                       }),
                       "index 6 (position 1) is out of range for a cache of 6 rows"));
  EXPECT_TRUE(
      contains(error_of([&] { select_rows(c, torch::tensor({-1}, torch::kInt64)); }), "index -1"));
  EXPECT_TRUE(contains(error_of([&] {
                         select_rows(c, torch::tensor({2, 3, 2}, torch::kInt64));
                       }),
                       "row 2 is selected twice"));
  EXPECT_TRUE(contains(error_of([&] {
                         select_rows(c, torch::tensor({1, 2}, torch::kInt32));
                       }),
                       "1-D int64"));
}

TEST(FeatureCacheSubsetClasses, KeepsRowsOfTheGivenClassesInTheGivenClassOrder) {
  const FeatureCache c = make_cache(9, 3);  // rows i have class i % 3: cat, dog, zebra
  const FeatureCache s = subset_classes(c, {"zebra", "cat"});
  EXPECT_EQ(s.class_names, (std::vector<std::string>{"zebra", "cat"}));
  EXPECT_EQ(s.item_ids, (std::vector<std::string>{"img/0.png", "img/2.png", "img/3.png",
                                                  "img/5.png", "img/6.png", "img/8.png"}));
  EXPECT_TRUE(torch::equal(s.labels, torch::tensor({1, 0, 1, 0, 1, 0}, torch::kInt64)));
  const std::vector<int64_t> source_rows = {0, 2, 3, 5, 6, 8};
  for (int64_t i = 0; i < s.size(); ++i) {
    EXPECT_TRUE(torch::equal(s.features[i], c.features[source_rows[i]]));
    EXPECT_EQ(s.modality[i].item<int64_t>(), c.modality[source_rows[i]].item<int64_t>());
    EXPECT_EQ(class_of(s, i), class_of(c, source_rows[i]));
  }
  EXPECT_NO_THROW(s.validate());

  const FeatureCache none = subset_classes(c, {});
  EXPECT_EQ(none.size(), 0);
  EXPECT_TRUE(none.class_names.empty());
  EXPECT_NO_THROW(none.validate());
}

TEST(FeatureCacheSubsetClasses, UnknownAndRepeatedNamesAreErrors) {
  const FeatureCache c = make_cache(6, 2);
  const std::string msg = error_of([&] { subset_classes(c, {"lion", "cat", "tiger"}); });
  EXPECT_TRUE(contains(msg, "'lion', 'tiger'")) << msg;
  EXPECT_FALSE(contains(msg, "'cat'")) << msg;
  EXPECT_TRUE(contains(error_of([&] {
                         subset_classes(c, {"dog", "dog"});
                       }),
                       "class 'dog' is listed twice"));
}

TEST(FeatureCacheConcat, UnitesClassesByName) {
  FeatureCache a = make_cache(4, 3, "a");
  a.class_names = {"cat", "dog", "zebra"};
  FeatureCache b = make_cache(5, 3, "b");
  b.class_names = {"dog", "bird", "cat"};
  const FeatureCache c = concat(a, b);
  EXPECT_EQ(c.class_names, (std::vector<std::string>{"cat", "dog", "zebra", "bird"}));
  ASSERT_EQ(c.size(), 9);
  EXPECT_TRUE(torch::equal(c.features.narrow(0, 0, 4), a.features));
  EXPECT_TRUE(torch::equal(c.features.narrow(0, 4, 5), b.features));
  EXPECT_TRUE(torch::equal(c.modality, torch::cat({a.modality, b.modality})));
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(class_of(c, i), class_of(a, i));
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(class_of(c, 4 + i), class_of(b, i));
  EXPECT_TRUE(torch::equal(c.labels, torch::tensor({0, 1, 2, 0, 1, 3, 0, 1, 3}, torch::kInt64)));
  EXPECT_EQ(c.item_ids.front(), "a/0.png");
  EXPECT_EQ(c.item_ids.back(), "b/4.png");
  EXPECT_EQ(c.meta, a.meta);
  EXPECT_NO_THROW(c.validate());
}

TEST(FeatureCacheConcat, EmptyCachesAndDifferentMetas) {
  const FeatureCache a = make_cache(3, 2, "a");
  FeatureCache b = make_cache(0, 2, "b");
  b.class_names = {"owl"};
  b.meta = {{"backbone", "vit"}};
  const FeatureCache c = concat(a, b);
  EXPECT_EQ(c.size(), 3);
  EXPECT_EQ(c.class_names, (std::vector<std::string>{"cat", "dog", "zebra", "owl"}));
  EXPECT_EQ(c.meta, (json{{"parts", {a.meta, b.meta}}}));
  const FeatureCache d = concat(b, a);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"owl", "cat", "dog", "zebra"}));
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(class_of(d, i), class_of(a, i));
}

TEST(FeatureCacheConcat, DimensionMismatchAndSharedIdsAreErrors) {
  EXPECT_TRUE(contains(error_of([] { concat(make_cache(2, 3, "a"), make_cache(2, 4, "b")); }),
                       "feature dimensions differ (3 vs 4)"));
  EXPECT_TRUE(contains(error_of([] { concat(make_cache(2, 3, "a"), make_cache(3, 3, "a")); }),
                       "duplicate item id 'a/0.png' at rows 0 and 2"));
}

}  // namespace
}  // namespace hcmsn::data
