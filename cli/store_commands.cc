// prune, system df and version: the store as docker and podman users size,
// clean and identify theirs.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/listing.h"
#include "cli/views.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "strata/v1/admin.grpc.pb.h"
#include "strata/v1/images.grpc.pb.h"
#include "strata/v1/snapshots.grpc.pb.h"
#include "strata/version.h"

namespace strata::cli {
namespace {

using json = nlohmann::json;
namespace pb = strata::v1;
namespace spb = containerd::services::snapshots::v1;

}  // namespace

int Commands::ContainerParents(std::set<std::string>* parents, int64_t* containers) {
  // Containers are writable snapshots (and views) in either key space; the
  // image each stands on is its parent, named by the image's top chainID.
  auto native = pb::Snapshots::NewStub(channel_);
  auto ctrd = spb::Snapshots::NewStub(channel_);
  for (bool containerd : {false, true}) {
    grpc::ClientContext ctx;
    auto reader = containerd ? ctrd->List(&ctx, spb::ListSnapshotsRequest())
                             : native->List(&ctx, spb::ListSnapshotsRequest());
    spb::ListSnapshotsResponse resp;
    while (reader->Read(&resp)) {
      for (const spb::Info& i : resp.info()) {
        if (i.kind() == spb::COMMITTED) continue;
        parents->insert(i.parent());
        if (i.kind() == spb::ACTIVE) ++*containers;
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail("list snapshots", s);
  }
  return 0;
}

int Commands::Prune(bool all, bool dry_run) {
  pb::ListImagesResponse images;
  if (int failed = Call(&pb::Images::Stub::List, "prune", pb::ListImagesRequest(), &images))
    return failed;
  std::set<std::string> used;
  int64_t containers = 0;
  if (int failed = ContainerParents(&used, &containers)) return failed;
  std::vector<std::string> doomed;
  for (const pb::Image& img : images.images()) {
    bool dangling = img.name().find('@') != std::string::npos;
    if ((all || dangling) && !used.count(img.top_chain_id())) doomed.push_back(img.name());
  }
  // What deleting them frees: the bytes only they use (a dry run's GC
  // cannot count these, as the names are still there).
  std::map<std::string, int64_t> unique;
  if (dry_run && !doomed.empty()) {
    pb::DiskUsageResponse u;
    if (int failed = Call(&pb::Admin::Stub::DiskUsage, "prune", pb::DiskUsageRequest(), &u))
      return failed;
    for (const auto& i : u.images()) unique[i.name()] = i.unique_bytes();
  }
  int64_t image_bytes = 0;
  json deleted = json::array();
  for (const std::string& name : doomed) {
    if (!dry_run) {
      pb::DeleteImageRequest req;
      req.set_name(name);
      google::protobuf::Empty resp;
      if (int failed = Call(&pb::Images::Stub::Delete, "prune: rmi " + name, req, &resp)) {
        return failed;
      }
    }
    deleted.push_back(name);
    image_bytes += unique[name];
    if (g_.json) continue;
    if (dry_run) {
      std::printf("would delete image %s (%s only it uses)\n", name.c_str(),
                  HumanSize(unique[name]).c_str());
    } else {
      std::printf("deleted image %s\n", name.c_str());
    }
  }
  GcResult gc;
  if (int failed = CollectGarbage(dry_run, "", &gc)) return failed;
  gc.summary.set_dry_run(dry_run);
  if (g_.json) {
    json out = {{"dry_run", dry_run}, {"images", deleted}, {"gc", GcJson(gc)}};
    if (dry_run) out["image_bytes"] = image_bytes;
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    PrintGcText(gc);
    if (dry_run && !doomed.empty()) {
      std::printf("deleting the images would free %s more\n", HumanSize(image_bytes).c_str());
    }
  }
  return 0;
}

int Commands::SystemDf() {
  pb::DiskUsageResponse u;
  if (int failed = Call(&pb::Admin::Stub::DiskUsage, "system df", pb::DiskUsageRequest(), &u))
    return failed;
  pb::ListImagesResponse images;
  if (int failed = Call(&pb::Images::Stub::List, "system df", pb::ListImagesRequest(), &images))
    return failed;
  std::set<std::string> used;
  int64_t containers = 0;
  if (int failed = ContainerParents(&used, &containers)) return failed;
  std::map<std::string, int64_t> unique;  // bytes only that image's layers take
  for (const auto& i : u.images()) unique[i.name()] = i.unique_bytes();
  int64_t active_images = 0;
  int64_t reclaimable = u.unreferenced_bytes();  // garbage now; gc frees it
  for (const pb::Image& img : images.images()) {
    if (used.count(img.top_chain_id())) {
      ++active_images;
    } else {
      reclaimable += unique[img.name()];
    }
  }
  struct Line {
    std::string type;
    int64_t total, active, size, reclaimable;
  };
  std::vector<Line> lines = {{"Images", images.images_size(), active_images,
                              u.image_bytes() + u.unreferenced_bytes(), reclaimable},
                             // Which containers run is containerd's to know: all count as active.
                             {"Containers", containers, containers, u.writable_bytes(), 0},
                             {"Local Volumes", 0, 0, 0, 0},
                             {"Build Cache", 0, 0, 0, 0}};
  if (g_.json) {
    json out = json::array();
    for (const Line& l : lines) {
      out.push_back({{"type", l.type},
                     {"total", l.total},
                     {"active", l.active},
                     {"size", l.size},
                     {"reclaimable", l.reclaimable}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Line& l : lines) {
    int pct = l.size > 0 ? static_cast<int>(100 * l.reclaimable / l.size) : 0;
    rows.push_back({l.type, std::to_string(l.total), std::to_string(l.active), HumanSize(l.size),
                    absl::StrCat(HumanSize(l.reclaimable), " (", pct, "%)")});
  }
  PrintTable({"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}, rows);
  return 0;
}

int Commands::Version() {
  pb::InfoResponse info;
  grpc::ClientContext ctx;
  grpc::Status s = pb::Admin::NewStub(channel_)->Info(&ctx, pb::InfoRequest(), &info);
  if (g_.json) {
    json out = {{"client", {{"version", STRATA_VERSION}}}};
    if (s.ok()) out["server"] = {{"version", info.version()}, {"socket", g_.socket}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("client: %s\n", STRATA_VERSION);
    if (s.ok()) std::printf("server: %s (%s)\n", info.version().c_str(), g_.socket.c_str());
  }
  // The client's version is printed either way; an absent daemon still fails.
  return s.ok() ? 0 : Fail("version", s);
}

}  // namespace strata::cli
