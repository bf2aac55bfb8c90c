#include "hcmsn/util/threads.h"

#include <sched.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

// Weak so that linking works with any BLAS; non-null only when OpenBLAS is loaded.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace hcmsn::util {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

int set_num_threads(int n) {
  if (n <= 0) {
    if (const char* env = std::getenv("HCMSN_THREADS")) n = std::atoi(env);
  }
  if (n <= 0) n = available_cores();
  torch::set_num_threads(n);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(n);
  return n;
}

void ensure_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // The exec failed (no /proc): carry on with the default policy.
}

}  // namespace hcmsn::util
