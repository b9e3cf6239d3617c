// containerd's CRI pulls through strata. With CRI's
// disable_snapshot_annotations = false, containerd labels each layer's
// extraction snapshot with the image reference, the manifest digest, the
// layer digest and the image's layers (containerd.io/snapshot/cri.*), besides
// the target chainID (containerd.io/snapshot.ref). When that layer is not
// unpacked here, strata fetches and unpacks the image's layers itself,
// through its own pipeline and registry configuration, all layers at once
// (what cri.image-layers says is coming); the Prepare then answers
// ALREADY_EXISTS as a remote snapshotter does, and containerd neither
// downloads nor unpacks them. Should the fetch fail, containerd fetches as
// it would without strata: a fallback, never an error. Thread-safe.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "layerstore/unpacker.h"
#include "registry/puller.h"

namespace strata::registry {

class CriLayers {
 public:
  // Both must outlive this.
  CriLayers(Puller* puller, layerstore::Unpacker* unpacker)
      : puller_(puller), unpacker_(unpacker) {}

  // Whether `labels` are a CRI extraction snapshot's whose target layer is
  // not unpacked here: what Fetch would fetch.
  bool Wanted(const std::map<std::string, std::string>& labels) const;

  // Makes the target layer of a CRI extraction snapshot unpacked, with the
  // rest of its image's layers; `lease` holds them until containerd's key
  // space does. OK if there is nothing to do (no CRI labels, or the layer is
  // here); an error if the fetch failed or the image does not lead to it.
  absl::Status Fetch(const std::map<std::string, std::string>& labels, const std::string& lease);

 private:
  Puller* const puller_;
  layerstore::Unpacker* const unpacker_;
};

}  // namespace strata::registry
