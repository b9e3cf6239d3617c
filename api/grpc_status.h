// The one place absl::Status becomes grpc::Status. The codes are the same
// numbers (abseil took them from gRPC), so the mapping is one to one. The
// message loses any path inside the store: clients name images, snapshots
// and digests, never the daemon's files (a path would tell them nothing they
// can use, and the layout is not theirs to depend on).
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace strata::api {

grpc::Status ToGrpc(const absl::Status& status);

// Set once at start-up, before serving: paths under `root` in messages become
// "(a file in the store)". Default: none.
void SetStoreRootForMessages(const std::string& root);

// What ToGrpc does to a message (exposed for tests).
std::string WithoutStorePaths(absl::string_view message, absl::string_view root);

}  // namespace strata::api
