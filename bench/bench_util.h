// Small helpers the benchmarks share.
#pragma once

#include <unistd.h>

#include <chrono>
#include <fstream>

namespace strata::bench {

using Clock = std::chrono::steady_clock;

// Flushes dirty data and drops the page cache, so every run reads from disk.
inline void DropCaches() {
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}

inline double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace strata::bench
