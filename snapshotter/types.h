// Plain values of the snapshot domain, shared by the snapshotter and its callers.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"

namespace strata::snapshotter {

enum class Kind { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

// "view", "active", "committed" (the words containerd's filters use).
const char* KindName(Kind kind);

// Two key spaces over one set of layer directories (DESIGN.md, "Two key
// spaces"): containerd's snapshots are invisible to the native API and back.
enum class KeySpace : char { kContainerd = 'c', kNative = 'n' };

using Labels = std::map<std::string, std::string>;

struct Info {
  std::string name;
  std::string parent;
  Kind kind = Kind::kUnknown;
  Labels labels;
  absl::Time created;
  absl::Time updated;
};

struct Usage {
  int64_t size = 0;    // bytes of blocks allocated
  int64_t inodes = 0;  // each inode once
};

}  // namespace strata::snapshotter
