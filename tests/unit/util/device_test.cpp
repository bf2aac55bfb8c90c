// Device selection (util/device.h): cpu always; malformed names refused; CUDA asked for on a
// machine or build without it refused with what to do; with CUDA, every existing index accepted
// and the next one refused (that part skips without a GPU).
#include "hcmsn/util/device.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace hcmsn::util {
namespace {

TEST(Device, CpuAndMalformedNames) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_EQ(device_name(parse_device("cpu")), "cpu");
  for (const char* bad :
       {"", "gpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "cuda:1:2", "cpu:0", "cuda:99999"}) {
    EXPECT_TRUE(
        test::contains(test::error_of([&] { parse_device(bad); }), "use cpu, cuda or cuda:N"))
        << bad;
  }
}

TEST(Device, CudaAbsentIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has CUDA";
  for (const char* name : {"cuda", "cuda:0", "cuda:3"}) {
    const auto message = test::error_of([&] { parse_device(name); });
    EXPECT_TRUE(test::contains(message, "no CUDA device")) << message;
    EXPECT_TRUE(test::contains(message, "--device cpu")) << message;
  }
}

TEST(Device, CudaIndicesWhenPresent) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  EXPECT_TRUE(parse_device("cuda").is_cuda());
  for (int64_t i = 0; i < count; ++i) {
    EXPECT_EQ(device_name(parse_device("cuda:" + std::to_string(i))), "cuda:" + std::to_string(i));
  }
  EXPECT_TRUE(test::contains(test::error_of([&] { parse_device("cuda:" + std::to_string(count)); }),
                             "does not exist"));
}

}  // namespace
}  // namespace hcmsn::util
