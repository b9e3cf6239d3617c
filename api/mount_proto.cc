#include "api/mount_proto.h"

namespace strata::api {

std::vector<MountSpec> MountsFromProto(
    const google::protobuf::RepeatedPtrField<containerd::types::Mount>& in) {
  std::vector<MountSpec> out;
  for (const auto& m : in) {
    out.push_back({m.type(), m.source(), m.target(), {m.options().begin(), m.options().end()}});
  }
  return out;
}

void MountsToProto(const std::vector<MountSpec>& mounts,
                   google::protobuf::RepeatedPtrField<containerd::types::Mount>* out) {
  for (const MountSpec& m : mounts) {
    containerd::types::Mount* pm = out->Add();
    pm->set_type(m.type);
    pm->set_source(m.source);
    pm->set_target(m.target);
    for (const std::string& o : m.options) pm->add_options(o);
  }
}

}  // namespace strata::api
