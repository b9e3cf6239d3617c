// strata's mutex: absl::Mutex's interface (Lock/Unlock, MutexLock, Await on
// a condition, clang thread-safety annotations) over std::mutex and
// std::condition_variable.
//
// Why not absl::Mutex itself: Debian's abseil is a prebuilt library, so under
// ThreadSanitizer its locking is invisible and every access it guards looks
// like a race. std::mutex goes through pthread, which TSan intercepts in any
// build; with this one type the concurrency tests run under TSan (scripts/
// tsan.sh). It is no slower for us: uncontended lock and unlock are one
// atomic each, and a condition is re-checked only when a waiter exists.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace strata {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    const bool wake = waiters_ > 0;
    mu_.unlock();
    // Waiters re-check their conditions; whatever this holder changed is
    // visible to them once they hold the lock again.
    if (wake) cv_.notify_all();
  }

  // Blocks until `cond` holds, releasing the lock while waiting. `cond` runs
  // with the lock held.
  void Await(const std::function<bool()>& cond) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    AwaitUntil(cond, nullptr);
  }
  // As Await, but gives up at `deadline`; returns whether `cond` holds.
  bool AwaitWithDeadline(const std::function<bool()>& cond, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    return AwaitUntil(cond, &deadline);
  }
  bool AwaitWithTimeout(const std::function<bool()>& cond, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    return AwaitWithDeadline(cond, absl::Now() + timeout);
  }

 private:
  bool AwaitUntil(const std::function<bool()>& cond, const absl::Time* deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> held(mu_, std::adopt_lock);
    bool ok = true;
    bool first = true;
    while (!(ok = cond())) {
      // Waiting releases the lock: like Unlock, wake the other waiters, as
      // what this holder changed may be what they wait for. Only on entry: a
      // waiter that wakes, finds its condition false and waits again changed
      // nothing (and waking the others then would make two waiters ping-pong).
      if (first && waiters_ > 0) cv_.notify_all();
      first = false;
      ++waiters_;
      if (deadline == nullptr) {
        cv_.wait(held);
      } else if (cv_.wait_until(held, absl::ToChronoTime(*deadline)) == std::cv_status::timeout) {
        --waiters_;
        ok = cond();
        break;
      }
      --waiters_;
    }
    held.release();  // still locked: the caller's scope unlocks
    return ok;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int waiters_ = 0;  // guarded by mu_
};

// Holds `mu` for the scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace strata
