// A bounded fan-out for work that waits on the network (a pull's downloads,
// a push's uploads), which must not take the unpack pool's threads
// (common/work_pool.h): up to `threads` threads, the caller's among them.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <vector>

#include "absl/status/status.h"

namespace strata {

// Runs fn(i) for each i in [0, count), each once, on up to `threads`
// threads. Once one fails, `*stop` is set (for those running to give up)
// and those not begun are skipped (CANCELLED). Returns each i's status.
std::vector<absl::Status> RunEach(size_t count, int threads,
                                  const std::function<absl::Status(size_t)>& fn,
                                  std::atomic<bool>* stop);

// The failure that made the others give up: the first that is not
// CANCELLED, else the first; OK if none failed.
absl::Status FirstFailure(const std::vector<absl::Status>& results);

}  // namespace strata
