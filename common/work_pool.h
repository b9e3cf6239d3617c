// A fixed set of threads shared by every caller, and task groups that a
// caller can abandon.
//
// Imports unpack their layers on one WorkPool, so however many run at once,
// no more extractions run in the background than the pool has threads (each
// caller also works on its own thread; see TaskGroup). A task must never wait
// for another task that is still queued: a caller that needs queued work done
// does it itself (UnpackSession::Claim), so the pool cannot deadlock.
//
// Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace strata {

class WorkPool {
 public:
  explicit WorkPool(int threads);  // at least one
  ~WorkPool();                     // runs what is queued, then joins

  void Submit(std::function<void()> task);
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Run();

  Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Tasks submitted on behalf of one caller, whose captures may point into the
// caller's stack: Close() (or the destructor) turns those not yet started
// into no-ops and waits for the started ones, so none runs afterwards.
class TaskGroup {
 public:
  explicit TaskGroup(WorkPool* pool);  // must outlive the group
  ~TaskGroup();                        // Close()
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  void Submit(std::function<void()> task);
  void Close();

 private:
  struct State {
    Mutex mu;
    bool closed ABSL_GUARDED_BY(mu) = false;
    int running ABSL_GUARDED_BY(mu) = 0;
  };
  WorkPool* pool_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace strata
