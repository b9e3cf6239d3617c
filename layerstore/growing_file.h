// A file one thread appends to while others read it as it grows: a blob
// downloading into its ingest, unpacked (and watched by every caller waiting
// for the same blob) while its bytes arrive, so a pull takes about
// max(download, unpack) rather than their sum.
//
// The writer reports how far the file is written (Grew) and, once, how it
// ended (Finish). Readers never read past what was reported, and see the
// writer's error if it failed. The file may shrink (a download that starts
// over): a reader that was past the new end waits for the bytes to come back.
// The bytes it reads twice must be the same, which the reader's own digest
// checks. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/unique_fd.h"
#include "layerstore/byte_source.h"

namespace strata::layerstore {

class GrowingFile {
 public:
  // `fd` is readable at any offset (pread); the file may be renamed or
  // unlinked while it is open.
  GrowingFile(UniqueFd fd, int64_t size);

  // Writer: bytes [0, size) are in the file.
  void Grew(int64_t size);
  // Writer: no more bytes come. Not OK: readers fail with `status`.
  void Finish(absl::Status status);

  int64_t size() const;
  // Waits until the file is past `offset` or has finished; returns its size
  // then (at most `offset` only once finished), or the writer's error.
  absl::StatusOr<int64_t> WaitPast(int64_t offset);
  // Waits up to `timeout` for a change of size or the end; returns the
  // size (or the error), and whether it has finished.
  absl::StatusOr<int64_t> WaitForChange(int64_t seen, absl::Duration timeout, bool* finished);

  int fd() const { return fd_.get(); }

 private:
  const UniqueFd fd_;
  mutable Mutex mu_;
  int64_t size_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
};

// Reads a GrowingFile from its start, waiting for bytes still to come.
class GrowingFileSource : public ByteSource {
 public:
  explicit GrowingFileSource(std::shared_ptr<GrowingFile> file) : file_(std::move(file)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  std::shared_ptr<GrowingFile> file_;
  int64_t pos_ = 0;
};

}  // namespace strata::layerstore
