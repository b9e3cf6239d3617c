// Fuzzes the gRPC request handlers the way a hostile client reaches them:
// each input is a sequence of calls, each a selector byte, a 16-bit length
// and that many bytes of a serialized request, decoded as gRPC would and
// handed to the daemon's own service objects over one real store (RocksDB,
// directories) that lives for the whole run. Every unary method of every
// service is reachable; streams are left to the integration tests.
//
// Oracles: crashes and sanitizer reports, a status code outside the set the
// API documents, and anything written outside the store's root.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/content_service.h"
#include "api/images_service.h"
#include "api/layers_service.h"
#include "api/leases_service.h"
#include "api/snapshots_service.h"
#include "common/fs.h"
#include "google/protobuf/stubs/logging.h"
#include "layerstore/store.h"
#include "tests/service_call.h"

namespace {

using Call = std::function<grpc::Status(const std::string& bytes)>;

// A handler as a Call: the bytes become the request, as on the wire.
template <typename Service, typename Req, typename Resp>
Call Unary(Service* s, grpc::Status (Service::*method)(grpc::ServerContext*, const Req*, Resp*)) {
  return [s, method](const std::string& bytes) {
    Req req;
    if (!req.ParseFromString(bytes)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "undecodable");
    }
    return strata::testing::CallHandler(s, method, req);
  };
}

// Codes a handler may answer with; anything else (UNKNOWN, say, from a stray
// exception, or INTERNAL for a bad input) is a finding.
bool Expected(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    default:
      return false;
  }
}

struct World {
  std::string dir;
  std::unique_ptr<strata::layerstore::Store> store;
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::vector<std::pair<std::string, Call>> calls;

  World() {
    // Undecodable requests are most inputs; protobuf's log line for each
    // would slow the run down to the terminal's speed.
    google::protobuf::SetLogHandler(nullptr);
    char tmpl[] = "/tmp/strata-fuzz-requests-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    auto opened = strata::layerstore::Store::Open(dir + "/root");
    if (!opened.ok()) {
      std::fprintf(stderr, "open store: %s\n", opened.status().ToString().c_str());
      std::abort();
    }
    store = std::move(*opened);
    using namespace strata;
    auto* cd = Add<api::ContainerdSnapshotsService>(store->snapshots.get(),
                                                    snapshotter::KeySpace::kContainerd);
    auto* native =
        Add<api::NativeSnapshotsService>(store->snapshots.get(), snapshotter::KeySpace::kNative);
    auto* content = Add<api::ContentService>(store->content.get());
    layerstore::ImportOptions import_policy;  // no import directories: host paths refused
    auto* images = Add<api::ImagesService>(
        store->importer.get(), store->images.get(), store->content.get(), store->snapshots.get(),
        store->committer.get(), store->leases.get(), store->gc.get(), import_policy);
    auto* layers =
        Add<api::LayersService>(store->content.get(), store->unpacker.get(), store->committer.get(),
                                store->leases.get(), store->gc.get());
    auto* leases = Add<api::LeasesService>(store->leases.get(), nullptr);
    AddSnapshots("containerd", cd);
    AddSnapshots("native", native);
    using C = api::ContentService;
    calls.push_back({"content.Info", Unary(content, &C::Info)});
    calls.push_back({"content.Delete", Unary(content, &C::Delete)});
    calls.push_back({"content.Update", Unary(content, &C::Update)});
    calls.push_back({"content.Status", Unary(content, &C::Status)});
    calls.push_back({"content.ListStatuses", Unary(content, &C::ListStatuses)});
    calls.push_back({"content.Abort", Unary(content, &C::Abort)});
    using I = api::ImagesService;
    calls.push_back({"images.List", Unary(images, &I::List)});
    calls.push_back({"images.Get", Unary(images, &I::Get)});
    calls.push_back({"images.Delete", Unary(images, &I::Delete)});
    calls.push_back({"images.Commit", Unary(images, &I::Commit)});
    calls.push_back({"layers.Diff", Unary(layers, &api::LayersService::Diff)});
    using L = api::LeasesService;
    calls.push_back({"leases.Create", Unary(leases, &L::Create)});
    calls.push_back({"leases.List", Unary(leases, &L::List)});
    calls.push_back({"leases.Delete", Unary(leases, &L::Delete)});
  }

  template <typename S, typename... Args>
  S* Add(Args&&... args) {
    auto s = std::make_unique<S>(std::forward<Args>(args)...);
    S* raw = s.get();
    services.push_back(std::move(s));
    return raw;
  }

  template <typename S>
  void AddSnapshots(const std::string& space, S* s) {
    calls.push_back({space + ".Prepare", Unary(s, &S::Prepare)});
    calls.push_back({space + ".View", Unary(s, &S::View)});
    calls.push_back({space + ".Mounts", Unary(s, &S::Mounts)});
    calls.push_back({space + ".Commit", Unary(s, &S::Commit)});
    calls.push_back({space + ".Remove", Unary(s, &S::Remove)});
    calls.push_back({space + ".Stat", Unary(s, &S::Stat)});
    calls.push_back({space + ".Update", Unary(s, &S::Update)});
    calls.push_back({space + ".Usage", Unary(s, &S::Usage)});
    calls.push_back({space + ".Cleanup", Unary(s, &S::Cleanup)});
  }
};

World& TheWorld() {
  // Lives for the process (libFuzzer may exit from any thread); its directory
  // goes at exit.
  static World* w = [] {
    World* world = new World();
    std::atexit([] { (void)strata::RemoveTree(TheWorld().dir); });
    return world;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = TheWorld();
  size_t pos = 0;
  for (int n = 0; n < 16 && pos + 3 <= size; ++n) {
    size_t which = data[pos] % w.calls.size();
    size_t len = static_cast<size_t>(data[pos + 1]) << 8 | data[pos + 2];
    pos += 3;
    if (len > size - pos) len = size - pos;
    std::string bytes(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    grpc::Status s = w.calls[which].second(bytes);
    if (!Expected(s.error_code())) {
      std::fprintf(stderr, "%s answered code %d: %s\n", w.calls[which].first.c_str(),
                   static_cast<int>(s.error_code()), s.error_message().c_str());
      std::abort();
    }
  }
  // Nothing may appear beside the store's root.
  auto names = strata::ListDir(w.dir);
  if (!names.ok() || names->size() != 1 || (*names)[0] != "root") {
    std::fprintf(stderr, "a request wrote outside the store root\n");
    std::abort();
  }
  return 0;
}
