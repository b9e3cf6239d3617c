#include "common/run_each.h"

#include <algorithm>
#include <thread>

namespace strata {

std::vector<absl::Status> RunEach(size_t count, int threads,
                                  const std::function<absl::Status(size_t)>& fn,
                                  std::atomic<bool>* stop) {
  std::vector<absl::Status> results(count, absl::CancelledError("skipped after a failure"));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; !stop->load() && (i = next.fetch_add(1)) < count;) {
      results[i] = fn(i);
      if (!results[i].ok()) *stop = true;
    }
  };
  std::vector<std::thread> helpers;
  int n = std::min<int>(std::max(1, threads), static_cast<int>(count));
  for (int t = 1; t < n; ++t) helpers.emplace_back(worker);
  worker();
  for (std::thread& t : helpers) t.join();
  return results;
}

absl::Status FirstFailure(const std::vector<absl::Status>& results) {
  absl::Status first;
  for (const absl::Status& s : results) {
    if (!s.ok() && (first.ok() || (absl::IsCancelled(first) && !absl::IsCancelled(s)))) first = s;
  }
  return first;
}

}  // namespace strata
