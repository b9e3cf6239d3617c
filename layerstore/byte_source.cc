#include "layerstore/byte_source.h"

#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/mutex.h"

namespace strata::layerstore {
namespace {

constexpr size_t kInputChunk = 256 * 1024;

// Buffers compressed input pulled from the source below a decompressor.
class InputBuffer {
 public:
  explicit InputBuffer(ByteSource* in) : in_(in), buf_(kInputChunk) {}
  // Refills when empty; returns false at the end of input.
  absl::StatusOr<bool> Fill() {
    if (pos_ < len_) return true;
    if (eof_) return false;
    absl::StatusOr<size_t> n = in_->Read(buf_.data(), buf_.size());
    if (!n.ok()) return n.status();
    pos_ = 0;
    len_ = *n;
    if (*n == 0) eof_ = true;
    return *n > 0;
  }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(buf_.data()) + pos_; }
  size_t size() const { return len_ - pos_; }
  void Consume(size_t n) { pos_ += n; }
  bool AtEnd() const { return eof_ && pos_ >= len_; }

 private:
  ByteSource* in_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

bool LooksLikeGzip(const uint8_t* p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

class IsalGzipSource : public ByteSource {
 public:
  explicit IsalGzipSource(ByteSource* in) : in_(in) { Reset(); }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      if (finished_) {
        // A gzip file may hold several members back to back.
        absl::StatusOr<bool> more = in_.Fill();
        if (!more.ok()) return more.status();
        if (!*more) return 0;
        if (!LooksLikeGzip(in_.data(), in_.size())) {
          return absl::DataLossError("gzip: unexpected data after the end of the stream");
        }
        Reset();
      }
      absl::StatusOr<bool> more = in_.Fill();
      if (!more.ok()) return more.status();
      state_.next_in = in_.data();
      state_.avail_in = static_cast<uint32_t>(in_.size());
      state_.next_out = reinterpret_cast<uint8_t*>(buf);
      state_.avail_out = static_cast<uint32_t>(n);
      int rc = isal_inflate(&state_);
      in_.Consume(in_.size() - state_.avail_in);
      if (rc < 0)
        return absl::DataLossError(absl::StrCat("gzip: corrupt stream (isa-l error ", rc, ")"));
      size_t produced = n - state_.avail_out;
      if (state_.block_state == ISAL_BLOCK_FINISH) finished_ = true;
      if (produced > 0) return produced;
      if (!finished_ && !*more) return absl::DataLossError("gzip: truncated stream");
    }
  }

 private:
  void Reset() {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
    finished_ = false;
  }

  InputBuffer in_;
  inflate_state state_;
  bool finished_ = false;
};

class ZlibGzipSource : public ByteSource {
 public:
  explicit ZlibGzipSource(ByteSource* in) : in_(in) {
    std::memset(&z_, 0, sizeof(z_));
    inflateInit2(&z_, 16 + MAX_WBITS);
  }
  ~ZlibGzipSource() override { inflateEnd(&z_); }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      absl::StatusOr<bool> more = in_.Fill();
      if (!more.ok()) return more.status();
      if (finished_) {
        if (!*more) return 0;
        if (!LooksLikeGzip(in_.data(), in_.size())) {
          return absl::DataLossError("gzip: unexpected data after the end of the stream");
        }
        inflateReset(&z_);
        finished_ = false;
      }
      z_.next_in = in_.data();
      z_.avail_in = static_cast<uInt>(in_.size());
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = static_cast<uInt>(n);
      int rc = inflate(&z_, Z_NO_FLUSH);
      in_.Consume(in_.size() - z_.avail_in);
      if (rc == Z_STREAM_END) {
        finished_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return absl::DataLossError(
            absl::StrCat("gzip: corrupt stream (zlib: ", z_.msg ? z_.msg : "?", ")"));
      }
      size_t produced = n - z_.avail_out;
      if (produced > 0) return produced;
      if (!finished_ && !*more) return absl::DataLossError("gzip: truncated stream");
    }
  }

 private:
  InputBuffer in_;
  z_stream z_;
  bool finished_ = false;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(ByteSource* in) : in_(in), ctx_(ZSTD_createDStream()) {
    ZSTD_initDStream(ctx_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(ctx_); }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      absl::StatusOr<bool> more = in_.Fill();
      if (!more.ok()) return more.status();
      if (!*more) {
        if (frame_open_) return absl::DataLossError("zstd: truncated stream");
        return 0;
      }
      ZSTD_inBuffer input{in_.data(), in_.size(), 0};
      ZSTD_outBuffer output{buf, n, 0};
      size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
      in_.Consume(input.pos);
      if (ZSTD_isError(rc)) {
        return absl::DataLossError(
            absl::StrCat("zstd: corrupt stream (", ZSTD_getErrorName(rc), ")"));
      }
      frame_open_ = rc != 0;
      if (output.pos > 0) return output.pos;
    }
  }

 private:
  InputBuffer in_;
  ZSTD_DStream* ctx_;
  bool frame_open_ = false;
};

}  // namespace

