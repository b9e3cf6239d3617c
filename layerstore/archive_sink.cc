#include "layerstore/archive_sink.h"

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "layerstore/archive_error.h"

namespace strata::layerstore {

absl::Status ArchiveSink::Open(struct archive* a) {
  if (archive_write_open(a, this, nullptr, &ArchiveSink::Write, nullptr) != ARCHIVE_OK) {
    return Failure(a, "open archive writer");
  }
  return absl::OkStatus();
}

absl::Status ArchiveSink::Failure(struct archive* a, const std::string& what) const {
  // Writing fails only through our sink or our own misuse of libarchive.
  return ArchiveFailure(a, error_, absl::StatusCode::kInternal, what);
}

la_ssize_t ArchiveSink::Write(struct archive* a, void* self, const void* buf, size_t n) {
  auto* out = static_cast<ArchiveSink*>(self);
  absl::Status s = out->sink_->Write(static_cast<const char*>(buf), n);
  if (!s.ok()) {
    if (out->error_.ok()) out->error_ = s;
    archive_set_error(a, EIO, "%s", std::string(s.message()).c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

}  // namespace strata::layerstore
