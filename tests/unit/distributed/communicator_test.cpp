// The c10d communicator (issue 13) with 2 ranks as 2 threads of this process on loopback: sums
// and bucketed averages equal the arithmetic on the inputs, gradients undefined on one rank are
// averaged with zeros, and the backend choice refuses what the build or device cannot do.
#include <gtest/gtest.h>

#include <thread>

#include "hcmsn/distributed/communicator.h"
#include "hcmsn/distributed/launcher.h"
#include "support/test_support.h"

namespace hcmsn::distributed {
namespace {

// Runs `body(communicator)` on ranks 0 and 1 at once; rethrows a rank's failure.
void on_two_ranks(const std::function<void(Communicator&)>& body, int64_t bucket_bytes) {
  const int64_t port = free_port();
  std::string errors[2];
  std::vector<std::thread> ranks;
  for (int64_t rank = 0; rank < 2; ++rank) {
    ranks.emplace_back([&, rank] {
      try {
        LaunchEnvironment e;
        e.rank = rank;
        e.world_size = 2;
        e.local_rank = rank;
        e.master_port = port;
        CommunicatorOptions o;
        o.timeout = std::chrono::seconds(30);
        o.bucket_bytes = bucket_bytes;
        Communicator c(e, o);
        body(c);
      } catch (const std::exception& ex) {
        errors[rank] = ex.what();
      }
    });
  }
  for (auto& t : ranks) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

TEST(Communicator, SumAndBucketedAverageMatchTheArithmetic) {
  // Rank r holds r + 1 times each tensor; three tensors of 40 floats in buckets of 64 bytes, so
  // every tensor travels alone, plus a float64 one. The inputs are drawn here, before the ranks
  // start: the ranks are threads and the default generator is shared, so drawing there races.
  torch::Tensor inputs[3];
  for (int64_t i = 0; i < 3; ++i) {
    torch::manual_seed(i + 1);
    inputs[i] = torch::randn({4, 10}, i == 2 ? torch::kFloat64 : torch::kFloat32);
  }
  std::vector<torch::Tensor> results[2];
  torch::Tensor sums[2];
  double means[2] = {0, 0};
  on_two_ranks(
      [&](Communicator& c) {
        const double factor = static_cast<double>(c.rank() + 1);
        std::vector<torch::Tensor> ts = {inputs[0] * factor, inputs[1] * factor,
                                         inputs[2] * factor};
        c.average(ts);
        auto counts = torch::tensor({c.rank(), int64_t{10}}, torch::kInt64);
        c.sum(counts);
        c.barrier();
        results[c.rank()] = ts;
        sums[c.rank()] = counts;
        means[c.rank()] = c.average(factor);
      },
      64);
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(results[r].size(), 3U);
    // mean of x and 2x is 1.5x
    EXPECT_TRUE(torch::allclose(results[r][0], inputs[0] * 1.5));
    EXPECT_TRUE(torch::allclose(results[r][1], inputs[1] * 1.5));
    EXPECT_TRUE(torch::allclose(results[r][2], inputs[2] * 1.5, 1e-12, 1e-12));
    EXPECT_EQ(results[r][2].scalar_type(), torch::kFloat64);
    EXPECT_TRUE(torch::equal(sums[r], torch::tensor({int64_t{1}, int64_t{20}})));
    EXPECT_DOUBLE_EQ(means[r], 1.5);
  }
}

TEST(Communicator, GradientsUndefinedOnOneRankAverageWithZeros) {
  torch::Tensor grads[2][3];
  on_two_ranks(
      [&](Communicator& c) {
        // p0: a gradient on both ranks; p1: on rank 0 only; p2: on neither.
        std::vector<torch::Tensor> ps;
        for (int i = 0; i < 3; ++i) ps.push_back(torch::zeros({5}).requires_grad_(true));
        ps[0].mutable_grad() = torch::full({5}, c.rank() == 0 ? 2.0 : 4.0);
        if (c.rank() == 0) ps[1].mutable_grad() = torch::full({5}, 6.0);
        average_gradients(c, ps);
        for (int i = 0; i < 3; ++i) grads[c.rank()][i] = ps[static_cast<size_t>(i)].grad();
      },
      int64_t{16} << 20);
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::equal(grads[r][0], torch::full({5}, 3.0)));
    EXPECT_TRUE(torch::equal(grads[r][1], torch::full({5}, 3.0)));  // (6 + 0) / 2
    EXPECT_FALSE(grads[r][2].defined());
  }
}

TEST(Communicator, ShardingOfSplitsTheWorkAndSums) {
  torch::Tensor shares[2];
  on_two_ranks(
      [&](Communicator& c) {
        const util::Sharding s = sharding_of(&c);
        // Each rank writes the blocks it owns; the sum assembles them.
        auto v = torch::zeros({6}, torch::kFloat32);
        for (int64_t b = 0; b < 6; ++b) {
          if (s.owns(b)) v[b] = static_cast<float>(10 * b + s.rank);
        }
        s.sum(v);
        shares[s.rank] = v;
      },
      int64_t{16} << 20);
  const auto expected = torch::tensor({0.f, 11.f, 20.f, 31.f, 40.f, 51.f});
  EXPECT_TRUE(torch::equal(shares[0], expected));
  EXPECT_TRUE(torch::equal(shares[1], expected));
  const util::Sharding alone = sharding_of(nullptr);
  EXPECT_FALSE(alone.active());
  EXPECT_TRUE(alone.owns(5));
  EXPECT_EQ(alone.last_of(7), 7);
}

TEST(Communicator, BackendChoiceFollowsTheBuildAndDevice) {
  EXPECT_EQ(choose_backend("gloo", torch::kCPU), Backend::kGloo);
  EXPECT_EQ(choose_backend("auto", torch::kCPU), Backend::kGloo);
  EXPECT_TRUE(test::contains(test::error_of([] { choose_backend("mpi", torch::kCPU); }),
                             "use auto, gloo or nccl"));
  const std::string nccl_on_cpu = test::error_of([] { choose_backend("nccl", torch::kCPU); });
  EXPECT_TRUE(test::contains(nccl_on_cpu,
                             nccl_available() ? "give --device cuda" : "this build has no NCCL"))
      << nccl_on_cpu;
  EXPECT_EQ(to_string(Backend::kNccl), "nccl");
}

}  // namespace
}  // namespace hcmsn::distributed
