#include "common/run_each.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

namespace strata {
namespace {

TEST(RunEachTest, RunsEachIndexOnceOnUpToTheThreadsAsked) {
  std::mutex mu;
  std::multiset<size_t> ran;
  std::set<std::thread::id> threads;
  std::atomic<bool> stop{false};
  std::vector<absl::Status> results = RunEach(
      20, 3,
      [&](size_t i) {
        std::lock_guard<std::mutex> l(mu);
        ran.insert(i);
        threads.insert(std::this_thread::get_id());
        return absl::OkStatus();
      },
      &stop);
  ASSERT_EQ(results.size(), 20u);
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(ran.size(), 20u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(ran.count(i), 1u);
  EXPECT_LE(threads.size(), 3u);
  EXPECT_TRUE(FirstFailure(results).ok());
  EXPECT_FALSE(stop.load());
}

// After a failure the rest are skipped, and FirstFailure names the failure,
// not the cancellations it caused.
TEST(RunEachTest, AFailureStopsTheRestAndIsTheOneReported) {
  std::atomic<bool> stop{false};
  std::vector<absl::Status> results = RunEach(
      50, 1,
      [&](size_t i) {
        if (i == 3) return absl::DataLossError("index 3");
        return absl::OkStatus();
      },
      &stop);
  EXPECT_TRUE(stop.load());
  EXPECT_TRUE(results[2].ok());
  EXPECT_TRUE(absl::IsDataLoss(results[3]));
  EXPECT_TRUE(absl::IsCancelled(results[4]));
  EXPECT_TRUE(absl::IsDataLoss(FirstFailure(results)));
  EXPECT_TRUE(absl::IsDataLoss(FirstFailure(
      {absl::CancelledError("gave up"), absl::OkStatus(), absl::DataLossError("cause")})));
}

}  // namespace
}  // namespace strata
