#include "common/mutex.h"

#include <thread>

#include "gtest/gtest.h"

namespace strata {
namespace {

// Two threads hand a turn back and forth, each changing the state and then
// waiting inside Await: entering Await must wake the other waiter, as
// releasing the lock does (this deadlocked before that wake existed).
TEST(MutexTest, EnteringAwaitWakesOtherWaiters) {
  Mutex mu;
  int turn = 0;
  constexpr int kRounds = 2000;
  auto player = [&](int me) {
    MutexLock l(&mu);
    for (int i = 0; i < kRounds; ++i) {
      mu.Await([&] { return turn % 2 == me; });
      ++turn;
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
  EXPECT_EQ(turn, 2 * kRounds);
}

TEST(MutexTest, AwaitWithTimeoutReportsTheCondition) {
  Mutex mu;
  bool flag = false;
  MutexLock l(&mu);
  EXPECT_FALSE(mu.AwaitWithTimeout([&] { return flag; }, absl::Milliseconds(20)));
  std::thread setter([&] {
    MutexLock l2(&mu);
    flag = true;
  });
  EXPECT_TRUE(mu.AwaitWithTimeout([&] { return flag; }, absl::Seconds(30)));
  setter.join();
}

}  // namespace
}  // namespace strata
