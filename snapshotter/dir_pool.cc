#include "snapshotter/dir_pool.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"

namespace strata::snapshotter {

namespace {

// How long the reaper waits for a foreground call's sync to cover a removal
// before syncing itself: a busy store covers it within a call, and an idle
// one can afford its own sync.
constexpr absl::Duration kReapPatience = absl::Milliseconds(10);

}  // namespace

DirPool::DirPool(const Layout* layout, meta::Db* db, uint64_t first_id, Options options,
                 RemoveDir remove_dir)
    : layout_(layout),
      db_(db),
      options_(options),
      remove_dir_(std::move(remove_dir)),
      next_id_(first_id) {
  worker_ = std::thread([this] { Work(); });
}

DirPool::~DirPool() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  worker_.join();
  // Ready directories have no record: they go now rather than at next start-up.
  MutexLock l(&mu_);
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
    MutexLock l(&mu_);
    if (!ready_.empty()) {
      id = ready_.front();
      ready_.pop_front();  // the worker refills once HasWork() sees the pool low
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
  MutexLock l(&mu_);
  pending_.erase(id);
}

void DirPool::Discard(uint64_t id) {
  absl::Status s = remove_dir_(id);
  if (!s.ok()) log::Warn("remove unrecorded snapshot dir", {{"err", s.ToString()}});
  MutexLock l(&mu_);
  pending_.erase(id);
}

void DirPool::Reap(uint64_t id, uint64_t ticket) {
  MutexLock l(&mu_);
  to_reap_.push_back(id);
  reap_ticket_ = std::max(reap_ticket_, ticket);
}

std::set<uint64_t> DirPool::PendingIds() {
  MutexLock l(&mu_);
  std::set<uint64_t> ids = pending_;
  ids.insert(to_reap_.begin(), to_reap_.end());
  ids.insert(reaping_ids_.begin(), reaping_ids_.end());
  return ids;
}

void DirPool::WaitForReaping() {
  MutexLock l(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return to_reap_.empty() && !reaping_; };
  mu_.Await(idle);
}

int DirPool::RefillBatch() const {
  return std::max(1, std::min(options_.refill_batch, options_.ready_target));
}

bool DirPool::HasWork() const {
  // Refill once a whole batch fits, not at the first gap: batches share
  // journal commits.
  return stop_ || !to_reap_.empty() ||
         static_cast<int>(ready_.size()) + RefillBatch() <= options_.ready_target;
}

void DirPool::ReapQueued() {
  std::deque<uint64_t> batch;
  batch.swap(to_reap_);
  uint64_t ticket = std::exchange(reap_ticket_, 0);
  reaping_ = true;
  reaping_ids_.insert(batch.begin(), batch.end());
  mu_.Unlock();
  absl::Status durable = ticket == 0 ? absl::OkStatus() : db_->AwaitDurable(ticket, kReapPatience);
  if (!durable.ok()) {
    // The records' removal may not survive; leave the directories to
    // Cleanup and start-up recovery, which judge by what the store holds.
    log::Warn("keep removed snapshots' dirs", {{"err", durable.ToString()}});
    batch.clear();
  }
  for (uint64_t id : batch) {
    absl::Status s = remove_dir_(id);
    // Left for Cleanup and start-up recovery, which remove orphans.
    if (!s.ok()) log::Warn("remove snapshot dir", {{"err", s.ToString()}});
  }
  mu_.Lock();
  reaping_ = false;
  reaping_ids_.clear();
}

bool DirPool::Refill() {
  // One batch, so one journal commit covers the whole batch.
  for (int made = 0;
       !stop_ && made < RefillBatch() && static_cast<int>(ready_.size()) < options_.ready_target;
       ++made) {
    uint64_t id = next_id_++;
    pending_.insert(id);
    mu_.Unlock();
    absl::Status s = MakeDir(id);
    mu_.Lock();
    if (!s.ok()) {
      pending_.erase(id);
      log::Warn("pre-make snapshot dir", {{"err", s.ToString()}});
      return false;
    }
    ready_.push_back(id);
  }
  return true;
}

void DirPool::Work() {
  MutexLock l(&mu_);
  while (true) {
    auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return HasWork(); };
    mu_.Await(has_work);
    if (!to_reap_.empty()) {
      ReapQueued();
      continue;
    }
    if (stop_) return;
    if (!Refill()) {
      // Back off (a full disk must not make this loop spin); Acquire still
      // makes directories on demand meanwhile.
      auto stop_or_reap = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stop_ || !to_reap_.empty();
      };
      mu_.AwaitWithTimeout(stop_or_reap, absl::Seconds(1));
    }
  }
}

}  // namespace strata::snapshotter
