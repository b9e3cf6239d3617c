#include "layerstore/archive_error.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace strata::layerstore {

absl::Status ArchiveFailure(struct archive* a, const absl::Status& own_error, absl::StatusCode code,
                            absl::string_view what) {
  if (!own_error.ok()) return Annotate(own_error, what);
  const char* msg = archive_error_string(a);
  return absl::Status(code, absl::StrCat(what, ": ", msg != nullptr ? msg : "unknown error"));
}

}  // namespace strata::layerstore
