// Formatted ext4 images, one per size, so a sized Prepare copies a few MiB of
// filesystem metadata instead of running mkfs.
//
// A template for `bytes` is an image whose filesystem has between `bytes` and
// `bytes` + 1 MiB free for data: the image itself is larger by ext4's own
// metadata (inode tables, journal, the clusters ext4 keeps back), so a
// container sees ENOSPC where its limit says, not some percent earlier. The
// image size is found by formatting, measuring the free space and adjusting
// (two or three mkfs runs, once per size). Inside: empty f/ (0755) and w/
// (0700), the overlay's upper and work directories.
//
// Templates live in `dir` as <bytes>.img, made in `staging_dir` and renamed
// in once measured, so one found there is complete.
//
// Thread-safe: one template is made at a time.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"

namespace strata::snapshotter {

class Ext4Templates {
 public:
  // `mkfs` is the path of mkfs.ext4.
  Ext4Templates(std::string dir, std::string staging_dir, std::string mkfs);

  // The smallest size a template is made for: mkfs's smallest filesystem
  // with a journal, with room to spare.
  static constexpr int64_t kMinBytes = 16 << 20;

  // The path of the template for `bytes` (>= kMinBytes), made on first use.
  absl::StatusOr<std::string> For(int64_t bytes);

 private:
  absl::StatusOr<std::string> Make(int64_t bytes);
  // Formats a new `image_bytes` image at `path` and returns its free bytes.
  absl::StatusOr<int64_t> FormatAndMeasure(const std::string& path, int64_t image_bytes);
  // Free bytes for data in the filesystem in image `path`, mounted read-only.
  absl::StatusOr<int64_t> FreeBytes(const std::string& path);

  const std::string dir_;
  const std::string staging_dir_;
  const std::string mkfs_;
  Mutex mu_;
  std::map<int64_t, std::string> made_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::snapshotter
