// Pull-style byte streams for the import path: a blob file, a hashing tap,
// and decompressors stacked on top of each other, so one pass over a layer
// computes its digest, decompresses it and computes its diff_id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cancel.h"
#include "common/status_util.h"
#include "layerstore/digest.h"

namespace strata::layerstore {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into buf; 0 means the end of the stream.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// Reads a file descriptor from its current position. Does not own the fd.
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  int fd_;
};

// Reads from memory. The data must outlive the source.
class MemorySource : public ByteSource {
 public:
  MemorySource(const char* data, size_t size) : data_(data), size_(size) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Passes bytes through while hashing and counting them.
class HashingSource : public ByteSource {
 public:
  explicit HashingSource(ByteSource* in) : in_(in) {}  // `in` must outlive this
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  int64_t bytes() const { return bytes_; }
  Digest Finish() { return hash_.Finish(); }

 private:
  ByteSource* in_;
  Sha256 hash_;
  int64_t bytes_ = 0;
};

// Passes bytes through, counting them.
class CountingSource : public ByteSource {
 public:
  explicit CountingSource(ByteSource* in) : in_(in) {}  // `in` must outlive this
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    absl::StatusOr<size_t> got = in_->Read(buf, n);
    if (got.ok()) bytes_ += static_cast<int64_t>(*got);
    return got;
  }
  int64_t bytes() const { return bytes_; }

 private:
  ByteSource* in_;
  int64_t bytes_ = 0;
};

// `in` until `cancel` says the caller has gone: then every read fails,
// CANCELLED naming `what`. Both must outlive this.
class CancellableSource : public ByteSource {
 public:
  CancellableSource(ByteSource* in, const Cancellation* cancel, std::string what)
      : in_(in), cancel_(cancel), what_(std::move(what)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    STRATA_RETURN_IF_ERROR(cancel_->Check(what_));
    return in_->Read(buf, n);
  }

 private:
  ByteSource* in_;
  const Cancellation* cancel_;
  std::string what_;
};

enum class Compression { kNone, kGzip, kZstd };
// Which inflater decodes gzip. Default: ISA-L's igzip, measured faster than zlib
// (bench/inflate_bench).
enum class GzipDecoder { kIsal, kZlib };

// A decompressing view of `in` (which must outlive it). Corrupt or truncated
// input: DataLoss naming the format.
absl::StatusOr<std::unique_ptr<ByteSource>> NewDecompressor(Compression c, ByteSource* in,
                                                            GzipDecoder gzip = GzipDecoder::kIsal);

// Reads `in` to its end, discarding the bytes (so hashing taps below see them all).
absl::Status Drain(ByteSource* in);

// Runs `in` (say, read + hash + decompress + hash) on its own thread, a few
// chunks ahead of the reader (say, tar extraction), as `zstd -d | tar x`
// would, so one layer uses two cores. Read() must be called from one thread.
// Destroying it before the end stops the producer.
class PipelinedSource : public ByteSource {
 public:
  explicit PipelinedSource(ByteSource* in);  // `in` must outlive this
  ~PipelinedSource() override;
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace strata::layerstore
