#include "tests/tar_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

namespace strata::testing {
namespace {

la_ssize_t Append(struct archive*, void* ctx, const void* buf, size_t n) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

}  // namespace

TarBuilder::TarBuilder() : a_(archive_write_new()) {
  archive_write_set_format_pax_restricted(a_);
  archive_write_set_bytes_per_block(a_, 0);
  archive_write_open(a_, &out_, nullptr, Append, nullptr);
}

TarBuilder::~TarBuilder() {
  Bytes();
  archive_write_free(a_);
}

void TarBuilder::Header(const std::string& path, unsigned type, int64_t size, const Meta& m,
                        const char* link, bool hardlink, int major, int minor) {
  struct archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, path.c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, static_cast<mode_t>(m.mode));
  archive_entry_set_uid(e, m.uid);
  archive_entry_set_gid(e, m.gid);
  archive_entry_set_mtime(e, m.mtime, 0);
  archive_entry_set_size(e, size);
  if (link && hardlink) archive_entry_copy_hardlink(e, link);
  if (link && !hardlink) archive_entry_copy_symlink(e, link);
  if (type == AE_IFCHR || type == AE_IFBLK) {
    archive_entry_set_rdevmajor(e, static_cast<dev_t>(major));
    archive_entry_set_rdevminor(e, static_cast<dev_t>(minor));
  }
  for (const auto& [k, v] : m.xattrs)
    archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
  archive_write_header(a_, e);
  archive_entry_free(e);
}

void TarBuilder::Data(const char* p, size_t n) { archive_write_data(a_, p, n); }

TarBuilder& TarBuilder::File(const std::string& path, const std::string& data, Meta m) {
  Header(path, AE_IFREG, static_cast<int64_t>(data.size()), m);
  Data(data.data(), data.size());
  return *this;
}

TarBuilder& TarBuilder::Dir(const std::string& path, Meta m) {
  Header(path, AE_IFDIR, 0, m);
  return *this;
}

TarBuilder& TarBuilder::Symlink(const std::string& path, const std::string& target, Meta m) {
  Header(path, AE_IFLNK, 0, m, target.c_str());
  return *this;
}

TarBuilder& TarBuilder::Hardlink(const std::string& path, const std::string& target) {
  Header(path, AE_IFREG, 0, Meta{}, target.c_str(), true);
  return *this;
}

TarBuilder& TarBuilder::Device(const std::string& path, bool block, int major, int minor, Meta m) {
  Header(path, block ? AE_IFBLK : AE_IFCHR, 0, m, nullptr, false, major, minor);
  return *this;
}

TarBuilder& TarBuilder::Fifo(const std::string& path, Meta m) {
  Header(path, AE_IFIFO, 0, m);
  return *this;
}

TarBuilder& TarBuilder::SparseLookingFile(const std::string& path, int64_t size,
                                          const std::string& marker, int64_t marker_at) {
  Header(path, AE_IFREG, size, Meta{});
  std::vector<char> chunk(1 << 20, 0);
  for (int64_t pos = 0; pos < size;) {
    size_t n = static_cast<size_t>(std::min<int64_t>(size - pos, chunk.size()));
    std::fill(chunk.begin(), chunk.end(), 0);
    if (marker_at >= pos && marker_at < pos + static_cast<int64_t>(n)) {
      std::memcpy(chunk.data() + (marker_at - pos), marker.data(),
                  std::min(marker.size(), n - static_cast<size_t>(marker_at - pos)));
    }
    Data(chunk.data(), n);
    pos += static_cast<int64_t>(n);
  }
  return *this;
}

const std::string& TarBuilder::Bytes() {
  if (!closed_) {
    archive_write_close(a_);
    closed_ = true;
  }
  return out_;
}

std::string Gzip(const std::string& data) {
  z_stream z;
  std::memset(&z, 0, sizeof(z));
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  out.resize(n);
  return out;
}

}  // namespace strata::testing
