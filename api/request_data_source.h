// The data messages of a client stream, after its header, as a ByteSource:
// how Images.Import and Layers.Pull hand their bytes to the core.
#pragma once

#include <grpcpp/support/sync_stream.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "layerstore/byte_source.h"

namespace strata::api {

// `Request` is a message with a `data` field in a `part` oneof (kData).
template <typename Request>
class RequestDataSource : public layerstore::ByteSource {
 public:
  // `reader` must outlive the source; `call` names the call in errors.
  RequestDataSource(grpc::internal::ReaderInterface<Request>* reader, std::string call)
      : reader_(reader), call_(std::move(call)) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (pos_ >= chunk_.size()) {
      Request msg;
      if (done_ || !reader_->Read(&msg)) {
        done_ = true;
        return 0;
      }
      if (msg.part_case() != Request::kData) {
        return absl::InvalidArgumentError(absl::StrCat(call_, ": only data may follow the header"));
      }
      chunk_ = std::move(*msg.mutable_data());
      pos_ = 0;
    }
    size_t take = std::min(n, chunk_.size() - pos_);
    std::memcpy(buf, chunk_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  grpc::internal::ReaderInterface<Request>* reader_;
  std::string call_;
  std::string chunk_;
  size_t pos_ = 0;
  bool done_ = false;
};

}  // namespace strata::api