absl::StatusOr<size_t> FdSource::Read(char* buf, size_t n) {
  while (true) {
    ssize_t got = ::read(fd_, buf, n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoToStatus(errno, "read blob");
    return static_cast<size_t>(got);
  }
}

absl::StatusOr<size_t> MemorySource::Read(char* buf, size_t n) {
  size_t take = std::min(n, size_ - pos_);
  if (take == 0) return take;  // an empty source may have no data pointer at all
  std::memcpy(buf, data_ + pos_, take);
  pos_ += take;
  return take;
}

absl::StatusOr<size_t> HashingSource::Read(char* buf, size_t n) {
  absl::StatusOr<size_t> got = in_->Read(buf, n);
  if (got.ok() && *got > 0) {
    hash_.Update(buf, *got);
    bytes_ += static_cast<int64_t>(*got);
  }
  return got;
}

absl::StatusOr<std::unique_ptr<ByteSource>> NewDecompressor(Compression c, ByteSource* in,
                                                            GzipDecoder gzip) {
  switch (c) {
    case Compression::kNone:
      return std::unique_ptr<ByteSource>(new HashingSource(in));  // a plain pass-through
    case Compression::kGzip:
      if (gzip == GzipDecoder::kZlib) return std::unique_ptr<ByteSource>(new ZlibGzipSource(in));
      return std::unique_ptr<ByteSource>(new IsalGzipSource(in));
    case Compression::kZstd:
      return std::unique_ptr<ByteSource>(new ZstdSource(in));
  }
  return absl::InvalidArgumentError("unknown compression");
}

struct PipelinedSource::State {
  static constexpr size_t kChunk = 256 * 1024;
  static constexpr size_t kDepth = 8;  // chunks in flight: 2 MiB

  ByteSource* in;
  Mutex mu;
  std::deque<std::string> ready ABSL_GUARDED_BY(mu);
  absl::Status error ABSL_GUARDED_BY(mu);
  bool eof ABSL_GUARDED_BY(mu) = false;
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::string current;  // reader side only
  size_t pos = 0;
  std::thread producer;

  void Produce() {
    while (true) {
      std::string chunk(kChunk, '\0');
      absl::StatusOr<size_t> n = in->Read(chunk.data(), chunk.size());
      MutexLock l(&mu);
      if (!n.ok() || *n == 0) {
        if (!n.ok()) error = n.status();
        eof = true;
        return;
      }
      chunk.resize(*n);
      auto room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return stop || ready.size() < kDepth; };
      mu.Await(room);
      if (stop) return;
      ready.push_back(std::move(chunk));
    }
  }
};

PipelinedSource::PipelinedSource(ByteSource* in) : state_(std::make_unique<State>()) {
  state_->in = in;
  state_->producer = std::thread([s = state_.get()] { s->Produce(); });
}

PipelinedSource::~PipelinedSource() {
  {
    MutexLock l(&state_->mu);
    state_->stop = true;
  }
  state_->producer.join();
}

absl::StatusOr<size_t> PipelinedSource::Read(char* buf, size_t n) {
  State& s = *state_;
  if (s.pos >= s.current.size()) {
    MutexLock l(&s.mu);
    auto has = [&s]() ABSL_SHARED_LOCKS_REQUIRED(s.mu) { return !s.ready.empty() || s.eof; };
    s.mu.Await(has);
    if (s.ready.empty()) {
      if (!s.error.ok()) return s.error;
      return 0;
    }
    s.current = std::move(s.ready.front());
    s.ready.pop_front();
    s.pos = 0;
  }
  size_t take = std::min(n, s.current.size() - s.pos);
  std::memcpy(buf, s.current.data() + s.pos, take);
  s.pos += take;
  return take;
}

absl::Status Drain(ByteSource* in) {
  std::vector<char> buf(kInputChunk);
  while (true) {
    absl::StatusOr<size_t> n = in->Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
  }
}

}  // namespace strata::layerstore
