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

// Keys of the native key space, which people type and read (`strata mount
// --rw KEY`, `strata rm KEY`): one line of printable characters, at most
// kMaxNativeKeyBytes (room for "strata-mount:" and a long path). containerd's
// own keys keep containerd's rule above.
inline constexpr size_t kMaxNativeKeyBytes = 1024;
absl::Status ValidateNativeKey(absl::string_view key, absl::string_view what);

// InvalidArgument if an empty label key, or a key and value over kMaxLabelBytes.
absl::Status ValidateLabels(const Labels& labels);

}  // namespace strata::snapshotter
