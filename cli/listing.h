// Listings (images, snapshots, blobs, leases) as docker and podman users
// expect them: a table with long names and digests shortened (unless
// --no-trunc), -q for one identifier per line, --format with a Go-template
// field list ("{{.Name}} {{.Size}}", "table ..." adds the header), --filter
// KEY=VALUE (VALUE a glob; label=KEY or label=KEY=VALUE; the same key twice
// is either, different keys are both), and --json.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace strata::cli {

struct ListOptions {
  bool quiet = false;
  bool no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

struct ListColumn {
  std::string header;  // "IMAGE ID"
  std::string field;   // "ID": the row field shown, and {{.ID}} in --format
};

struct ListRow {
  // By field name: the full value, and the shortened one a table shows
  // (when absent, the full value).
  std::map<std::string, std::string> fields;
  std::map<std::string, std::string> short_fields;
  std::map<std::string, std::string> labels;
  nlohmann::json json;  // what --json prints for the row
};

struct ListSpec {
  std::vector<ListColumn> columns;
  std::string quiet_field;  // what -q prints
  // Filter keys beyond the fields themselves, each naming a field
  // ("reference" -> "Name").
  std::map<std::string, std::string> filter_aliases;
};

// Prints `rows` as `options` ask; returns the exit code (2, with a one-line
// error, for a filter or format that names no field).
int PrintListing(const ListSpec& spec, const ListOptions& options, bool json,
                 const std::vector<ListRow>& rows);

// "docker.io/library/busybox:latest" -> "busybox:latest",
// "docker.io/acme/app:1" -> "acme/app:1": names as docker shows them.
std::string FamiliarName(const std::string& name);

}  // namespace strata::cli
