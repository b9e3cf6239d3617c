#include "cli/commands.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "api/mount_proto.h"
#include "cli/args.h"
#include "cli/errors.h"
#include "cli/format.h"
#include "cli/views.h"
#include "common/mount.h"
#include "common/snapshot_labels.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "strata/v1/admin.grpc.pb.h"
#include "strata/v1/content.grpc.pb.h"
#include "strata/v1/images.grpc.pb.h"
#include "strata/v1/layers.grpc.pb.h"
#include "strata/v1/leases.grpc.pb.h"
#include "strata/v1/snapshots.grpc.pb.h"
#include "strata/version.h"

namespace strata::cli {
namespace {

using json = nlohmann::json;
namespace pb = strata::v1;
namespace spb = containerd::services::snapshots::v1;

constexpr size_t kChunk = 1 << 20;

std::string AbsolutePath(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) != nullptr) return buf;
  return p;
}

// An image a command made: its JSON, or "<verb> <from> as <name> (N layers, top <chain>)".
void PrintImageMade(const char* verb, const std::string& from, const pb::Image& img, bool as_json) {
  if (as_json) {
    std::printf("%s\n", ImageJson(img).dump(2).c_str());
    return;
  }
  std::printf("%s %s as %s (%s, top %s)\n", verb, from.c_str(), img.name().c_str(),
              Plural(img.layers_size(), "layer").c_str(), ShortDigest(img.top_chain_id()).c_str());
}

std::string StatusCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : std::to_string(i);
}

// Reads a call's stream of `Response`s to its end: progress messages drawn
// on a terminal (not under --json), every other message handed to `take`.
template <typename Response, typename Stream, typename Take>
void ReadProgressStream(Stream& stream, bool json, Take take) {
  ProgressLine progress;
  Response resp;
  while (stream.Read(&resp)) {
    if (resp.has_progress()) {
      if (!json)
        progress.Update(resp.progress().phase(), resp.progress().done(), resp.progress().total());
    } else {
      take(resp);
    }
  }
}

}  // namespace

Commands::Commands(const Globals& g)
    : g_(g),
      channel_(grpc::CreateChannel("unix:" + g.socket, grpc::InsecureChannelCredentials())) {}

int Commands::Fail(const std::string& what, const grpc::Status& s) const {
  std::string code = StatusCodeName(s.error_code());
  // UNAVAILABLE is the daemon's own answer too (a registry it could not
  // reach): only a channel that is not connected means stratad is not there.
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
      channel_->GetState(false) != GRPC_CHANNEL_READY) {
    return ReportError(
        absl::StrCat(what, ": cannot reach stratad at ", g_.socket, " (", s.error_message(), ")"),
        code, kExitFailed, g_.json);
  }
  // The daemon's message often names the subject already ("pull x:1: x:1:
  // manifest unknown"): named once.
  const std::string full = s.error_message();  // by value: kept while viewed
  absl::string_view message = full;
  size_t space = what.find(' ');
  if (space != std::string::npos) {
    absl::ConsumePrefix(&message, absl::StrCat(what.substr(space + 1), ": "));
  }
  return ReportError(absl::StrCat(what, ": ", message), code, kExitFailed, g_.json);
}

int Commands::Fail(const std::string& message) const {
  return ReportError(message, "FAILED", kExitFailed, g_.json);
}

int Commands::Import(const std::string& file, const std::string& name) {
  bool from_stdin = file == "-";
  if (from_stdin && ::isatty(0)) {
    return Fail("import -: stdin is a terminal; pipe an archive in (strata import - < image.tar)");
  }
  int fd = from_stdin ? ::dup(0) : ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(absl::StrCat("import: cannot open ", file, ": ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Fail(absl::StrCat("import: ", file, " is a directory, not an archive"));
  }
  auto stub = pb::Images::NewStub(channel_);
  grpc::ClientContext ctx;
  auto stream = stub->Import(&ctx);
  pb::ImportRequest header;
  header.mutable_header()->set_name(name);
  stream->Write(header);
  // Send the archive while progress comes back on the same call.
  std::thread sender([&] {
    std::string buf(kChunk, '\0');
    while (true) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n <= 0) break;
      pb::ImportRequest msg;
      msg.set_data(buf.data(), static_cast<size_t>(n));
      if (!stream->Write(msg)) break;
    }
    stream->WritesDone();
  });
  std::vector<pb::Image> images;
  ReadProgressStream<pb::ImportResponse>(*stream, g_.json, [&](const pb::ImportResponse& resp) {
    if (resp.has_image()) images.push_back(resp.image());
  });
  sender.join();
  ::close(fd);
  grpc::Status s = stream->Finish();
  if (!s.ok()) return Fail("import " + file, s);
  if (g_.json) {
    json out = json::array();
    for (const auto& img : images) out.push_back(ImageJson(img));
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    for (const auto& img : images) {
      std::printf("imported %s (%s, %s)\n", img.name().c_str(),
                  Plural(img.layers_size(), "layer").c_str(), HumanSize(ImageSize(img)).c_str());
    }
  }
  return 0;
}

