// libarchive's writer with a ByteSink as its output. libarchive only keeps an
// errno and a message of a failed write; this keeps the sink's own status, so
// a failure is reported with its code (a full disk is RESOURCE_EXHAUSTED, a
// client that went away is what the stream said) rather than as INTERNAL.
#pragma once

#include <archive.h>

#include <string>

#include "absl/status/status.h"
#include "layerstore/byte_sink.h"

namespace strata::layerstore {

class ArchiveSink {
 public:
  explicit ArchiveSink(ByteSink* sink) : sink_(sink) {}
  ArchiveSink(const ArchiveSink&) = delete;
  ArchiveSink& operator=(const ArchiveSink&) = delete;

  // archive_write_open on `a` with this as its output (which must outlive `a`'s use).
  absl::Status Open(struct archive* a);
  // The error to report when a libarchive write call on `a` failed doing `what`.
  absl::Status Failure(struct archive* a, const std::string& what) const;

 private:
  static la_ssize_t Write(struct archive* a, void* self, const void* buf, size_t n);

  ByteSink* sink_;
  absl::Status error_;  // the sink's first failure
};

}  // namespace strata::layerstore
