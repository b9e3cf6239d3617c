// containerd.types.Mount <-> MountSpec, for the services and for clients (the
// CLI, tests). Its own small library so clients need not link the services.
#pragma once

#include <vector>

#include "common/mount.h"
#include "containerd/types/mount.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace strata::api {

std::vector<MountSpec> MountsFromProto(
    const google::protobuf::RepeatedPtrField<containerd::types::Mount>& in);
void MountsToProto(const std::vector<MountSpec>& mounts,
                   google::protobuf::RepeatedPtrField<containerd::types::Mount>* out);

}  // namespace strata::api
