// State dicts: torch.save archives written by PyTorch (tests/reference/
// make_state_dict_fixtures.py), PyTorch's key order, and strict loading errors.
#include "hcmsn/io/state_dict.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "hcmsn/io/safetensors.h"
#include "hcmsn/util/atomic_file.h"
#include "support/test_support.h"

namespace hcmsn::io {
namespace {

using test::contains;
using test::error_of;

torch::Tensor formula(std::vector<int64_t> shape, int k) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  auto i = torch::arange(n, torch::kFloat64);
  return (torch::sin(0.37 * i + 0.11 * k) * 3.0).reshape(shape).to(torch::kFloat32);
}

// The fixture's torch.nn.Sequential(linear=Linear(4, 3), bn=BatchNorm1d(3)).
struct Net : torch::nn::Module {
  Net() {
    linear = register_module("linear", torch::nn::Linear(4, 3));
    bn = register_module("bn", torch::nn::BatchNorm1d(3));
  }
  torch::nn::Linear linear{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
};

TEST(StateDict, ModuleOrderAndNamesEqualPyTorchs) {
  std::ifstream in(test::fixture("state_dict/module_keys.json"));
  const auto keys = nlohmann::json::parse(in);
  Net net;
  const auto dict = module_state_dict(net);
  ASSERT_EQ(dict.size(), keys.size());
  for (size_t i = 0; i < dict.size(); ++i) {
    EXPECT_EQ(dict[i].first, keys[i][0].get<std::string>());
    EXPECT_EQ(dict[i].second.sizes().vec(), keys[i][1].get<std::vector<int64_t>>());
  }
}

TEST(StateDict, LoadsATorchSaveArchiveAndANestedCheckpoint) {
  for (const char* file : {"state_dict/module.pth", "state_dict/checkpoint.pth"}) {
    const auto dict = read_state_dict(test::fixture(file));
    ASSERT_EQ(dict.size(), 7u) << file;
    Net net;
    const auto report = load_state_dict(net, dict);
    EXPECT_EQ(report.loaded, 7);
    EXPECT_TRUE(report.missing.empty());
    EXPECT_TRUE(torch::equal(net.linear->weight, formula({3, 4}, 0))) << file;
    EXPECT_TRUE(torch::equal(net.linear->bias, formula({3}, 1)));
    EXPECT_TRUE(torch::equal(net.bn->running_var, formula({3}, 5)));
    EXPECT_EQ(net.bn->num_batches_tracked.item<int64_t>(), 5);
  }
}

TEST(StateDict, SafetensorsAndPthGiveTheSameDict) {
  const auto pth = read_state_dict(test::fixture("state_dict/module.pth"));
  const std::string path = test::temp_dir("state_dict") + "/m.safetensors";
  write_safetensors(path, pth);
  const auto st = read_state_dict(path);
  ASSERT_EQ(st.size(), pth.size());
  for (size_t i = 0; i < st.size(); ++i) {
    EXPECT_EQ(st[i].first, pth[i].first);
    EXPECT_TRUE(torch::equal(st[i].second, pth[i].second));
  }
}

TEST(StateDict, StrictLoadingListsEveryProblemAndChangesNothing) {
  auto dict = read_state_dict(test::fixture("state_dict/module.pth"));
  Net net;
  const auto before = net.linear->weight.clone();
  dict[0].second = torch::zeros({4, 3});                // linear.weight transposed
  dict[2].second = torch::full({3}, NAN);               // bn.weight non-finite
  dict.erase(dict.begin() + 1);                         // linear.bias missing
  dict.emplace_back("head.weight", torch::zeros({2}));  // unexpected
  const std::string message = error_of([&] { load_state_dict(net, dict); });
  EXPECT_TRUE(contains(message, "linear.weight: file [4, 3], model [3, 4]")) << message;
  EXPECT_TRUE(contains(message, "missing from the file (1):\n    linear.bias")) << message;
  EXPECT_TRUE(contains(message, "not in the model (1):\n    head.weight")) << message;
  EXPECT_TRUE(contains(message, "NaN or Inf (1):\n    bn.weight")) << message;
  EXPECT_TRUE(torch::equal(net.linear->weight, before));
}

TEST(StateDict, OptionalCountersPrefixesAndNonStrictLoading) {
  auto dict = read_state_dict(test::fixture("state_dict/module.pth"));
  StateDict prefixed;
  for (const auto& [name, t] : dict) {
    if (name != "bn.num_batches_tracked") prefixed.emplace_back("module." + name, t);
  }
  Net net;
  StateDictLoadOptions options;
  options.strip_prefix = "module.";
  const auto report = load_state_dict(net, prefixed, options);
  EXPECT_EQ(report.loaded, 6);
  EXPECT_EQ(report.missing, std::vector<std::string>{"bn.num_batches_tracked"});

  prefixed.emplace_back("extra", torch::ones(1));
  prefixed.erase(prefixed.begin());
  options.strict = false;
  Net other;
  const auto loose = load_state_dict(other, prefixed, options);
  EXPECT_EQ(loose.loaded, 5);
  EXPECT_EQ(loose.unexpected, std::vector<std::string>{"extra"});
  EXPECT_EQ(loose.missing.size(), 2u);
}

TEST(StateDict, RejectsOtherFilesWithAMessage) {
  const std::string dir = test::temp_dir("state_dict_bad");
  util::write_file_atomic(dir + "/legacy.pth", std::string("\x80\x02\x8a\x0a", 4) + "garbage");
  EXPECT_TRUE(contains(error_of([&] { read_state_dict(dir + "/legacy.pth"); }), "legacy"));
  util::write_file_atomic(dir + "/text.pth", "hello world");
  EXPECT_TRUE(contains(error_of([&] { read_state_dict(dir + "/text.pth"); }), "neither"));
  const std::string zip = util::read_file(test::fixture("state_dict/module.pth"));
  util::write_file_atomic(dir + "/cut.pth", zip.substr(0, zip.size() / 2));
  EXPECT_TRUE(contains(error_of([&] { read_state_dict(dir + "/cut.pth"); }), "cut.pth"));
  EXPECT_TRUE(contains(error_of([&] { read_state_dict(dir + "/none.pth"); }), "none.pth"));
}

}  // namespace
}  // namespace hcmsn::io
