// The operator's commands, each a client of the daemon's gRPC API. Each
// returns the process exit code: 0 success, 1 failure (after printing one
// line to stderr).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli/listing.h"
#include "strata/v1/admin.pb.h"
#include "strata/v1/images.pb.h"

namespace strata::cli {

struct Globals {
  std::string socket = "/run/strata/strata.sock";
  bool json = false;
  ListOptions list;  // for the listings
};

class Commands {
 public:
  explicit Commands(const Globals& g);

  // `file` "-": the archive comes on stdin.
  int Import(const std::string& file, const std::string& name);
  int Pull(const std::string& ref, const std::string& platform, const std::string& name);
  int Push(const std::string& name, const std::string& ref);
  int Images();
  // Deletes each name; goes on past failures (each reported), exit 1 if any.
  int Rmi(const std::vector<std::string>& names);
  int Tag(const std::string& source, const std::string& name);
  // An image's config (entrypoint, env, labels...) and layers with sizes.
  int Inspect(const std::string& name);
  // The config's history, newest first, with each layer's size.
  int History(const std::string& name);
  // Deletes images no container uses (without `all`: only digest-only
  // names, docker's dangling images), then collects garbage.
  int Prune(bool all, bool dry_run);
  // Disk use as `docker system df` shows it.
  int SystemDf();
  // The client's version, and the daemon's when it answers.
  int Version();
  int Blobs();
  // `tree`: each snapshot under its parent, indented.
  int Snapshots(bool containerd, bool tree);
  // `size_bytes` > 0 makes a new writable layer sized (space_backend.h), its
  // `disk` "fixed" or "dynamic" (empty: the daemon's default, dynamic).
  int Mount(const std::string& name, const std::string& dir, const std::string& rw_key,
            int64_t size_bytes, const std::string& disk);
  int Unmount(const std::string& dir);
  int Commit(const std::string& key, const std::string& name, const std::string& base,
             const std::string& compression, bool squash);
  // `layers` 0: all.
  int Squash(const std::string& image, const std::string& name, int layers,
             const std::string& compression);
  int Export(const std::string& name, const std::string& file, const std::string& format,
             bool force);
  // Exit code 0 when the store is clean (or every problem was repaired), 3 when problems remain.
  int Fsck(bool repair);
  // With `force`, unmounts the snapshot first where `strata mount` put it.
  int Rm(const std::string& key, bool force);
  // Per image: bytes only it uses and bytes it shares; totals with and without sharing.
  int Du();
  // Collects garbage, or with dry_run says what would go. `ingest_max_age`
  // ("24h"; empty: the daemon's setting) makes older ingests garbage.
  int Gc(bool dry_run, const std::string& ingest_max_age);
  struct GcResult {
    std::vector<strata::v1::GcItem> items;
    strata::v1::GcSummary summary;
  };
  // One garbage collection, its items and summary in `out`; 0 or the failure's exit code.
  int CollectGarbage(bool dry_run, const std::string& ingest_max_age, GcResult* out);
  // One Admin.Prune: the images it deleted (or would) and its collection.
  int PruneCall(bool all, bool dry_run, std::vector<std::string>* images, GcResult* gc);

  // The daemon's version, root and what makes sized layers.
  int Info();
  int Leases();
  // `ttl` like "1h" (empty: never expires); labels as KEY=VALUE.
  int LeaseCreate(const std::string& id, const std::string& ttl,
                  const std::vector<std::string>& labels);
  int LeaseRm(const std::string& id);

 private:
  int Fail(const std::string& what, const grpc::Status& s) const;
  // One unary call on a fresh stub: 0 when it succeeds, else the failure
  // reported as "<what>: <error>" and its exit code.
  template <typename Stub, typename Request, typename Response>
  int Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
           const std::string& what, const Request& req, Response* resp) const {
    Stub stub(channel_);
    grpc::ClientContext ctx;
    grpc::Status s = (stub.*method)(&ctx, req, resp);
    return s.ok() ? 0 : Fail(what, s);
  }
  int Fail(const std::string& message) const;
  // Streams image `name` as an archive to `fd`, counting bytes in `total`.
  int StreamExport(const std::string& name, const std::string& format, int fd, int64_t* total);
  // How many writable snapshots (containers) both key spaces hold.
  int CountContainers(int64_t* containers);
  // Image `name` and its parsed config blob.
  // `verb` names the command in errors.
  int ImageWithConfig(const std::string& verb, const std::string& name, strata::v1::Image* img,
                      nlohmann::json* config);
  // 0 if writable snapshot `key` (which exists) stands above `img`'s top
  // layer (and, with `size_bytes`, was made with that size); otherwise
  // reports why it cannot be mounted for image `name`.
  int CheckReusable(const std::string& key, const std::string& name, const strata::v1::Image& img,
                    int64_t size_bytes) const;

  Globals g_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A garbage collection as --json prints it, and as text.
nlohmann::json GcJson(const Commands::GcResult& r);
void PrintGcText(const Commands::GcResult& r);

}  // namespace strata::cli
