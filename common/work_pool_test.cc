#include "common/work_pool.h"

#include <atomic>

#include "absl/time/clock.h"
#include "tests/test_util.h"

namespace strata {
namespace {

TEST(WorkPoolTest, RunsEverySubmittedTask) {
  std::atomic<int> ran{0};
  {
    WorkPool pool(3);
    for (int i = 0; i < 100; ++i) pool.Submit([&ran] { ++ran; });
  }  // the destructor runs what is queued
  EXPECT_EQ(ran.load(), 100);
}

// A caller that has finished the work itself abandons its helpers still
// queued behind other callers' tasks instead of waiting for them.
TEST(WorkPoolTest, ClosedGroupNeverRunsItsQueuedTasks) {
  std::atomic<int> ran{0};
  std::atomic<bool> release{false};
  WorkPool pool(1);
  pool.Submit([&release] {
    while (!release) absl::SleepFor(absl::Milliseconds(1));
  });
  {
    TaskGroup group(&pool);
    for (int i = 0; i < 5; ++i) group.Submit([&ran] { ++ran; });
    group.Close();  // returns at once: none of them started
  }
  release = true;
  // Everything queued before this marker has run (or been skipped) once it runs.
  std::atomic<bool> drained{false};
  pool.Submit([&drained] { drained = true; });
  while (!drained) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(ran.load(), 0);
}

TEST(WorkPoolTest, CloseWaitsForStartedTasks) {
  WorkPool pool(2);
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  TaskGroup group(&pool);
  group.Submit([&] {
    started = true;
    absl::SleepFor(absl::Milliseconds(100));
    finished = true;
  });
  while (!started) absl::SleepFor(absl::Milliseconds(1));
  group.Close();
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace strata
