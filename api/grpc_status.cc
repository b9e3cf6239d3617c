#include "api/grpc_status.h"

#include "absl/strings/str_cat.h"

namespace strata::api {
namespace {

// Written before the server starts, read only after: no lock needed.
std::string& StoreRoot() {
  static std::string* root = new std::string();
  return *root;
}

bool EndsPath(char c) { return c == ' ' || c == '"' || c == '\'' || c == ':' || c == ','; }

}  // namespace

void SetStoreRootForMessages(const std::string& root) { StoreRoot() = root; }

std::string WithoutStorePaths(absl::string_view message, absl::string_view root) {
  if (root.empty()) return std::string(message);
  std::string out;
  size_t at = 0;
  for (size_t hit; (hit = message.find(root, at)) != absl::string_view::npos;) {
    size_t end = hit + root.size();
    if (end < message.size() && message[end] != '/') {  // "/rootx" is another path
      absl::StrAppend(&out, message.substr(at, end - at));
      at = end;
      continue;
    }
    while (end < message.size() && !EndsPath(message[end])) ++end;
    absl::StrAppend(&out, message.substr(at, hit - at), "(a file in the store)");
    at = end;
  }
  absl::StrAppend(&out, message.substr(at));
  return out;
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      WithoutStorePaths(status.message(), StoreRoot()));
}

}  // namespace strata::api
