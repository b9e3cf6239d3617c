// References as Docker users write them: layerstore/image_ref.h, where they
// live because stored image names resolve through the same rules ("busybox"
// finds docker.io/library/busybox:latest).
#pragma once

#include "layerstore/image_ref.h"

namespace strata::registry {

using layerstore::ImageRef;
using layerstore::ParseImageRef;

}  // namespace strata::registry
