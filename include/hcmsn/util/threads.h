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

/// For long jobs (training): when OMP_WAIT_POLICY is unset, sets it to PASSIVE and re-executes
/// this program with the same arguments; returns only when nothing needed doing (or the exec
/// failed). LibTorch's OpenMP threads and OpenBLAS's threads spin while waiting by default and,
/// as soon as any other process wants a core, steal each other's time slices: measured 1.5
/// instead of 40 training steps/s on 2 cores. libgomp reads the variable once, when it loads,
/// hence the re-exec. Costs one start-up (~0.3 s), so short commands do not call it.
void ensure_passive_openmp_wait(char** argv);

}  // namespace hcmsn::util
