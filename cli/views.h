// How the CLI shows the daemon's messages: images as JSON objects, sizes,
// snapshot kinds.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "containerd/services/snapshots/v1/snapshots.pb.h"
#include "strata/v1/images.pb.h"

namespace strata::cli {

// What --json prints for an image (import, pull, commit, images...).
nlohmann::json ImageJson(const strata::v1::Image& img);
// Its layer blobs' bytes: what a pull downloads.
int64_t ImageSize(const strata::v1::Image& img);
// Bytes its unpacked layers take on disk (recorded when unpacked).
int64_t ImageDiskSize(const strata::v1::Image& img);
// "view", "active", "committed".
const char* KindName(containerd::services::snapshots::v1::Kind k);

}  // namespace strata::cli
