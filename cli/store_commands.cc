// The store as a whole: info, du, fsck, gc, prune, system df and version.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/errors.h"
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

int Commands::CountContainers(int64_t* containers) {
  // Containers are the writable snapshots of either key space.
  auto native = pb::Snapshots::NewStub(channel_);
  auto ctrd = spb::Snapshots::NewStub(channel_);
  for (bool containerd : {false, true}) {
    grpc::ClientContext ctx;
    auto reader = containerd ? ctrd->List(&ctx, spb::ListSnapshotsRequest())
                             : native->List(&ctx, spb::ListSnapshotsRequest());
    spb::ListSnapshotsResponse resp;
    while (reader->Read(&resp)) {
      for (const spb::Info& i : resp.info()) {
        if (i.kind() == spb::ACTIVE) ++*containers;
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail("list snapshots", s);
  }
  return 0;
}

int Commands::Prune(bool all, bool dry_run) {
  // The daemon decides and deletes (Admin.Prune): no container made between
  // a client's look and its deletion can lose its image.
  std::vector<std::string> images;
  GcResult gc;
  if (int failed = PruneCall(all, dry_run, &images, &gc)) return failed;
  if (g_.json) {
    json out = {{"dry_run", dry_run}, {"images", images}, {"gc", GcJson(gc)}};
    if (dry_run) out["bytes"] = gc.summary.bytes();
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (const std::string& name : images) {
    std::printf("%s image %s\n", dry_run ? "would delete" : "deleted", name.c_str());
  }
  PrintGcText(gc);
  return 0;
}

int Commands::PruneCall(bool all, bool dry_run, std::vector<std::string>* images, GcResult* gc) {
  pb::PruneRequest req;
  req.set_all(all);
  req.set_dry_run(dry_run);
  auto stub = pb::Admin::NewStub(channel_);
  grpc::ClientContext ctx;
  auto reader = stub->Prune(&ctx, req);
  pb::GarbageCollectEvent ev;
  while (reader->Read(&ev)) {
    if (ev.has_summary()) {
      gc->summary = ev.summary();
    } else if (ev.has_item()) {
      gc->items.push_back(ev.item());
    } else {
      images->push_back(ev.image());
    }
  }
  grpc::Status s = reader->Finish();
  return s.ok() ? 0 : Fail("prune", s);
}

int Commands::SystemDf() {
  pb::DiskUsageResponse u;
  if (int failed = Call(&pb::Admin::Stub::DiskUsage, "system df", pb::DiskUsageRequest(), &u))
    return failed;
  int64_t containers = 0;
  if (int failed = CountContainers(&containers)) return failed;
  // Reclaimable: what `prune --all` would free, shared layers included, as
  // the daemon computes it (a dry run).
  std::vector<std::string> unused;
  GcResult gc;
  if (int failed = PruneCall(/*all=*/true, /*dry_run=*/true, &unused, &gc)) return failed;
  const int64_t total_images = gc.summary.images_total();
  struct Line {
    std::string type;
    int64_t total, active, size, reclaimable;
  };
  std::vector<Line> lines = {
      {"Images", total_images, total_images - static_cast<int64_t>(unused.size()),
       u.image_bytes() + u.unreferenced_bytes(), gc.summary.bytes()},
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

int Commands::Info() {
  pb::InfoResponse info;
  if (int failed = Call(&pb::Admin::Stub::Info, "info", pb::InfoRequest(), &info)) return failed;
  const pb::StoreCounts& c = info.counts();
  if (g_.json) {
    json counts = {{"images", c.images()},
                   {"blobs", c.blobs()},
                   {"blob_bytes", c.blob_bytes()},
                   {"layers", c.layers()},
                   {"layer_bytes", c.layer_bytes()},
                   {"committed_snapshots", c.committed_snapshots()},
                   {"active_snapshots", c.active_snapshots()},
                   {"view_snapshots", c.view_snapshots()},
                   {"leases", c.leases()},
                   {"ingests", c.ingests()},
                   {"metadata_bytes", c.metadata_bytes()}};
    std::printf("%s\n", json{{"version", info.version()},
                             {"client_version", STRATA_VERSION},
                             {"root", info.root()},
                             {"socket", info.socket()},
                             {"config_file", info.config_file()},
                             {"metrics_listen", info.metrics_listen()},
                             {"registry_listen", info.registry_listen()},
                             {"pid", info.pid()},
                             {"started_at", TimeText(info.started_at().seconds())},
                             {"sized_backends", info.sized_backends()},
                             {"sized_unavailable", info.sized_unavailable()},
                             {"counts", counts},
                             {"filesystem_bytes", info.filesystem_bytes()},
                             {"filesystem_free_bytes", info.filesystem_free_bytes()}}
                            .dump(2)
                            .c_str());
    return 0;
  }
  auto or_off = [](const std::string& s) { return s.empty() ? std::string("off") : s; };
  std::vector<std::pair<std::string, std::string>> lines = {
      {"version", absl::StrCat(info.version(), " (client ", STRATA_VERSION, ")")},
      {"root", info.root()},
      {"socket", info.socket()},
      {"config file", info.config_file().empty() ? "none" : info.config_file()},
      {"pid", absl::StrCat(info.pid(), ", started ", TimeText(info.started_at().seconds()))},
      {"metrics", or_off(info.metrics_listen())},
      {"registry API", or_off(info.registry_listen())},
      {"sized layers", info.sized_backends().empty()
                           ? absl::StrCat("none (", info.sized_unavailable(), ")")
                           : info.sized_backends()},
      {"images", std::to_string(c.images())},
      // File sizes as recorded (apparent), where du counts blocks allocated.
      {"layers",
       absl::StrCat(c.layers(), " (", HumanSize(c.layer_bytes()), " of file data, apparent size)")},
      {"blobs", absl::StrCat(c.blobs(), " (", HumanSize(c.blob_bytes()), ")")},
      {"snapshots",
       absl::StrCat(c.active_snapshots(), " writable (containers), ", c.view_snapshots(),
                    " views, ", c.committed_snapshots(), " committed")},
      {"leases", absl::StrCat(c.leases(), "; ingests in progress: ", c.ingests())},
      {"metadata", absl::StrCat(HumanSize(c.metadata_bytes()), " allocated on disk")},
      {"filesystem", absl::StrCat(HumanSize(info.filesystem_bytes()), ", ",
                                  HumanSize(info.filesystem_free_bytes()), " free")}};
  for (const auto& [key, value] : lines) {
    std::printf("%-15s%s\n", (key + ":").c_str(), value.c_str());
  }
  return 0;
}

int Commands::Fsck(bool repair) {
  pb::CheckRequest req;
  req.set_repair(repair);
  pb::CheckResponse resp;
  if (int failed = Call(&pb::Admin::Stub::Check, "fsck", req, &resp)) return failed;
  int remaining = 0;
  for (const auto& p : resp.problems()) remaining += p.repaired() ? 0 : 1;
  if (g_.json) {
    json problems = json::array();
    for (const auto& p : resp.problems()) {
      problems.push_back({{"what", p.what()}, {"repaired", p.repaired()}, {"note", p.note()}});
    }
    json out = {{"blobs", resp.blobs()},
                {"snapshots", resp.snapshots()},
                {"layers", resp.layers()},
                {"layer_files", resp.layer_files()},
                {"problems", problems}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("checked %s, %s, %s (%s)\n", Plural(resp.blobs(), "blob").c_str(),
                Plural(resp.snapshots(), "snapshot").c_str(),
                Plural(resp.layers(), "layer").c_str(), Plural(resp.layer_files(), "file").c_str());
    for (const auto& p : resp.problems()) {
      std::printf("%s %s (%s)\n", p.repaired() ? "repaired:" : "problem: ", p.what().c_str(),
                  p.note().c_str());
    }
    std::printf("%s\n", remaining == 0 ? "clean"
                                       : absl::StrCat(Plural(remaining, "problem"),
                                                      remaining == 1 ? " remains" : " remain")
                                             .c_str());
  }
  return remaining == 0 ? 0 : kExitProblems;
}

int Commands::Du() {
  pb::DiskUsageResponse u;
  if (int failed = Call(&pb::Admin::Stub::DiskUsage, "du", pb::DiskUsageRequest(), &u))
    return failed;
  int64_t saved = u.unshared_bytes() - u.image_bytes();
  if (g_.json) {
    json rows = json::array();
    for (const auto& i : u.images()) {
      rows.push_back({{"name", i.name()},
                      {"unique_bytes", i.unique_bytes()},
                      {"shared_bytes", i.shared_bytes()}});
    }
    json out = {{"images", rows},
                {"unshared_bytes", u.unshared_bytes()},
                {"stored_bytes", u.image_bytes()},
                {"saved_bytes", saved},
                {"writable_bytes", u.writable_bytes()},
                {"writable_layers", u.writable_layers()},
                {"unreferenced_bytes", u.unreferenced_bytes()},
                {"metadata_bytes", u.metadata_bytes()},
                {"other_bytes", u.other_bytes()},
                {"total_bytes", u.total_bytes()}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& i : u.images()) {
    table.push_back({i.name(), HumanSize(i.unique_bytes()), HumanSize(i.shared_bytes()),
                     HumanSize(i.unique_bytes() + i.shared_bytes())});
  }
  PrintTable({"IMAGE", "UNIQUE", "SHARED", "TOTAL"}, table);
  std::printf("\nimages unshared: %s; layers stored once: %s; sharing saves %s\n",
              HumanSize(u.unshared_bytes()).c_str(), HumanSize(u.image_bytes()).c_str(),
              HumanSize(saved).c_str());
  std::vector<std::vector<std::string>> store = {
      {"images", HumanSize(u.image_bytes())},
      {"writable layers (" + Plural(u.writable_layers(), "container") + ")",
       HumanSize(u.writable_bytes())},
      {"not used by any image", HumanSize(u.unreferenced_bytes())},
      // Blocks allocated, as every line here: RocksDB reserves its next log's
      // room ahead, so even an empty store shows tens of MiB.
      {"metadata (allocated, log room reserved ahead)", HumanSize(u.metadata_bytes())},
      {"ingests, staging, pool", HumanSize(u.other_bytes())},
      {"total (du -s of the root)", HumanSize(u.total_bytes())}};
  std::printf("\n");
  PrintTable({"STORE", "SIZE"}, store);
  return 0;
}

int Commands::CollectGarbage(bool dry_run, const std::string& ingest_max_age, GcResult* out) {
  pb::GarbageCollectRequest req;
  req.set_dry_run(dry_run);
  if (!ingest_max_age.empty()) {
    req.set_ingest_max_age_seconds(PositiveSeconds(ingest_max_age).value_or(0));
  }
  auto stub = pb::Admin::NewStub(channel_);
  grpc::ClientContext ctx;
  auto reader = stub->GarbageCollect(&ctx, req);
  {
    ProgressLine progress;
    pb::GarbageCollectEvent ev;
    int64_t bytes = 0;
    while (reader->Read(&ev)) {
      if (ev.has_summary()) {
        out->summary = ev.summary();
        continue;
      }
      out->items.push_back(ev.item());
      bytes += ev.item().bytes();
      progress.Count(dry_run ? "looking" : "collecting", static_cast<int64_t>(out->items.size()),
                     -1, absl::StrCat("items, ", HumanSize(bytes)));
    }
  }
  grpc::Status s = reader->Finish();
  return s.ok() ? 0 : Fail("gc", s);
}

nlohmann::json GcJson(const Commands::GcResult& r) {
  json list = json::array();
  for (const auto& i : r.items) {
    list.push_back({{"kind", i.kind()}, {"name", i.name()}, {"bytes", i.bytes()}});
  }
  return {{"dry_run", r.summary.dry_run()},
          {"items", list},
          {"bytes", r.summary.bytes()},
          {"blobs_kept", r.summary.blobs_kept()},
          {"snapshots_kept", r.summary.snapshots_kept()},
          {"writers_paused_seconds", r.summary.writers_paused_seconds()},
          {"elapsed_seconds", r.summary.elapsed_seconds()}};
}

void PrintGcText(const Commands::GcResult& r) {
  const char* verb = r.summary.dry_run() ? "would remove" : "removed";
  for (const auto& i : r.items) {
    std::printf("%s %s %s (%s)\n", verb, i.kind().c_str(), i.name().c_str(),
                HumanSize(i.bytes()).c_str());
  }
  std::printf("%s %s, %s; kept %s and %s\n", verb,
              Plural(static_cast<int64_t>(r.items.size()), "item").c_str(),
              HumanSize(r.summary.bytes()).c_str(), Plural(r.summary.blobs_kept(), "blob").c_str(),
              Plural(r.summary.snapshots_kept(), "snapshot").c_str());
}

int Commands::Gc(bool dry_run, const std::string& ingest_max_age) {
  GcResult r;
  if (int failed = CollectGarbage(dry_run, ingest_max_age, &r)) return failed;
  r.summary.set_dry_run(dry_run);
  if (g_.json) {
    std::printf("%s\n", GcJson(r).dump(2).c_str());
  } else {
    PrintGcText(r);
  }
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
