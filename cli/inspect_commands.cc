// inspect and history: an image's config and layers, read from the store.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/listing.h"
#include "cli/views.h"
#include "strata/v1/content.grpc.pb.h"
#include "strata/v1/images.grpc.pb.h"

namespace strata::cli {
namespace {

using json = nlohmann::json;
namespace pb = strata::v1;

// A config field, or null when the config does not have it.
json Field(const json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j[key] : json();
}

json LayersJson(const pb::Image& img) {
  json layers = json::array();
  for (const auto& l : img.layers()) {
    layers.push_back({{"digest", l.blob().digest()},
                      {"media_type", l.blob().media_type()},
                      {"size", l.blob().size()},
                      {"disk_size", l.disk_size()},
                      {"diff_id", l.diff_id()},
                      {"chain_id", l.chain_id()}});
  }
  return layers;
}

// docker history truncates CREATED BY to 45 columns.
std::string Truncated(std::string s, bool no_trunc) {
  s = absl::StrReplaceAll(s, {{"\n", " "}, {"\t", " "}});
  if (no_trunc || s.size() <= 45) return s;
  return s.substr(0, 44) + "…";
}

}  // namespace

int Commands::ImageWithConfig(const std::string& verb, const std::string& name, pb::Image* img,
                              json* config) {
  pb::GetImageRequest req;
  req.set_name(name);
  if (int failed = Call(&pb::Images::Stub::Get, verb + " " + name, req, img)) return failed;
  auto stub = pb::Content::NewStub(channel_);
  grpc::ClientContext ctx;
  pb::ReadContentRequest read;
  read.set_digest(img->config_digest());
  auto reader = stub->Read(&ctx, read);
  std::string bytes;
  pb::ReadContentResponse chunk;
  while (reader->Read(&chunk)) bytes += chunk.data();
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(absl::StrCat(verb, " ", name, ": read config"), s);
  *config = json::parse(bytes, nullptr, false);
  if (config->is_discarded()) return Fail(absl::StrCat(name, ": config is not JSON"));
  return 0;
}

int Commands::Inspect(const std::string& name) {
  pb::Image img;
  json config;
  if (int failed = ImageWithConfig("inspect", name, &img, &config)) return failed;
  json c = Field(config, "config");
  json labels = Field(c, "Labels");
  json out = {{"name", img.name()},
              {"id", img.config_digest()},
              {"digest", img.target().digest()},
              {"media_type", img.target().media_type()},
              {"manifest", img.manifest_digest()},
              {"created", Field(config, "created")},
              {"author", Field(config, "author")},
              {"os", Field(config, "os")},
              {"architecture", Field(config, "architecture")},
              {"variant", Field(config, "variant")},
              {"config",
               {{"entrypoint", Field(c, "Entrypoint")},
                {"cmd", Field(c, "Cmd")},
                {"env", Field(c, "Env")},
                {"working_dir", Field(c, "WorkingDir")},
                {"user", Field(c, "User")},
                {"exposed_ports", Field(c, "ExposedPorts")},
                {"volumes", Field(c, "Volumes")},
                {"stop_signal", Field(c, "StopSignal")},
                {"labels", labels.is_null() ? json::object() : labels}}},
              {"size", ImageSize(img)},
              {"disk_size", ImageDiskSize(img)},
              {"top_chain_id", img.top_chain_id()},
              {"layers", LayersJson(img)}};
  // As docker inspect: JSON, with or without --json.
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int Commands::History(const std::string& name) {
  pb::Image img;
  json config;
  if (int failed = ImageWithConfig("history", name, &img, &config)) return failed;
  json history = Field(config, "history");
  if (!history.is_array()) history = json::array();
  // Entries that made a layer take the image's layers in order.
  std::vector<ListRow> rows;
  int layer = 0;
  for (const json& h : history) {
    bool empty = h.value("empty_layer", false);
    int64_t size = 0;
    std::string layer_digest;
    if (!empty && layer < img.layers_size()) {
      size = img.layers(layer).disk_size();
      layer_digest = img.layers(layer).blob().digest();
      ++layer;
    }
    ListRow r;
    std::string created_by = h.value("created_by", "");
    // Configs write times to the second, the millisecond or the
    // nanosecond: shown alike, as every listing shows times.
    std::string created = h.value("created", "");
    absl::Time when;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, created, &when, &err)) {
      created = TimeText(absl::ToUnixSeconds(when));
    }
    r.fields = {{"Created", created},
                {"CreatedBy", created_by},
                {"Size", HumanSize(size)},
                {"Comment", h.value("comment", "")},
                // As docker shows a step that made no layer.
                {"Layer", layer_digest.empty() ? "<missing>" : layer_digest}};
    r.short_fields = {{"CreatedBy", Truncated(created_by, false)},
                      {"Layer", layer_digest.empty() ? "<missing>" : ShortDigest(layer_digest)}};
    r.json = {
        {"created", h.value("created", "")}, {"created_by", created_by}, {"empty_layer", empty},
        {"comment", h.value("comment", "")}, {"layer", layer_digest},    {"disk_size", size}};
    rows.push_back(std::move(r));
  }
  std::reverse(rows.begin(), rows.end());  // newest first, as docker shows it
  ListSpec spec{{{"LAYER", "Layer"},
                 {"CREATED", "Created"},
                 {"CREATED BY", "CreatedBy"},
                 {"SIZE", "Size"},
                 {"COMMENT", "Comment"}},
                "Layer",
                {}};
  return PrintListing(spec, g_.list, g_.json, rows);
}

}  // namespace strata::cli
