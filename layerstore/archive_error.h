// The one place a libarchive failure becomes an absl::Status. Internal to
// layerstore (the only module that uses libarchive).
#pragma once

#include <archive.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace strata::layerstore {

// The status for a failed libarchive call on `a`: `own_error` when our side
// of the stream (the byte source or sink) failed first, since libarchive only
// sees that as a short read or write; otherwise `code` with `what` and
// libarchive's message.
absl::Status ArchiveFailure(struct archive* a, const absl::Status& own_error, absl::StatusCode code,
                            absl::string_view what);

}  // namespace strata::layerstore
