// Conversions between core values and strata.v1 messages.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "snapshotter/snapshotter.h"
#include "strata/v1/images.pb.h"
#include "strata/v1/types.pb.h"

namespace strata::api {

void ToProto(absl::Time t, google::protobuf::Timestamp* out);
void ToProto(const layerstore::Descriptor& d, strata::v1::Descriptor* out);
void ToProto(const layerstore::BlobInfo& b, strata::v1::BlobInfo* out);
// `sn` tells which layers are unpacked.
void ToProto(const layerstore::ResolvedImage& img, snapshotter::Snapshotter& sn,
             strata::v1::Image* out);

}  // namespace strata::api
