// Input rules for snapshot keys and labels, as containerd enforces them.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "snapshotter/types.h"

namespace strata::snapshotter {

// containerd keeps snapshot keys as bbolt bucket names, and bbolt refuses
// keys over 32768 bytes; no key containerd can store is longer.
inline constexpr size_t kMaxKeyBytes = 32768;
// containerd's labels.Validate: a key and its value together at most 4096 bytes.
inline constexpr size_t kMaxLabelBytes = 4096;

// `what` names the argument in the message ("key", "parent", "name").
// InvalidArgument for an empty key, one over kMaxKeyBytes, or one with a NUL
// byte (NUL separates parent and child in the metadata's children index).
absl::Status ValidateKey(absl::string_view key, absl::string_view what);

// InvalidArgument if an empty label key, or a key and value over kMaxLabelBytes.
absl::Status ValidateLabels(const Labels& labels);

}  // namespace strata::snapshotter
