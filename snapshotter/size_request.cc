#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "snapshotter/space_backend.h"

namespace strata::snapshotter {

absl::StatusOr<std::optional<SizeRequest>> SizeRequestFromLabels(const Labels& labels) {
  auto size = labels.find(kMaxSizeLabel);
  auto disk = labels.find(kDiskLabel);
  if (size == labels.end()) {
    if (disk == labels.end()) return std::nullopt;
    return absl::InvalidArgumentError(
        absl::StrCat("label ", kDiskLabel, " needs a size (label ", kMaxSizeLabel, ")"));
  }
  SizeRequest request;
  // SimpleAtoi takes a leading '+' and surrounding spaces; a size is digits only.
  bool digits =
      !size->second.empty() && size->second.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || !absl::SimpleAtoi(size->second, &request.bytes) || request.bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("label ", kMaxSizeLabel, " is \"", size->second,
                                                   "\", not a positive number of bytes"));
  }
  if (disk != labels.end()) {
    if (disk->second == "fixed") {
      request.kind = DiskKind::kFixed;
    } else if (disk->second != "dynamic") {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", kDiskLabel, " is \"", disk->second, "\", not fixed or dynamic"));
    }
  }
  return request;
}

}  // namespace strata::snapshotter
