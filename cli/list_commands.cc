// The listing commands: images, blobs, snapshots, leases (cli/listing.h
// prints them).
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/listing.h"
#include "cli/views.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "strata/v1/content.grpc.pb.h"
#include "strata/v1/images.grpc.pb.h"
#include "strata/v1/leases.grpc.pb.h"
#include "strata/v1/snapshots.grpc.pb.h"

namespace strata::cli {
namespace {

using json = nlohmann::json;
namespace pb = strata::v1;
namespace spb = containerd::services::snapshots::v1;

std::map<std::string, std::string> Labels(
    const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

// "sha256:<hex>" names shortened to 12 hex digits; other names as they are.
std::string ShortName(const std::string& name) {
  return name.rfind("sha256:", 0) == 0 ? ShortDigest(name) : name;
}

// "host/a/b" of "host/a/b:tag@sha256:...": the name without tag and digest.
std::string RepositoryOf(const std::string& name) {
  std::string repo = name.substr(0, name.find('@'));
  size_t slash = repo.rfind('/');
  size_t colon = repo.find(':', slash == std::string::npos ? 0 : slash);
  return colon == std::string::npos ? repo : repo.substr(0, colon);
}

ListRow ImageRow(const pb::Image& img) {
  ListRow r;
  r.fields = {{"Name", img.name()},
              {"Repository", RepositoryOf(img.name())},
              {"ID", img.config_digest()},
              {"Digest", img.target().digest()},
              {"Layers", std::to_string(img.layers_size())},
              {"Size", HumanSize(ImageSize(img))},
              {"DiskSize", HumanSize(ImageDiskSize(img))},
              // As docker: when the image was built (its config says), else
              // when it came here.
              {"Created", TimeText(img.has_image_created() ? img.image_created().seconds()
                                                           : img.created_at().seconds())},
              // Every image here has a name; a digest-only one (pulled by
              // digest) is the nearest thing to docker's dangling image.
              {"Dangling", img.name().find('@') != std::string::npos ? "true" : "false"}};
  r.short_fields = {{"Name", FamiliarName(img.name())},
                    {"ID", ShortDigest(img.config_digest())},
                    {"Digest", ShortDigest(img.target().digest())}};
  r.labels = Labels(img.labels());
  r.json = ImageJson(img);
  return r;
}

}  // namespace

int Commands::Images() {
  pb::ListImagesResponse resp;
  if (int failed = Call(&pb::Images::Stub::List, "images", pb::ListImagesRequest(), &resp))
    return failed;
  std::vector<ListRow> rows;
  for (const auto& img : resp.images()) rows.push_back(ImageRow(img));
  ListSpec spec{{{"NAME", "Name"},
                 {"IMAGE ID", "ID"},
                 {"LAYERS", "Layers"},
                 {"SIZE", "Size"},
                 {"CREATED", "Created"}},
                "Name",
                {{"reference", "Name"}}};
  return PrintListing(spec, g_.list, g_.json, rows);
}

int Commands::Blobs() {
  auto stub = pb::Content::NewStub(channel_);
  grpc::ClientContext ctx;
  auto reader = stub->List(&ctx, pb::ListContentRequest());
  pb::ListContentResponse resp;
  std::vector<ListRow> rows;
  while (reader->Read(&resp)) {
    for (const pb::BlobInfo& b : resp.info()) {
      ListRow r;
      r.fields = {{"Digest", b.digest()},
                  {"Size", HumanSize(b.size())},
                  {"Bytes", std::to_string(b.size())},
                  {"MediaType", b.media_type()},
                  {"Created", TimeText(b.created_at().seconds())}};
      r.short_fields = {{"Digest", ShortDigest(b.digest())}};
      r.labels = Labels(b.labels());
      r.json = {{"digest", b.digest()}, {"size", b.size()}, {"media_type", b.media_type()}};
      rows.push_back(std::move(r));
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail("blobs", s);
  ListSpec spec{{{"DIGEST", "Digest"}, {"SIZE", "Size"}, {"MEDIA TYPE", "MediaType"}},
                "Digest",
                {{"media-type", "MediaType"}}};
  return PrintListing(spec, g_.list, g_.json, rows);
}

namespace {

void PrintTree(const std::vector<spb::Info>& infos) {
  std::map<std::string, std::vector<const spb::Info*>> children;
  std::set<std::string> names;
  for (const auto& i : infos) names.insert(i.name());
  for (const auto& i : infos) {
    // Roots: no parent, or a parent in the other key space.
    children[names.count(i.parent()) ? i.parent() : ""].push_back(&i);
  }
  std::function<void(const std::string&, int)> print = [&](const std::string& parent, int depth) {
    for (const spb::Info* i : children[parent]) {
      std::printf("%s%s [%s]\n", std::string(2 * depth, ' ').c_str(), i->name().c_str(),
                  KindName(i->kind()));
      print(i->name(), depth + 1);
    }
  };
  std::printf("NAME [KIND]\n");  // as the table has a header, empty or not
  print("", 0);
}

}  // namespace

int Commands::Snapshots(bool containerd, bool tree) {
  std::unique_ptr<grpc::ClientReaderInterface<spb::ListSnapshotsResponse>> reader;
  grpc::ClientContext ctx;
  auto native = pb::Snapshots::NewStub(channel_);
  auto ctrd = spb::Snapshots::NewStub(channel_);
  reader = containerd ? ctrd->List(&ctx, spb::ListSnapshotsRequest())
                      : native->List(&ctx, spb::ListSnapshotsRequest());
  std::vector<spb::Info> infos;
  spb::ListSnapshotsResponse resp;
  while (reader->Read(&resp)) infos.insert(infos.end(), resp.info().begin(), resp.info().end());
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail("snapshots", s);
  if (tree && !g_.json) {
    PrintTree(infos);
    return 0;
  }
  std::vector<ListRow> rows;
  for (const auto& i : infos) {
    ListRow r;
    r.fields = {{"Name", i.name()},
                {"Kind", KindName(i.kind())},
                {"Parent", i.parent()},
                {"Created", TimeText(i.created_at().seconds())}};
    r.short_fields = {{"Name", ShortName(i.name())}, {"Parent", ShortName(i.parent())}};
    r.labels = Labels(i.labels());
    r.json = {{"name", i.name()},
              {"kind", KindName(i.kind())},
              {"parent", i.parent()},
              {"labels", json(r.labels)}};
    rows.push_back(std::move(r));
  }
  ListSpec spec{{{"NAME", "Name"}, {"KIND", "Kind"}, {"PARENT", "Parent"}}, "Name", {}};
  return PrintListing(spec, g_.list, g_.json, rows);
}

int Commands::Leases() {
  pb::ListLeasesResponse resp;
  if (int failed = Call(&pb::Leases::Stub::List, "leases", pb::ListLeasesRequest(), &resp))
    return failed;
  // Garbage collection drops an expired lease; until then it holds nothing.
  absl::Time now = absl::Now();
  std::vector<ListRow> rows;
  for (const auto& l : resp.leases()) {
    bool expired = l.has_expires_at() && absl::FromUnixSeconds(l.expires_at().seconds()) <= now;
    std::string expires = !l.has_expires_at() ? "never" : TimeText(l.expires_at().seconds());
    ListRow r;
    r.labels = Labels(l.labels());
    std::string labels;
    for (const auto& [k, v] : r.labels)
      absl::StrAppend(&labels, labels.empty() ? "" : ",", k, "=", v);
    r.fields = {{"ID", l.id()},
                {"Created", TimeText(l.created_at().seconds())},
                {"Expires", expired ? expires + " (expired)" : expires},
                {"Expired", expired ? "true" : "false"},
                {"Resources", std::to_string(l.resources())},
                {"Labels", labels}};
    r.json = {{"id", l.id()},
              {"created_at", TimeText(l.created_at().seconds())},
              {"expires_at", l.has_expires_at() ? json(expires) : json()},
              {"expired", expired},
              {"resources", l.resources()},
              {"labels", json(r.labels)}};
    rows.push_back(std::move(r));
  }
  ListSpec spec{{{"ID", "ID"},
                 {"CREATED", "Created"},
                 {"EXPIRES", "Expires"},
                 {"RESOURCES", "Resources"},
                 {"LABELS", "Labels"}},
                "ID",
                {}};
  return PrintListing(spec, g_.list, g_.json, rows);
}

}  // namespace strata::cli
