#include "layerstore/fsck.h"

#include <fcntl.h>
#include <isa-l/crc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "common/unique_fd.h"
#include "layerstore/byte_source.h"

namespace strata::layerstore {
namespace {

using Problem = snapshotter::Snapshotter::Problem;

absl::Status CheckBlobs(ContentStore* content, bool repair, FsckReport* report) {
  std::vector<BlobInfo> blobs;
  STRATA_RETURN_IF_ERROR(content->Walk([&](const BlobInfo& b) {
    blobs.push_back(b);
    return true;
  }));
  for (const BlobInfo& b : blobs) {
    ++report->blobs;
    absl::StatusOr<UniqueFd> fd = content->OpenBlob(b.digest);
    std::string fault;
    if (!fd.ok()) {
      fault = "its file is missing";
    } else {
      FdSource file(fd->get());
      HashingSource hashed(&file);
      absl::Status s = Drain(&hashed);
      if (!s.ok()) {
        fault = absl::StrCat("unreadable: ", s.message());
      } else if (hashed.bytes() != b.size || hashed.Finish() != b.digest) {
        fault = absl::StrCat("corrupt (", hashed.bytes(), " bytes read, ", b.size, " recorded)");
      }
    }
    if (fault.empty()) continue;
    Problem p{absl::StrCat("blob ", b.digest.str(), ": ", fault), false, "--repair drops it"};
    if (repair) {
      STRATA_RETURN_IF_ERROR(content->Delete(b.digest));
      p.repaired = true;
      p.note = "dropped; importing or pulling the image again restores it";
    }
    report->problems.push_back(std::move(p));
  }
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> stray, content->UnrecordedFiles());
  for (const std::string& name : stray) {
    Problem p{absl::StrCat("blob file ", name, " has no record"), false, "--repair removes it"};
    if (repair) {
      STRATA_RETURN_IF_ERROR(content->RemoveUnrecordedFile(name));
      p.repaired = true;
      p.note = "removed";
    }
    report->problems.push_back(std::move(p));
  }
  return absl::OkStatus();
}

// Size and CRC-32 of a regular file, read fully.
bool FileSum(const std::string& path, int64_t* size, uint32_t* crc) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return false;
  std::vector<unsigned char> buf(1 << 20);
  *size = 0;
  *crc = 0;
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) return false;
    if (n == 0) return true;
    *crc = crc32_gzip_refl(*crc, buf.data(), static_cast<uint64_t>(n));
    *size += n;
  }
}

// The regular files under `root` (paths relative to it, no symlink
// followed) with their inode, for the census.
std::map<std::string, std::pair<dev_t, ino_t>> RegularFilesUnder(const std::string& root) {
  std::map<std::string, std::pair<dev_t, ino_t>> out;
  std::vector<std::string> dirs = {""};
  while (!dirs.empty()) {
    std::string rel = dirs.back();
    dirs.pop_back();
    absl::StatusOr<std::vector<std::string>> names = ListDir(rel.empty() ? root : root + "/" + rel);
    if (!names.ok()) continue;
    for (const std::string& name : *names) {
      std::string path = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      if (::lstat((root + "/" + path).c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) dirs.push_back(path);
      if (S_ISREG(st.st_mode)) out[path] = {st.st_dev, st.st_ino};
    }
  }
  return out;
}

// Checks one layer's files against its "sums" file ("<crc> <size> <len> <path>\n"):
// each recorded file whole, and no regular file there that unpacking did
// not write (a hard link to a recorded file is one).
void CheckLayerFiles(const snapshotter::Snapshotter& sn,
                     const snapshotter::Snapshotter::LayerInfo& layer, FsckReport* report) {
  absl::StatusOr<std::string> sums = ReadFile(sn.layout().SnapshotDir(layer.dir_id) + "/sums");
  if (!sums.ok()) return;  // layers made by commit carry no sums yet
  std::string root = sn.layout().FilesDir(layer.dir_id);
  std::map<std::string, std::pair<dev_t, ino_t>> present = RegularFilesUnder(root);
  std::set<std::pair<dev_t, ino_t>> recorded_inodes;
  size_t pos = 0;
  while (pos < sums->size()) {
    char* end = nullptr;
    uint32_t want_crc = static_cast<uint32_t>(std::strtoul(sums->c_str() + pos, &end, 16));
    int64_t want_size = std::strtoll(end, &end, 10);
    size_t len = static_cast<size_t>(std::strtoull(end, &end, 10));
    size_t path_at = static_cast<size_t>(end - sums->c_str()) + 1;
    if (path_at + len > sums->size()) break;
    std::string path = sums->substr(path_at, len);
    pos = path_at + len + 1;
    ++report->layer_files;
    if (auto it = present.find(path); it != present.end()) {
      recorded_inodes.insert(it->second);
      present.erase(it);
    }
    int64_t size;
    uint32_t crc;
    if (!FileSum(root + "/" + path, &size, &crc) || size != want_size || crc != want_crc) {
      report->problems.push_back(
          {absl::StrCat("layer ", layer.chain_id, ": file /", path, " is damaged"), false,
           "cannot repair: import the image that holds the layer again"});
    }
  }
  for (const auto& [path, inode] : present) {
    if (recorded_inodes.count(inode) > 0) continue;  // a hard link to a recorded file
    report->problems.push_back(
        {absl::StrCat("layer ", layer.chain_id, ": file /", path,
                      " is not part of the layer (added after it was unpacked)"),
         false, "cannot repair: import the image that holds the layer again"});
  }
}

}  // namespace

