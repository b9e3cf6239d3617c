// Image names: the OCI/Docker reference grammar (distribution's reference
// package is the authority): [domain[:port]/]path[/path...][:tag][@digest].
// Path components are lower-case alphanumerics joined by '.', '_', '__' or
// dashes; a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest is
// algorithm:hex; the name before the tag is at most 255 characters.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace strata::layerstore {

// InvalidArgument, saying what is wrong, unless `name` is a valid reference.
absl::Status ValidateImageName(absl::string_view name);

}  // namespace strata::layerstore
