// Thread-count control. LibTorch's intra-op pool defaults to 1 thread on Debian's build and
// OpenBLAS keeps a pool of its own, so both are set together, once, at start-up.
#pragma once

namespace hcmsn::util {

/// Sets LibTorch's intra-op threads and, when OpenBLAS is the BLAS, its pool too.
/// `n <= 0` means one thread per available core (HCMSN_THREADS in the environment overrides).
/// Returns the count applied.
int set_num_threads(int n);

/// The number of cores this process may run on (affinity mask aware).
int available_cores();

}  // namespace hcmsn::util
