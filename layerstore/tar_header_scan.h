// Watches a tar stream's headers as the bytes pass on their way to
// libarchive, for what libarchive reads without complaint but other readers
// read differently: a PAX `path` or `linkpath` record (or a GNU long name)
// with a NUL byte inside. libarchive keeps the part before the NUL, Go's
// archive/tar refuses the archive, others keep it all, so one layer could
// show different trees to different tools. Such a stream is refused.
//
// Only headers and extended-header data are looked at; file data is skipped
// by count. Not thread-safe; one per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace strata::layerstore {

class TarHeaderScan {
 public:
  // Feeds the next bytes of the stream. InvalidArgument, naming the entry,
  // once a header smuggles a NUL; the scan stops at the first error.
  absl::Status Feed(const char* data, size_t n);

 private:
  absl::Status OnHeader();
  absl::Status OnExtendedData();

  std::string block_;      // a header block being gathered
  char pending_type_ = 0;  // typeflag of the extended header whose data is gathered
  std::string extended_;   // its data
  int64_t extended_left_ = 0;
  int64_t skip_ = 0;  // bytes of file data and padding still to pass
  absl::Status error_;
};

}  // namespace strata::layerstore
