// Private to the ep sources: thread-count helpers shared by the tissue solvers.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace cardiotwin::ep::detail {

// Threads for a mesh of n nodes: the request, or (0 = automatic) one thread per 20k nodes up to
// the core count, since fork/join costs outweigh the work on small meshes.
inline int effective_threads(int requested, std::int64_t n) {
  if (requested > 0) return requested;
  return static_cast<int>(std::clamp<std::int64_t>(n / 20000, 1, omp_get_num_procs()));
}

// Sets the OpenMP thread count for a solver call and restores the caller's when it returns.
class ThreadScope {
 public:
  explicit ThreadScope(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadScope() { omp_set_num_threads(saved_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

}  // namespace cardiotwin::ep::detail
