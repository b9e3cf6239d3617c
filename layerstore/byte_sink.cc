#include "layerstore/byte_sink.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace strata::layerstore {
namespace {

constexpr size_t kOutChunk = 256 * 1024;

class PassSink : public ByteSink {
 public:
  explicit PassSink(ByteSink* out) : out_(out) {}
  absl::Status Write(const char* d, size_t n) override { return out_->Write(d, n); }
  absl::Status Close() override { return out_->Close(); }

 private:
  ByteSink* out_;
};

class IgzipSink : public ByteSink {
 public:
  explicit IgzipSink(ByteSink* out)
      : out_(out), level_buf_(ISAL_DEF_LVL1_DEFAULT), buf_(kOutChunk) {
    isal_deflate_init(&z_);
    z_.gzip_flag = IGZIP_GZIP;
    z_.level = 1;
    z_.level_buf = level_buf_.data();
    z_.level_buf_size = static_cast<uint32_t>(level_buf_.size());
  }
  absl::Status Write(const char* d, size_t n) override { return Run(d, n, false); }
  absl::Status Close() override {
    absl::Status s = Run(nullptr, 0, true);
    if (!s.ok()) return s;
    return out_->Close();
  }

 private:
  absl::Status Run(const char* d, size_t n, bool end) {
    z_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(d));
    z_.avail_in = static_cast<uint32_t>(n);
    z_.end_of_stream = end ? 1 : 0;
    do {
      z_.next_out = buf_.data();
      z_.avail_out = static_cast<uint32_t>(buf_.size());
      int rc = isal_deflate(&z_);
      if (rc != COMP_OK)
        return absl::InternalError(absl::StrCat("gzip compression failed (", rc, ")"));
      size_t produced = buf_.size() - z_.avail_out;
      if (produced > 0) {
        absl::Status s = out_->Write(reinterpret_cast<char*>(buf_.data()), produced);
        if (!s.ok()) return s;
      }
    } while (z_.avail_in > 0 || (end && z_.internal_state.state != ZSTATE_END));
    return absl::OkStatus();
  }

  ByteSink* out_;
  isal_zstream z_;
  std::vector<uint8_t> level_buf_;
  std::vector<uint8_t> buf_;
};

class ZstdSink : public ByteSink {
 public:
  explicit ZstdSink(ByteSink* out) : out_(out), ctx_(ZSTD_createCCtx()), buf_(kOutChunk) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, 3);
  }
  ~ZstdSink() override { ZSTD_freeCCtx(ctx_); }
  absl::Status Write(const char* d, size_t n) override { return Run(d, n, ZSTD_e_continue); }
  absl::Status Close() override {
    absl::Status s = Run(nullptr, 0, ZSTD_e_end);
    if (!s.ok()) return s;
    return out_->Close();
  }

 private:
  absl::Status Run(const char* d, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{d, n, 0};
    size_t left;
    do {
      ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
      left = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(left)) return absl::InternalError(ZSTD_getErrorName(left));
      if (out.pos > 0) {
        absl::Status s = out_->Write(buf_.data(), out.pos);
        if (!s.ok()) return s;
      }
    } while (in.pos < in.size || (mode == ZSTD_e_end && left != 0));
    return absl::OkStatus();
  }

  ByteSink* out_;
  ZSTD_CCtx* ctx_;
  std::vector<char> buf_;
};

}  // namespace

absl::Status HashingSink::Write(const char* data, size_t n) {
  hash_.Update(data, n);
  bytes_ += static_cast<int64_t>(n);
  return out_->Write(data, n);
}

absl::StatusOr<std::unique_ptr<ByteSink>> NewCompressor(Compression c, ByteSink* out) {
  switch (c) {
    case Compression::kNone:
      return std::unique_ptr<ByteSink>(new PassSink(out));
    case Compression::kGzip:
      return std::unique_ptr<ByteSink>(new IgzipSink(out));
    case Compression::kZstd:
      return std::unique_ptr<ByteSink>(new ZstdSink(out));
  }
  return absl::InvalidArgumentError("unknown compression");
}

}  // namespace strata::layerstore
