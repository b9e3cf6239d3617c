#include "layerstore/growing_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/errno_status.h"
#include "common/status_util.h"

namespace strata::layerstore {

GrowingFile::GrowingFile(UniqueFd fd, int64_t size) : fd_(std::move(fd)), size_(size) {}

void GrowingFile::Grew(int64_t size) {
  MutexLock l(&mu_);
  size_ = size;
}

void GrowingFile::Finish(absl::Status status) {
  MutexLock l(&mu_);
  if (!end_) end_ = std::move(status);
}

int64_t GrowingFile::size() const {
  MutexLock l(&mu_);
  return size_;
}

absl::StatusOr<int64_t> GrowingFile::WaitPast(int64_t offset) {
  MutexLock l(&mu_);
  mu_.Await([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return size_ > offset || end_; });
  if (end_ && !end_->ok()) return *end_;
  return size_;
}

absl::StatusOr<int64_t> GrowingFile::WaitForChange(int64_t seen, absl::Duration timeout,
                                                   bool* finished) {
  MutexLock l(&mu_);
  mu_.AwaitWithTimeout(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return size_ != seen || end_.has_value(); },
      timeout);
  *finished = end_.has_value();
  if (end_ && !end_->ok()) return *end_;
  return size_;
}

absl::StatusOr<size_t> GrowingFileSource::Read(char* buf, size_t n) {
  while (true) {
    STRATA_ASSIGN_OR_RETURN(int64_t size, file_->WaitPast(pos_));
    if (size <= pos_) return 0;  // finished
    size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), size - pos_));
    ssize_t got = pread(file_->fd(), buf, want, pos_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoToStatus(errno, "read a growing file");
    // 0: the writer truncated the file after we looked (it reports the
    // new size first, so the next wait sees it).
    if (got == 0) continue;
    pos_ += got;
    return static_cast<size_t>(got);
  }
}

}  // namespace strata::layerstore
