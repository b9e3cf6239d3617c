// The one place where errno values become absl::Status codes.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace strata {

// Maps `err` to a status code by meaning (ENOENT: NotFound, EEXIST: AlreadyExists,
// ENOSPC/EDQUOT: ResourceExhausted, EACCES/EPERM: PermissionDenied, EROFS and
// ENOTEMPTY: FailedPrecondition, EINVAL: InvalidArgument, others: Internal).
// The message is "<what>: <strerror>".
absl::Status ErrnoToStatus(int err, absl::string_view what);

}  // namespace strata