bool FsckReport::clean() const {
  for (const auto& p : problems) {
    if (!p.repaired) return false;
  }
  return true;
}

// What an image needs: its manifest and config, each layer's blob and its
// unpacked directory. Nothing here can be made again from the store itself.
absl::Status CheckImages(const ContentStore& content, const ImageStore& images,
                         const snapshotter::Snapshotter& snapshots, FsckReport* report) {
  const std::string how =
      "cannot be repaired here: import or pull the image again, or delete it "
      "(strata rmi)";
  return images.List([&](const ImageInfo& info) {
    ++report->images;
    std::string what = absl::StrCat("image \"", info.name, "\"");
    absl::StatusOr<ResolvedImage> img = images.Resolve(info);
    if (!img.ok()) {
      report->problems.push_back(
          {absl::StrCat(what, ": cannot be read: ", img.status().message()), false, how});
      return true;
    }
    for (size_t i = 0; i < img->chain_ids.size(); ++i) {
      std::string layer = absl::StrCat(what, ": layer ", i + 1, " (", img->chain_ids[i].str(), ")");
      if (!snapshots.GetLayer(img->chain_ids[i].str()).ok()) {
        report->problems.push_back({absl::StrCat(layer, " is not unpacked"), false, how});
      }
      if (i < img->manifest.layers.size() && !content.Has(img->manifest.layers[i].digest)) {
        report->problems.push_back(
            {absl::StrCat(layer, ": blob ", img->manifest.layers[i].digest.str(), " is missing"),
             false, how});
      }
    }
    return true;
  });
}

absl::StatusOr<FsckReport> CheckStore(ContentStore* content, const ImageStore& images,
                                      snapshotter::Snapshotter* snapshots, bool repair) {
  FsckReport report;
  STRATA_RETURN_IF_ERROR(CheckBlobs(content, repair, &report));
  STRATA_ASSIGN_OR_RETURN(std::vector<Problem> snaps, snapshots->Check(repair, &report.snapshots));
  for (auto& p : snaps) report.problems.push_back(std::move(p));
  STRATA_RETURN_IF_ERROR(snapshots->WalkLayers([&](const snapshotter::Snapshotter::LayerInfo& l) {
    ++report.layers;
    CheckLayerFiles(*snapshots, l, &report);
  }));
  // After the repairs above, which may have dropped what an image needs.
  STRATA_RETURN_IF_ERROR(CheckImages(*content, images, *snapshots, &report));
  return report;
}

}  // namespace strata::layerstore
