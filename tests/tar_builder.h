// Builds tar streams in memory for tests, including hostile ones (names are
// written exactly as given), and compresses them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

struct archive;

namespace strata::testing {

// Metadata of one entry.
struct TarMeta {
  TarMeta(int mode = 0644, int64_t uid = 0, int64_t gid = 0, int64_t mtime = 1704067200,
          std::map<std::string, std::string> xattrs = {})
      : mode(mode), uid(uid), gid(gid), mtime(mtime), xattrs(std::move(xattrs)) {}
  int mode;
  int64_t uid, gid;
  int64_t mtime;
  std::map<std::string, std::string> xattrs;
};

class TarBuilder {
 public:
  using Meta = TarMeta;

  TarBuilder();
  ~TarBuilder();
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  TarBuilder& File(const std::string& path, const std::string& data, Meta m = {});
  TarBuilder& Dir(const std::string& path, Meta m = {0755});
  TarBuilder& Symlink(const std::string& path, const std::string& target, Meta m = {0777});
  TarBuilder& Hardlink(const std::string& path, const std::string& target);
  TarBuilder& Device(const std::string& path, bool block, int major, int minor, Meta m = {0660});
  TarBuilder& Fifo(const std::string& path, Meta m = {0600});
  // A regular file of `size` bytes, all zeros but for `marker` at `marker_at`.
  TarBuilder& SparseLookingFile(const std::string& path, int64_t size, const std::string& marker,
                                int64_t marker_at);

  // Finishes the archive (idempotent) and returns its bytes.
  const std::string& Bytes();

 private:
  void Header(const std::string& path, unsigned type, int64_t size, const Meta& m,
              const char* link = nullptr, bool hardlink = false, int major = 0, int minor = 0);
  void Data(const char* p, size_t n);

  ::archive* a_;
  std::string out_;
  bool closed_ = false;
};

std::string Gzip(const std::string& data);
std::string Zstd(const std::string& data);

}  // namespace strata::testing
