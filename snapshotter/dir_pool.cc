#include "snapshotter/dir_pool.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"

namespace strata::snapshotter {

DirPool::DirPool(const Layout* layout, uint64_t first_id, Options options)
    : layout_(layout), options_(options), next_id_(first_id) {
  worker_ = std::thread([this] { Work(); });
}

DirPool::~DirPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
  // Ready directories have no record: they go now rather than at next start-up.
  for (uint64_t id : ready_) (void)RemoveTree(layout_->SnapshotDir(id));
}

absl::Status DirPool::MakeDir(uint64_t id) {
  for (const auto& [path, mode] :
       {std::pair{layout_->SnapshotDir(id), 0700}, std::pair{layout_->FilesDir(id), 0755},
        std::pair{layout_->WorkDir(id), 0700}}) {
    if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
    }
    // mkdir applies the umask; the mode must not depend on it.
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("chmod ", path));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> DirPool::Acquire() {
  uint64_t id;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!ready_.empty()) {
      id = ready_.front();
      ready_.pop_front();
      cv_.notify_one();  // refill
      return id;
    }
    id = next_id_++;
    pending_.insert(id);
  }
  absl::Status s = MakeDir(id);
  if (!s.ok()) {
    Discard(id);
    return s;
  }
  return id;
}

void DirPool::Recorded(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.erase(id);
}

void DirPool::Discard(uint64_t id) {
  absl::Status s = RemoveTree(layout_->SnapshotDir(id));
  if (!s.ok()) log::Warn("remove unrecorded snapshot dir", {{"err", s.ToString()}});
  std::lock_guard<std::mutex> l(mu_);
  pending_.erase(id);
}

void DirPool::Reap(uint64_t id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    to_reap_.push_back(id);
  }
  cv_.notify_one();
}

std::set<uint64_t> DirPool::PendingIds() {
  std::lock_guard<std::mutex> l(mu_);
  return pending_;
}

void DirPool::WaitForReaping() {
  std::unique_lock<std::mutex> l(mu_);
  idle_cv_.wait(l, [this] { return to_reap_.empty() && !reaping_; });
}

void DirPool::Work() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [this] {
      return stop_ || !to_reap_.empty() ||
             static_cast<int>(ready_.size()) < options_.ready_target / 2;
    });
    if (!to_reap_.empty()) {
      std::deque<uint64_t> batch;
      batch.swap(to_reap_);
      reaping_ = true;
      l.unlock();
      for (uint64_t id : batch) {
        absl::Status s = RemoveTree(layout_->SnapshotDir(id));
        // Left for Cleanup and start-up recovery, which remove orphans.
        if (!s.ok()) log::Warn("remove snapshot dir", {{"err", s.ToString()}});
      }
      l.lock();
      reaping_ = false;
      idle_cv_.notify_all();
      continue;
    }
    if (stop_) return;
    // Refill in one batch, so one journal commit covers the whole batch.
    while (!stop_ && static_cast<int>(ready_.size()) < options_.ready_target) {
      uint64_t id = next_id_++;
      pending_.insert(id);
      l.unlock();
      absl::Status s = MakeDir(id);
      l.lock();
      if (!s.ok()) {
        pending_.erase(id);
        log::Warn("pre-make snapshot dir", {{"err", s.ToString()}});
        // Back off (a full disk must not make this loop spin); Acquire still
        // makes directories on demand meanwhile.
        cv_.wait_for(l, std::chrono::seconds(1), [this] { return stop_ || !to_reap_.empty(); });
        break;
      }
      ready_.push_back(id);
    }
  }
}

}  // namespace strata::snapshotter
