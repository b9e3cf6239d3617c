// Feeds libarchive from a ByteSource, counting the stream against a limit.
// Internal to layerstore (the only module that uses libarchive).
#pragma once

#include <archive.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "layerstore/byte_source.h"
#include "layerstore/tar_header_scan.h"

namespace strata::layerstore {

struct ArchiveReadContext {
  ByteSource* src = nullptr;
  std::vector<char> buf = std::vector<char>(256 * 1024);
  int64_t total = 0;
  int64_t max = INT64_MAX;
  absl::Status error;     // the source's own error, more precise than libarchive's
  TarHeaderScan headers;  // refuses names that readers disagree on
};

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ArchiveReadDeleter>;

// A tar reader over ctx->src (ctx must outlive it). InvalidArgument if the
// stream is not a tar archive.
absl::StatusOr<ArchiveReader> OpenTarReader(ArchiveReadContext* ctx);

// The status for a failed libarchive call: the source's error if it had one.
absl::Status ArchiveError(struct archive* a, const ArchiveReadContext& ctx, absl::string_view what);

}  // namespace strata::layerstore
