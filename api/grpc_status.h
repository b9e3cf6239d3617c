// The one place absl::Status becomes grpc::Status. The codes are the same
// numbers (abseil took them from gRPC), so the mapping is one to one.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace strata::api {

grpc::Status ToGrpc(const absl::Status& status);

}  // namespace strata::api
