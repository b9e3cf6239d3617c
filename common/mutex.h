// strata's mutex: absl::Mutex's interface (Lock/Unlock, MutexLock, Await on
// a condition, clang thread-safety annotations) over std::mutex and
// std::condition_variable.
//
// Why not absl::Mutex itself: Debian's abseil is a prebuilt library, so under
// ThreadSanitizer its locking is invisible and every access it guards looks
// like a race. std::mutex goes through pthread, which TSan intercepts in any
// build; with this one type the concurrency tests run under TSan (scripts/
// tsan.sh). It is no slower for us: uncontended lock and unlock are one
// atomic each, and conditions are checked only while someone waits.
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
    if (waiters_ != nullptr) Notify(TakeReadyWaiters());
    mu_.unlock();
  }

  // Blocks until `cond` holds, releasing the lock while waiting. `cond` runs
  // with the lock held, in this thread or in one releasing the lock.
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
  // A thread in Await, on its own stack. As in absl::Mutex, whoever releases
  // the lock evaluates the waiters' conditions and wakes only those whose
  // condition now holds: waking every waiter on every release made dozens of
  // threads waiting for a metadata sync wake for each write.
  struct Waiter {
    const std::function<bool()>* cond;
    std::condition_variable cv;
    bool ready = false;  // guarded by mu_
    Waiter* next = nullptr;
    Waiter* next_ready = nullptr;
  };

  // REQUIRES: mu_ held. Unlinks the waiters whose condition holds.
  Waiter* TakeReadyWaiters() {
    Waiter* ready = nullptr;
    for (Waiter** w = &waiters_; *w != nullptr;) {
      Waiter* cur = *w;
      if ((*cur->cond)()) {
        *w = cur->next;
        cur->ready = true;
        cur->next_ready = ready;
        ready = cur;
      } else {
        w = &cur->next;
      }
    }
    return ready;
  }
  // REQUIRES: mu_ held, which is what keeps each Waiter alive here: its
  // thread cannot see `ready` and leave Await before taking mu_ back.
  static void Notify(Waiter* ready) {
    while (ready != nullptr) {
      Waiter* next = ready->next_ready;
      ready->cv.notify_one();
      ready = next;
    }
  }
  void Unlink(Waiter* me) {
    for (Waiter** w = &waiters_; *w != nullptr; w = &(*w)->next) {
      if (*w == me) {
        *w = me->next;
        return;
      }
    }
  }

  bool AwaitUntil(const std::function<bool()>& cond, const absl::Time* deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> held(mu_, std::adopt_lock);
    bool ok;
    while (!(ok = cond())) {
      Waiter me;
      me.cond = &cond;
      // Waiting releases the lock: like Unlock, first wake the waiters whose
      // condition what this holder changed has made true.
      if (waiters_ != nullptr) Notify(TakeReadyWaiters());
      me.next = waiters_;
      waiters_ = &me;
      bool timed_out = false;
      while (!me.ready && !timed_out) {
        if (deadline == nullptr) {
          me.cv.wait(held);
        } else {
          timed_out =
              me.cv.wait_until(held, absl::ToChronoTime(*deadline)) == std::cv_status::timeout;
        }
      }
      if (!me.ready) {  // timed out, still listed
        Unlink(&me);
        ok = cond();
        break;
      }
    }
    held.release();  // still locked: the caller's scope unlocks
    return ok;
  }

  std::mutex mu_;
  Waiter* waiters_ = nullptr;  // guarded by mu_
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
