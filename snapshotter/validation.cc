#include "snapshotter/validation.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace strata::snapshotter {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
    case Kind::kUnknown:
      break;
  }
  return "unknown";
}

absl::Status ValidateKey(absl::string_view key, absl::string_view what) {
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " must not be empty"));
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", key.size(), " bytes, over the limit of ", kMaxKeyBytes));
  }
  if (key.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must not contain a NUL byte"));
  }
  return absl::OkStatus();
}

absl::Status ValidateNativeKey(absl::string_view key, absl::string_view what) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, what));
  if (key.size() > kMaxNativeKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", key.size(), " bytes, over the limit of ", kMaxNativeKeyBytes));
  }
  for (char c : key) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " \"", absl::CEscape(key.substr(0, 64)),
                       "\" contains a control character (a tab, a line break...)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k.empty()) return absl::InvalidArgumentError("label key must not be empty");
    if (k.size() + v.size() > kMaxLabelBytes) {
      return absl::InvalidArgumentError(absl::StrCat("label \"", k.substr(0, 64),
                                                     "\": key and value are ", k.size() + v.size(),
                                                     " bytes, over the limit of ", kMaxLabelBytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace strata::snapshotter
