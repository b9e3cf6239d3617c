#include "common/work_pool.h"

#include <algorithm>
#include <utility>

namespace strata {

WorkPool::WorkPool(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
}

WorkPool::~WorkPool() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void WorkPool::Submit(std::function<void()> task) {
  MutexLock l(&mu_);
  queue_.push_back(std::move(task));
}

void WorkPool::Run() {
  while (true) {
    std::function<void()> task;
    {
      MutexLock l(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.Await(ready);
      if (queue_.empty()) return;  // stopping, and nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

TaskGroup::TaskGroup(WorkPool* pool) : pool_(pool) {}

TaskGroup::~TaskGroup() { Close(); }

void TaskGroup::Submit(std::function<void()> task) {
  pool_->Submit([state = state_, task = std::move(task)] {
    {
      MutexLock l(&state->mu);
      if (state->closed) return;
      ++state->running;
    }
    task();
    MutexLock l(&state->mu);
    --state->running;
  });
}

void TaskGroup::Close() {
  MutexLock l(&state_->mu);
  state_->closed = true;
  State* state = state_.get();
  auto idle = [state]() ABSL_SHARED_LOCKS_REQUIRED(state->mu) { return state->running == 0; };
  state_->mu.Await(idle);
}

}  // namespace strata
