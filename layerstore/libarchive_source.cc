#include "layerstore/libarchive_source.h"

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "layerstore/archive_error.h"

namespace strata::layerstore {
namespace {

la_ssize_t ReadCallback(struct archive* a, void* opaque, const void** out) {
  auto* ctx = static_cast<ArchiveReadContext*>(opaque);
  absl::StatusOr<size_t> n = ctx->src->Read(ctx->buf.data(), ctx->buf.size());
  if (!n.ok()) {
    ctx->error = n.status();
    archive_set_error(a, EIO, "%s", std::string(n.status().message()).c_str());
    return -1;
  }
  ctx->total += static_cast<int64_t>(*n);
  if (ctx->total > ctx->max) {
    ctx->error = absl::ResourceExhaustedError(
        absl::StrCat("tar stream exceeds the limit of ", ctx->max, " bytes"));
    archive_set_error(a, EFBIG, "stream limit");
    return -1;
  }
  if (absl::Status s = ctx->headers.Feed(ctx->buf.data(), *n); !s.ok()) {
    ctx->error = s;
    archive_set_error(a, EINVAL, "%s", std::string(s.message()).c_str());
    return -1;
  }
  *out = ctx->buf.data();
  return static_cast<la_ssize_t>(*n);
}

}  // namespace

absl::StatusOr<ArchiveReader> OpenTarReader(ArchiveReadContext* ctx) {
  ArchiveReader a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open(a.get(), ctx, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return ArchiveError(a.get(), *ctx, "not a tar stream");
  }
  return a;
}

absl::Status ArchiveError(struct archive* a, const ArchiveReadContext& ctx,
                          absl::string_view what) {
  // A stream libarchive cannot read is malformed input.
  return ArchiveFailure(a, ctx.error, absl::StatusCode::kInvalidArgument, what);
}

}  // namespace strata::layerstore
