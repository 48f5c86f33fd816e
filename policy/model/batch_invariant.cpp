#include "policy/model/batch_invariant.h"

#include <ATen/Parallel.h>
#include <c10/util/ParallelGuard.h>

// MKL's per-thread thread count (its C entry point; the lower-case name is the Fortran one, by
// pointer), where LibTorch carries MKL (x86); weak, so builds without MKL link. ATen turns
// MKL's dynamic threading off, so an MKL call inside a parallel region would otherwise start
// threads of its own and split its reductions by their number.
extern "C" int MKL_Set_Num_Threads_Local(int nthreads) __attribute__((weak));
// OpenMP's thread count of this thread's next parallel regions (oneDNN's matmuls start some):
// where parallel_for runs a task inline, outside any region, they would use every thread.
extern "C" void omp_set_num_threads(int nthreads) __attribute__((weak));
extern "C" int omp_get_max_threads() __attribute__((weak));

namespace visrl::policy {
namespace {
thread_local bool invariant_on = false;

// Holds MKL and OpenMP to one thread on this thread for the guard's life.
class OneThread {
 public:
  OneThread()
      : mkl_(MKL_Set_Num_Threads_Local != nullptr ? MKL_Set_Num_Threads_Local(1) : 0),
        omp_(omp_get_max_threads != nullptr ? omp_get_max_threads() : 0) {
    if (omp_set_num_threads != nullptr) omp_set_num_threads(1);
  }
  ~OneThread() {
    if (MKL_Set_Num_Threads_Local != nullptr) MKL_Set_Num_Threads_Local(mkl_);
    if (omp_set_num_threads != nullptr && omp_ > 0) omp_set_num_threads(omp_);
  }

 private:
  int mkl_, omp_;
};
}  // namespace

bool batch_invariant() {
  return invariant_on;
}

BatchInvariantMode::BatchInvariantMode(bool on) : previous_(invariant_on) {
  invariant_on = on;
}
BatchInvariantMode::~BatchInvariantMode() {
  invariant_on = previous_;
}

void for_each_row(int64_t n, const std::function<void(int64_t)>& fn) {
  // The tasks run on at::parallel_for's threads, which do not inherit the thread-local switch:
  // the mode is set again inside, so that the row's own ops (e.g. a Linear) see it.
  const bool on = invariant_on;
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    BatchInvariantMode mode(on);
    // The task's ops run on this thread alone, also where parallel_for ran it inline (one
    // task, or one thread): ATen's nested parallel_for then runs inline too, MKL and OpenMP
    // (oneDNN) on one thread.
    c10::ParallelGuard one_region(true);
    OneThread one_thread;
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

at::Tensor invariant_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t K = x.size(-1), N = weight.size(0);
  auto rows = x.reshape({-1, K});  // [M, K]
  const int64_t M = rows.size(0);
  const int64_t blocks = (M + kInvariantRows - 1) / kInvariantRows;
  const int64_t chunks = (N + kInvariantColumns - 1) / kInvariantColumns;
  auto padded = at::zeros({blocks * kInvariantRows, K}, rows.options());  // [Mp, K]
  padded.narrow(0, 0, M).copy_(rows);
  auto out = at::empty({blocks * kInvariantRows, N}, rows.options());  // [Mp, N]
  for_each_row(blocks * chunks, [&](int64_t task) {
    const int64_t r0 = task / chunks * kInvariantRows, c0 = task % chunks * kInvariantColumns;
    const int64_t cn = std::min(kInvariantColumns, N - c0);
    auto w = weight.narrow(0, c0, cn);                             // [cn, K]
    auto y = at::mm(padded.narrow(0, r0, kInvariantRows), w.t());  // [16, cn]
    if (bias.defined()) y = y + bias.narrow(0, c0, cn);
    out.narrow(0, r0, kInvariantRows).narrow(1, c0, cn).copy_(y);
  });
  auto sizes = x.sizes().vec();
  sizes.back() = N;
  return out.narrow(0, 0, M).view(sizes);
}

}  // namespace visrl::policy