int Commands::Pull(const std::string& ref, const std::string& platform, const std::string& name) {
  auto stub = pb::Images::NewStub(channel_);
  grpc::ClientContext ctx;
  pb::PullImageRequest req;
  req.set_ref(ref);
  req.set_platform(platform);
  req.set_name(name);
  auto stream = stub->Pull(&ctx, req);
  pb::Image image;
  bool got = false;
  ReadProgressStream<pb::PullImageResponse>(*stream, g_.json, [&](const pb::PullImageResponse& r) {
    if (r.has_image()) {
      image = r.image();
      got = true;
    }
  });
  grpc::Status s = stream->Finish();
  if (!s.ok()) return Fail("pull " + ref, s);
  if (!got) return Fail("pull " + ref + ": the daemon sent no image");
  if (g_.json) {
    std::printf("%s\n", ImageJson(image).dump(2).c_str());
  } else {
    std::printf("pulled %s (%s, %s)\n", image.name().c_str(),
                Plural(image.layers_size(), "layer").c_str(), HumanSize(ImageSize(image)).c_str());
  }
  return 0;
}

int Commands::Push(const std::string& name, const std::string& ref) {
  auto stub = pb::Images::NewStub(channel_);
  grpc::ClientContext ctx;
  pb::PushImageRequest req;
  req.set_name(name);
  req.set_ref(ref);
  auto stream = stub->Push(&ctx, req);
  pb::PushedImage result;
  bool got = false;
  ReadProgressStream<pb::PushImageResponse>(*stream, g_.json, [&](const pb::PushImageResponse& r) {
    if (r.has_result()) {
      result = r.result();
      got = true;
    }
  });
  grpc::Status s = stream->Finish();
  if (!s.ok()) return Fail("push " + ref, s);
  if (!got) return Fail("push " + ref + ": the daemon sent no result");
  if (g_.json) {
    json out = {
        {"digest", result.pushed().digest()},       {"media_type", result.pushed().media_type()},
        {"size", result.pushed().size()},           {"blobs_present", result.blobs_present()},
        {"blobs_mounted", result.blobs_mounted()},  {"blobs_uploaded", result.blobs_uploaded()},
        {"bytes_uploaded", result.bytes_uploaded()}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("pushed %s as %s: %s uploaded (%s), %d already there, %d mounted\n", name.c_str(),
                result.pushed().digest().c_str(), Plural(result.blobs_uploaded(), "blob").c_str(),
                HumanSize(result.bytes_uploaded()).c_str(), result.blobs_present(),
                result.blobs_mounted());
  }
  return 0;
}

int Commands::Rmi(const std::vector<std::string>& names) {
  int result = 0;
  json deleted = json::array();
  for (const std::string& name : names) {
    pb::DeleteImageRequest req;
    req.set_name(name);
    google::protobuf::Empty resp;
    if (int failed = Call(&pb::Images::Stub::Delete, "rmi " + name, req, &resp)) {
      result = failed;
      continue;
    }
    deleted.push_back(name);
    if (!g_.json) std::printf("deleted %s\n", name.c_str());
  }
  if (g_.json && result == 0) std::printf("%s\n", json{{"deleted", deleted}}.dump(2).c_str());
  return result;
}

int Commands::Tag(const std::string& source, const std::string& name) {
  pb::TagImageRequest req;
  req.set_source(source);
  req.set_name(name);
  pb::Image img;
  if (int failed = Call(&pb::Images::Stub::Tag, "tag " + source, req, &img)) return failed;
  if (g_.json) {
    std::printf("%s\n", ImageJson(img).dump(2).c_str());
  } else {
    std::printf("tagged %s as %s\n", source.c_str(), img.name().c_str());
  }
  return 0;
}

int Commands::Mount(const std::string& name, const std::string& dir, const std::string& rw_key,
                    int64_t size_bytes, const std::string& disk) {
  std::string where = AbsolutePath(dir);
  struct stat st;
  if (::stat(where.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(absl::StrCat("mount ", name, ": ", where, " is not a directory"));
  }
  if (IsMountPoint(where)) {
    // Stacking would hide what is there, and unmount would then release the wrong one.
    return Fail(
        absl::StrCat("mount ", name, ": ", where, " is already a mount point (unmount it first)"));
  }
  pb::Image img;
  pb::GetImageRequest get;
  get.set_name(name);
  if (int failed = Call(&pb::Images::Stub::Get, "mount " + name, get, &img)) return failed;
  auto snaps = pb::Snapshots::NewStub(channel_);
  std::vector<MountSpec> mounts;
  std::string key = rw_key.empty() ? "strata-mount:" + where : rw_key;
  grpc::Status s;
  if (rw_key.empty()) {
    grpc::ClientContext ctx;
    spb::ViewSnapshotRequest req;
    req.set_key(key);
    req.set_parent(img.top_chain_id());
    (*req.mutable_labels())[kMountpointLabel] = where;
    spb::ViewSnapshotResponse resp;
    s = snaps->View(&ctx, req, &resp);
    mounts = api::MountsFromProto(resp.mounts());
  } else {
    grpc::ClientContext ctx;
    spb::PrepareSnapshotRequest req;
    req.set_key(key);
    req.set_parent(img.top_chain_id());
    (*req.mutable_labels())[kMountpointLabel] = where;
    (*req.mutable_labels())[kImageLabel] = name;
    if (size_bytes > 0) {
      (*req.mutable_labels())["containerd.io/snapshot/max-size"] = std::to_string(size_bytes);
    }
    if (!disk.empty()) (*req.mutable_labels())["strata.io/snapshot/disk"] = disk;
    spb::PrepareSnapshotResponse resp;
    s = snaps->Prepare(&ctx, req, &resp);
    mounts = api::MountsFromProto(resp.mounts());
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      // Mounting an existing writable snapshot again: only above the same image.
      if (int refused = CheckReusable(key, name, img, size_bytes); refused != 0) return refused;
      grpc::ClientContext mctx;
      spb::MountsRequest mreq;
      mreq.set_key(key);
      spb::MountsResponse mresp;
      s = snaps->Mounts(&mctx, mreq, &mresp);
      mounts = api::MountsFromProto(mresp.mounts());
      grpc::ClientContext uctx;
      spb::UpdateSnapshotRequest ureq;
      ureq.mutable_info()->set_name(key);
      (*ureq.mutable_info()->mutable_labels())[kMountpointLabel] = where;
      ureq.mutable_update_mask()->add_paths(std::string("labels.") + kMountpointLabel);
      spb::UpdateSnapshotResponse uresp;
      if (s.ok()) s = snaps->Update(&uctx, ureq, &uresp);
    }
  }
  if (!s.ok()) return Fail("mount " + name, s);
  absl::Status m = MountAll(mounts, where);
  if (!m.ok()) {
    if (rw_key.empty()) {
      grpc::ClientContext ctx;
      spb::RemoveSnapshotRequest req;
      req.set_key(key);
      google::protobuf::Empty resp;
      snaps->Remove(&ctx, req, &resp);  // best effort: the view was never used
    }
    return Fail(absl::StrCat("mount ", name, " at ", where, ": ", m.message()));
  }
  if (!g_.json)
    std::printf("mounted %s at %s (snapshot %s)\n", name.c_str(), where.c_str(), key.c_str());
  return 0;
}

int Commands::CheckReusable(const std::string& key, const std::string& name,
                            const strata::v1::Image& img, int64_t size_bytes) const {
  spb::StatSnapshotRequest req;
  req.set_key(key);
  spb::StatSnapshotResponse resp;
  if (int failed = Call(&pb::Snapshots::Stub::Stat, "mount " + name, req, &resp)) return failed;
  const spb::Info& info = resp.info();
  if (info.kind() != spb::ACTIVE) {
    return ReportError(absl::StrCat("mount ", name, ": snapshot \"", key, "\" is ",
                                    KindName(info.kind()), ", not writable"),
                       "FAILED_PRECONDITION", kExitFailed, g_.json);
  }
  if (size_bytes > 0) {
    // A size is the new layer's; an existing one keeps what it was made with.
    auto size = info.labels().find("containerd.io/snapshot/max-size");
    if (size == info.labels().end() || size->second != std::to_string(size_bytes)) {
      return ReportError(absl::StrCat("mount ", name, ": snapshot \"", key,
                                      "\" exists with another size; --size applies to a new "
                                      "writable layer"),
                         "FAILED_PRECONDITION", kExitFailed, g_.json);
    }
  }
  if (info.parent() == img.top_chain_id()) return 0;
  auto label = info.labels().find(kImageLabel);
  std::string other = label != info.labels().end()
                          ? absl::StrCat("image \"", label->second, "\"")
                          : absl::StrCat("layer ", ShortDigest(info.parent()));
  return ReportError(absl::StrCat("mount ", name, ": snapshot \"", key, "\" is above ", other,
                                  ", not above \"", name, "\"; choose another key"),
                     "FAILED_PRECONDITION", kExitFailed, g_.json);
}

int Commands::Unmount(const std::string& dir) {
  std::string where = AbsolutePath(dir);
  struct stat st;
  if (::stat(where.c_str(), &st) != 0) {
    return Fail(absl::StrCat("unmount ", where, ": ", std::strerror(errno)));
  }
  if (!IsMountPoint(where)) return Fail(absl::StrCat("unmount ", where, ": not mounted"));
  auto snaps = pb::Snapshots::NewStub(channel_);
  grpc::ClientContext ctx;
  spb::ListSnapshotsRequest req;
  json quoted = where;
  req.add_filters(absl::StrCat("labels.\"", kMountpointLabel, "\"==", quoted.dump()));
  auto reader = snaps->List(&ctx, req);
  std::vector<spb::Info> infos;
  spb::ListSnapshotsResponse resp;
  while (reader->Read(&resp)) infos.insert(infos.end(), resp.info().begin(), resp.info().end());
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail("unmount " + where, s);
  if (infos.empty()) {
    return Fail(absl::StrCat("unmount ", where,
                             ": not mounted by strata mount (left alone; use umount(8))"));
  }
  absl::Status u = strata::Unmount(where);
  if (!u.ok()) return Fail(absl::StrCat("unmount ", where, ": ", u.message()));
  for (const auto& info : infos) {
    grpc::ClientContext c;
    google::protobuf::Empty empty;
    if (info.kind() == spb::VIEW) {
      spb::RemoveSnapshotRequest rm;
      rm.set_key(info.name());
      s = snaps->Remove(&c, rm, &empty);
    } else {
      // A writable snapshot stays (to be committed or mounted again).
      spb::UpdateSnapshotRequest up;
      up.mutable_info()->set_name(info.name());
      up.mutable_update_mask()->add_paths(std::string("labels.") + kMountpointLabel);
      spb::UpdateSnapshotResponse r;
      s = snaps->Update(&c, up, &r);
    }
    if (!s.ok()) return Fail("unmount " + where, s);
  }
  if (!g_.json) std::printf("unmounted %s\n", where.c_str());
  return 0;
}

int Commands::Commit(const std::string& key, const std::string& name, const std::string& base,
                     const std::string& compression, bool squash) {
  std::string from = base;
  if (from.empty()) {
    spb::StatSnapshotRequest req;
    req.set_key(key);
    spb::StatSnapshotResponse resp;
    if (int failed = Call(&pb::Snapshots::Stub::Stat, "commit " + key, req, &resp)) return failed;
    auto it = resp.info().labels().find(kImageLabel);
    if (it != resp.info().labels().end()) from = it->second;
  }
  pb::CommitImageRequest req;
  req.set_snapshot_key(key);
  req.set_name(name);
  req.set_base(from);
  req.set_compression(compression);
  req.set_squash(squash);
  pb::Image img;
  if (int failed = Call(&pb::Images::Stub::Commit, "commit " + key, req, &img)) return failed;
  PrintImageMade("committed", key, img, g_.json);
  return 0;
}

int Commands::Squash(const std::string& image, const std::string& name, int layers,
                     const std::string& compression) {
  pb::MergeLayersRequest req;
  req.set_image(image);
  req.set_name(name);
  req.set_layers(layers);
  req.set_compression(compression);
  pb::Image img;
  if (int failed = Call(&pb::Layers::Stub::Merge, "squash " + image, req, &img)) return failed;
  PrintImageMade("squashed", image, img, g_.json);
  return 0;
}

int Commands::StreamExport(const std::string& name, const std::string& format, int fd,
                           int64_t* total) {
  auto stub = pb::Images::NewStub(channel_);
  grpc::ClientContext ctx;
  pb::ExportImageRequest req;
  req.set_name(name);
  req.set_format(format);
  auto reader = stub->Export(&ctx, req);
  pb::ExportImageResponse chunk;
  bool write_ok = true;
  ProgressLine progress;  // on stderr, and only when it is a terminal
  while (write_ok && reader->Read(&chunk)) {
    const std::string& d = chunk.data();
    for (size_t done = 0; write_ok && done < d.size();) {
      ssize_t n = ::write(fd, d.data() + done, d.size() - done);
      write_ok = n > 0;
      if (write_ok) done += static_cast<size_t>(n);
    }
    *total += static_cast<int64_t>(d.size());
    progress.Bytes("exporting", *total, -1);
  }
  int write_errno = errno;
  if (!write_ok) ctx.TryCancel();  // the daemon stops producing
  grpc::Status s = reader->Finish();
  if (write_ok && !s.ok()) return Fail("export " + name, s);
  if (!write_ok) {
    return Fail(absl::StrCat("export ", name, ": cannot write: ", std::strerror(write_errno)));
  }
  return 0;
}

int Commands::Export(const std::string& name, const std::string& file, const std::string& format,
                     bool force) {
  if (file == "-") {
    if (::isatty(1)) {
      return Fail("export: stdout is a terminal; redirect it (strata export NAME - > image.tar)");
    }
    int64_t total = 0;
    return StreamExport(name, format, 1, &total);
  }
  struct stat st;
  if (!force && ::lstat(file.c_str(), &st) == 0) {
    return Fail(absl::StrCat("export: ", file, " exists (use --force to replace it)"));
  }
  // Written beside the target and renamed into place only when complete.
  std::string tmp = absl::StrCat(file, ".strata-tmp-", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(absl::StrCat("export: cannot create ", tmp, ": ", std::strerror(errno)));
  int64_t total = 0;
  int failed = StreamExport(name, format, fd, &total);
  bool synced = failed == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), file.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    if (failed) return failed;
    return Fail(absl::StrCat("export: cannot write ", file, ": ", std::strerror(e)));
  }
  if (!g_.json)
    std::printf("exported %s to %s (%s)\n", name.c_str(), file.c_str(), HumanSize(total).c_str());
  return 0;
}

