#include "layerstore/disk_usage.h"

#include <sys/stat.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status_util.h"

namespace strata::layerstore {
namespace {

using DirUse = snapshotter::Snapshotter::DirUse;

int64_t BlocksOf(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_blocks) * 512 : 0;
}

int64_t Measure(const std::string& path) {
  absl::StatusOr<DiskUsage> du = MeasureDiskUsage(path);
  return du.ok() ? du->bytes : 0;  // absent (or removed meanwhile): nothing
}

// What each snapshot directory takes, by id; directories no record owns
// (pooled, or left by a crash) under the key 0.
absl::StatusOr<std::map<uint64_t, int64_t>> SnapshotDirBytes(
    const snapshotter::Snapshotter& snapshots) {
  const snapshotter::Layout& layout = snapshots.layout();
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(layout.SnapshotsDir()));
  std::map<uint64_t, int64_t> bytes;
  for (const std::string& name : names) {
    std::optional<uint64_t> id = snapshotter::Layout::ParseIdName(name);
    bytes[id.value_or(0)] += Measure(absl::StrCat(layout.SnapshotsDir(), "/", name));
  }
  return bytes;
}

}  // namespace

absl::StatusOr<StoreDiskUsage> MeasureStore(const std::string& root, const ContentStore& content,
                                            const ImageStore& images,
                                            const snapshotter::Snapshotter& snapshots) {
  StoreDiskUsage out;
  STRATA_ASSIGN_OR_RETURN(auto uses, snapshots.DirectoryUses());
  STRATA_ASSIGN_OR_RETURN(auto dir_bytes, SnapshotDirBytes(snapshots));
  std::map<Digest, int64_t> blob_bytes;
  STRATA_RETURN_IF_ERROR(content.Walk([&](const BlobInfo& b) {
    blob_bytes[b.digest] = BlocksOf(content.BlobPath(b.digest));
    return true;
  }));

  // Each image's parts (a layer: its blob and its directory), and how many images use each.
  std::map<std::string, int64_t> part_bytes;
  std::map<std::string, int> users;
  std::vector<std::pair<std::string, std::set<std::string>>> parts_of;
  std::set<Digest> image_blobs;
  std::set<uint64_t> image_dirs;
  STRATA_RETURN_IF_ERROR(images.List([&](const ImageInfo& info) {
    absl::StatusOr<ResolvedImage> img = images.Resolve(info);
    if (!img.ok()) return true;  // unreadable: fsck reports it
    std::set<std::string> parts;
    auto add_blob = [&](const Digest& d) {
      image_blobs.insert(d);
      part_bytes["b" + d.str()] = blob_bytes.count(d) ? blob_bytes[d] : 0;
      parts.insert("b" + d.str());
    };
    add_blob(info.target.digest);
    add_blob(img->info.manifest);
    add_blob(img->manifest.config.digest);
    for (const Descriptor& l : img->manifest.layers) add_blob(l.digest);
    for (const Digest& chain : img->chain_ids) {
      absl::StatusOr<snapshotter::Snapshotter::LayerInfo> layer = snapshots.GetLayer(chain.str());
      if (!layer.ok()) continue;
      image_dirs.insert(layer->dir_id);
      part_bytes["d" + chain.str()] = dir_bytes.count(layer->dir_id) ? dir_bytes[layer->dir_id] : 0;
      parts.insert("d" + chain.str());
    }
    for (const std::string& p : parts) users[p]++;
    parts_of.emplace_back(info.name, std::move(parts));
    return true;
  }));
  for (const auto& [name, parts] : parts_of) {
    ImageDiskUsage u;
    u.name = name;
    for (const std::string& p : parts)
      (users[p] > 1 ? u.shared_bytes : u.unique_bytes) += part_bytes[p];
    out.unshared_bytes += u.unique_bytes + u.shared_bytes;
    out.images.push_back(std::move(u));
  }
  for (const auto& [part, bytes] : part_bytes) out.image_bytes += bytes;

  // Everything else, by where it lies.
  for (const auto& [digest, bytes] : blob_bytes) {
    if (!image_blobs.count(digest)) out.unreferenced_bytes += bytes;
  }
  for (const auto& [id, bytes] : dir_bytes) {
    auto use = uses.find(id);
    if (image_dirs.count(id)) continue;
    if (id == 0 || use == uses.end()) {
      out.other_bytes += bytes;
    } else if (use->second == DirUse::kWritable || use->second == DirUse::kView) {
      out.writable_bytes += bytes;
      out.writable_layers += use->second == DirUse::kWritable ? 1 : 0;
    } else {
      out.unreferenced_bytes += bytes;
    }
  }
  // The total, as du counts it, from what was measured above: each snapshot
  // directory was walked once already; the rest of the root is walked here.
  const std::string snapshots_dir = snapshots.layout().SnapshotsDir();
  out.total_bytes = BlocksOf(root);
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> top, ListDir(root));
  for (const std::string& name : top) {
    std::string path = absl::StrCat(root, "/", name);
    if (path == snapshots_dir) {
      out.total_bytes += BlocksOf(path);
      for (const auto& [id, bytes] : dir_bytes) out.total_bytes += bytes;
      continue;
    }
    int64_t bytes = Measure(path);
    if (name == "meta") out.metadata_bytes = bytes;
    out.total_bytes += bytes;
  }
  // Whatever the parts above leave out: ingests, staging, directories themselves.
  int64_t counted = out.image_bytes + out.writable_bytes + out.unreferenced_bytes +
                    out.metadata_bytes + out.other_bytes;
  out.other_bytes += std::max<int64_t>(0, out.total_bytes - counted);
  return out;
}

}  // namespace strata::layerstore
