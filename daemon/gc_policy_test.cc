#include "daemon/gc_policy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "layerstore/store.h"
#include "layerstore/work_counters.h"
#include "tests/test_util.h"

namespace strata::daemon {
namespace {

using ::strata::testing::TempDir;

int64_t Runs() { return layerstore::Counters().gc_runs.load(); }

// Waits up to 10 s for the collection count to pass `than`.
bool CollectedAfter(int64_t than) {
  for (int i = 0; i < 200 && Runs() <= than; ++i) absl::SleepFor(absl::Milliseconds(50));
  return Runs() > than;
}

class GcPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(store_, layerstore::Store::Open(tmp_.Sub("root"))); }
  TempDir tmp_;
  std::unique_ptr<layerstore::Store> store_;
};

TEST_F(GcPolicyTest, OffCollectsNothingThenAnUpdateTurnsItOn) {
  GcPolicy policy(store_->gc.get(), GcPolicy::Options{});
  int64_t before = Runs();
  policy.NoteDeletion();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Runs(), before);
  GcPolicy::Options on;
  on.after_deletions = true;
  on.settle = absl::Milliseconds(50);
  policy.Update(on);
  policy.NoteDeletion();
  EXPECT_TRUE(CollectedAfter(before));
}

TEST_F(GcPolicyTest, TimerFromAnUpdate) {
  GcPolicy policy(store_->gc.get(), GcPolicy::Options{});
  int64_t before = Runs();
  GcPolicy::Options timed;
  timed.interval = absl::Milliseconds(100);
  timed.ingest_max_age = absl::Minutes(5);
  policy.Update(timed);
  EXPECT_EQ(policy.ingest_max_age(), absl::Minutes(5));
  EXPECT_TRUE(CollectedAfter(before + 1));  // at least two timed runs
  policy.Update(GcPolicy::Options{});       // off again: the thread only sleeps
  absl::SleepFor(absl::Milliseconds(600));  // a collection in progress finishes
  int64_t settled = Runs();
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(Runs(), settled);
}

// Deletions noted from many threads while the settings change under them.
TEST_F(GcPolicyTest, UpdatesRaceWithDeletions) {
  GcPolicy::Options on;
  on.after_deletions = true;
  on.settle = absl::Milliseconds(20);
  GcPolicy policy(store_->gc.get(), on);
  std::atomic<bool> stop{false};
  std::vector<std::thread> deleters;
  for (int t = 0; t < 4; ++t) {
    deleters.emplace_back([&] {
      while (!stop.load()) {
        policy.NoteDeletion();
        (void)policy.ingest_max_age();
        std::this_thread::yield();
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    on.interval = absl::Milliseconds(i % 2 == 0 ? 10 : 0);
    on.after_deletions = i % 3 != 0;
    policy.Update(on);
    absl::SleepFor(absl::Milliseconds(5));
  }
  stop = true;
  for (std::thread& t : deleters) t.join();
  // Whatever the races left, the last settings rule: a deletion is collected.
  on.interval = absl::ZeroDuration();
  on.after_deletions = true;
  policy.Update(on);
  int64_t before = Runs();
  policy.NoteDeletion();
  EXPECT_TRUE(CollectedAfter(before));
}

}  // namespace
}  // namespace strata::daemon
