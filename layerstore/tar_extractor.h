// Extracts one OCI layer's tar stream into an empty directory, in overlayfs
// form: ".wh.<name>" becomes a 0/0 character device, "<dir>/.wh..wh..opq"
// the xattr trusted.overlay.opaque=y on <dir>. Each layer is converted on its
// own, without looking at its parents, which is what makes parallel unpack
// correct. Whiteouts apply only to lower layers, whatever their position in
// the tar: a path this layer also creates stays, and a directory it creates
// over its own whiteout is opaque.
//
// Safety: every path is resolved fd-relative below the root with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), never as a string path, so
// no entry can write through a symlink or outside the root. Absolute paths
// and ".." are refused, hard links must point at an earlier entry of the same
// layer, overlay's own xattrs are dropped, and limits bound the stream, the
// bytes written and the entries. Runs of zeros are written as holes.
//
// libarchive errors are converted here and nowhere else. Not thread-safe
// itself; separate extractions may run in parallel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/byte_source.h"

namespace strata::layerstore {

struct ExtractLimits {
  // Bytes of file data written to disk (holes excluded). Default: 64 GiB.
  int64_t max_written_bytes = int64_t{64} << 30;
  // Bytes of the decompressed tar stream. Default: 1 TiB.
  int64_t max_stream_bytes = int64_t{1} << 40;
  // Entries in one layer. Default: 10,000,000.
  int64_t max_entries = 10'000'000;
};

// A regular file's size and CRC-32 (of all its bytes, holes as zeros): the
// record fsck uses to prove an unpacked layer is still whole.
struct FileSum {
  std::string path;  // relative to the layer root, no leading slash
  int64_t size = 0;
  uint32_t crc32 = 0;
};

struct ExtractResult {
  int64_t entries = 0;
  int64_t written_bytes = 0;  // data bytes that reached the disk
  int64_t logical_bytes = 0;  // sum of regular file sizes
  std::vector<FileSum> files;
  // Where whiteouts were made (relative paths; a later entry may have
  // replaced one): the unpacker drops those that hide nothing below.
  std::vector<std::string> whiteouts;
};

// REQUIRES: `root` is an empty directory nobody else writes to.
// Errors name the offending entry: InvalidArgument for a hostile or malformed
// entry, ResourceExhausted for a limit, DataLoss for a corrupt stream.
absl::StatusOr<ExtractResult> ExtractLayer(ByteSource* tar, const std::string& root,
                                           const ExtractLimits& limits);

}  // namespace strata::layerstore
