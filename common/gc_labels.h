// Labels garbage collection reads, on blobs and on snapshots alike.
#pragma once

#include <string>

namespace strata {

// A blob or snapshot carrying either label is a root: strata's own, or
// containerd's (so clients written for containerd keep working).
inline constexpr const char* kGcRootLabels[] = {"strata.io/gc.root", "containerd.io/gc.root"};

// True if `labels` (any map from string keys: std::map, protobuf Map) holds
// a root label.
template <typename LabelMap>
bool HasGcRootLabel(const LabelMap& labels) {
  for (const char* key : kGcRootLabels) {
    if (labels.count(std::string(key)) > 0) return true;
  }
  return false;
}

}  // namespace strata
