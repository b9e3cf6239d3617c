// Push-style byte streams for the commit path: the tar stream a layer is
// written as, hashed (diff_id), compressed, hashed again (blob digest) and
// written to a content-store ingest, all in one pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "layerstore/byte_source.h"
#include "layerstore/content_store.h"
#include "layerstore/digest.h"

namespace strata::layerstore {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Write(const char* data, size_t n) = 0;
  // Flushes what is buffered and ends the stream; no Write afterwards.
  virtual absl::Status Close() = 0;
};

// Hashes and counts what passes through to `out` (which must outlive it).
class HashingSink : public ByteSink {
 public:
  explicit HashingSink(ByteSink* out) : out_(out) {}
  absl::Status Write(const char* data, size_t n) override;
  absl::Status Close() override { return out_->Close(); }
  int64_t bytes() const { return bytes_; }
  Digest Finish() { return hash_.Finish(); }

 private:
  ByteSink* out_;
  Sha256 hash_;
  int64_t bytes_ = 0;
};

// Appends to a content-store ingest (which must outlive it).
class IngestSink : public ByteSink {
 public:
  explicit IngestSink(Writer* w) : w_(w) {}
  absl::Status Write(const char* data, size_t n) override { return w_->Write(data, n); }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  Writer* w_;
};

// A compressing view of `out` (which must outlive it): gzip with ISA-L's
// igzip (deterministic: no name, mtime 0), zstd (level 3), or none.
absl::StatusOr<std::unique_ptr<ByteSink>> NewCompressor(Compression c, ByteSink* out);

}  // namespace strata::layerstore