int Commands::Rm(const std::string& key, bool force) {
  if (force) {
    spb::StatSnapshotRequest sreq;
    sreq.set_key(key);
    spb::StatSnapshotResponse sresp;
    if (int failed = Call(&pb::Snapshots::Stub::Stat, "rm " + key, sreq, &sresp)) return failed;
    auto where = sresp.info().labels().find(kMountpointLabel);
    if (where != sresp.info().labels().end() && IsMountPoint(where->second)) {
      absl::Status u = strata::Unmount(where->second);
      if (!u.ok()) return Fail(absl::StrCat("rm ", key, ": ", u.message()));
    }
  }
  spb::RemoveSnapshotRequest req;
  req.set_key(key);
  google::protobuf::Empty resp;
  if (int failed = Call(&pb::Snapshots::Stub::Remove, "rm " + key, req, &resp)) return failed;
  if (!g_.json) std::printf("removed %s\n", key.c_str());
  return 0;
}

int Commands::LeaseCreate(const std::string& id, const std::string& ttl,
                          const std::vector<std::string>& labels) {
  pb::CreateLeaseRequest req;
  req.set_id(id);
  if (!ttl.empty()) req.set_ttl_seconds(PositiveSeconds(ttl).value_or(0));
  for (const std::string& kv : labels) {  // checked by the parser: KEY=VALUE
    size_t eq = kv.find('=');
    (*req.mutable_labels())[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  pb::Lease resp;
  if (int failed = Call(&pb::Leases::Stub::Create, "leases create", req, &resp)) return failed;
  if (g_.json) {
    std::printf("%s\n", json({{"id", resp.id()}}).dump(2).c_str());
  } else {
    std::printf("%s\n", resp.id().c_str());
  }
  return 0;
}

int Commands::LeaseRm(const std::string& id) {
  pb::DeleteLeaseRequest req;
  req.set_id(id);
  pb::DeleteLeaseResponse resp;
  if (int failed = Call(&pb::Leases::Stub::Delete, "leases rm " + id, req, &resp)) return failed;
  if (!g_.json) std::printf("deleted lease %s\n", id.c_str());
  return 0;
}

}  // namespace strata::cli
