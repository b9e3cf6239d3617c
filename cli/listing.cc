#include "cli/listing.h"

#include <fnmatch.h>

#include <cstdio>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/errors.h"
#include "cli/format.h"

namespace strata::cli {
namespace {

// Field names by their lower-case spelling, as filters and templates may
// write them in any case.
std::map<std::string, std::string> FieldsByLowerName(const std::vector<ListRow>& rows,
                                                     const ListSpec& spec) {
  std::map<std::string, std::string> out;
  for (const ListColumn& c : spec.columns) out[absl::AsciiStrToLower(c.field)] = c.field;
  for (const ListRow& r : rows) {
    for (const auto& [name, value] : r.fields) out[absl::AsciiStrToLower(name)] = name;
  }
  return out;
}

struct Filter {
  std::string field;  // empty for a label filter
  std::string label;  // label=KEY[=VALUE]
  std::string pattern;
  bool any_value = false;
};

int UsageError(const std::string& message, bool json) {
  return ReportError(message, "USAGE", kExitUsage, json);
}

// Parses --filter values; an error message when one names nothing.
std::string ParseFilters(const ListSpec& spec, const std::map<std::string, std::string>& fields,
                         const std::vector<std::string>& raw, std::vector<Filter>* out) {
  for (const std::string& f : raw) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0) return absl::StrCat("--filter ", f, ": not KEY=VALUE");
    std::string key = absl::AsciiStrToLower(f.substr(0, eq));
    Filter filter;
    filter.pattern = f.substr(eq + 1);
    if (key == "label") {
      size_t veq = filter.pattern.find('=');
      filter.label = filter.pattern.substr(0, veq);
      filter.any_value = veq == std::string::npos;
      filter.pattern = filter.any_value ? "*" : filter.pattern.substr(veq + 1);
    } else if (auto a = spec.filter_aliases.find(key); a != spec.filter_aliases.end()) {
      filter.field = a->second;
    } else if (auto n = fields.find(key); n != fields.end()) {
      filter.field = n->second;
    } else {
      std::vector<std::string> known = {"label"};
      for (const auto& [lower, name] : fields) known.push_back(lower);
      for (const auto& [alias, name] : spec.filter_aliases) known.push_back(alias);
      return absl::StrCat("--filter ", f, ": no field \"", key, "\" (one of ",
                          absl::StrJoin(known, ", "), ")");
    }
    out->push_back(filter);
  }
  return "";
}

bool Glob(const std::string& pattern, const std::string& value) {
  return ::fnmatch(pattern.c_str(), value.c_str(), 0) == 0;
}

// docker's reference filter: a pattern with neither tag nor digest names a
// repository, and matches every tag of it.
bool NamesRepository(const std::string& pattern) {
  size_t slash = pattern.rfind('/');
  return pattern.find('@') == std::string::npos &&
         pattern.find(':', slash == std::string::npos ? 0 : slash) == std::string::npos;
}

bool MatchesOne(const Filter& f, const ListRow& row) {
  if (!f.label.empty()) {
    auto it = row.labels.find(f.label);
    return it != row.labels.end() && Glob(f.pattern, it->second);
  }
  auto it = row.fields.find(f.field);
  std::string value = it == row.fields.end() ? "" : it->second;
  // A name matches in its full form or as docker shows it.
  auto shown = row.short_fields.find(f.field);
  if (Glob(f.pattern, value) ||
      (shown != row.short_fields.end() && Glob(f.pattern, shown->second))) {
    return true;
  }
  auto repo = row.fields.find("Repository");
  if (f.field != "Name" || repo == row.fields.end() || !NamesRepository(f.pattern)) return false;
  return Glob(f.pattern, repo->second) || Glob(f.pattern, FamiliarName(repo->second));
}

// Filters on the same key are alternatives; different keys must all match.
bool Matches(const std::vector<Filter>& filters, const ListRow& row) {
  std::map<std::string, bool> by_key;
  for (const Filter& f : filters) {
    std::string key = f.label.empty() ? f.field : "label:" + f.label;
    by_key[key] = by_key[key] || MatchesOne(f, row);
  }
  for (const auto& [key, ok] : by_key) {
    if (!ok) return false;
  }
  return true;
}

std::string Shown(const ListRow& row, const std::string& field, bool no_trunc) {
  if (!no_trunc) {
    auto s = row.short_fields.find(field);
    if (s != row.short_fields.end()) return s->second;
  }
  auto it = row.fields.find(field);
  return it == row.fields.end() ? "" : it->second;
}

// A --format template: literal text and {{.Field}} references, with \t and
// \n escapes; a leading "table " prints a header row of the field names.
struct Template {
  bool table = false;
  std::vector<std::pair<bool, std::string>> parts;  // (is field, text or field name)
};

std::string ParseTemplate(const std::string& text, const std::map<std::string, std::string>& fields,
                          Template* t) {
  absl::string_view rest = text;
  t->table = absl::ConsumePrefix(&rest, "table ");
  std::string unescaped = absl::StrReplaceAll(rest, {{"\\t", "\t"}, {"\\n", "\n"}});
  rest = unescaped;
  while (!rest.empty()) {
    size_t open = rest.find("{{");
    if (open != 0) {
      t->parts.push_back({false, std::string(rest.substr(0, open))});
      if (open == absl::string_view::npos) break;
      rest.remove_prefix(open);
    }
    size_t close = rest.find("}}");
    if (close == absl::string_view::npos) return "--format: \"{{\" without \"}}\"";
    absl::string_view ref = absl::StripAsciiWhitespace(rest.substr(2, close - 2));
    rest.remove_prefix(close + 2);
    if (!absl::ConsumePrefix(&ref, ".")) {
      return absl::StrCat("--format: {{", ref, "}}: write fields as {{.Name}}");
    }
    auto it = fields.find(absl::AsciiStrToLower(ref));
    if (it == fields.end()) {
      std::vector<std::string> known;
      for (const auto& [lower, name] : fields) known.push_back("." + name);
      return absl::StrCat("--format: no field .", ref, " (one of ", absl::StrJoin(known, ", "),
                          ")");
    }
    t->parts.push_back({true, it->second});
  }
  return "";
}

void PrintTemplated(const Template& t, const std::vector<const ListRow*>& rows, bool no_trunc) {
  if (t.table) {
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> header;
    for (const auto& [is_field, text] : t.parts) {
      if (is_field) header.push_back(absl::AsciiStrToUpper(text));
    }
    for (const ListRow* r : rows) {
      std::vector<std::string> line;
      for (const auto& [is_field, text] : t.parts) {
        if (is_field) line.push_back(Shown(*r, text, no_trunc));
      }
      cells.push_back(line);
    }
    PrintTable(header, cells);
    return;
  }
  for (const ListRow* r : rows) {
    std::string line;
    for (const auto& [is_field, text] : t.parts) {
      line += is_field ? Shown(*r, text, /*no_trunc=*/true) : text;
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int PrintListing(const ListSpec& spec, const ListOptions& options, bool json,
                 const std::vector<ListRow>& rows) {
  std::map<std::string, std::string> fields = FieldsByLowerName(rows, spec);
  std::vector<Filter> filters;
  std::string bad = ParseFilters(spec, fields, options.filters, &filters);
  Template t;
  if (bad.empty() && !options.format.empty()) bad = ParseTemplate(options.format, fields, &t);
  if (!bad.empty()) return UsageError(bad, json);
  std::vector<const ListRow*> kept;
  for (const ListRow& r : rows) {
    if (Matches(filters, r)) kept.push_back(&r);
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ListRow* r : kept) out.push_back(r->json);
    std::printf("%s\n", out.dump(2).c_str());
  } else if (options.quiet) {
    for (const ListRow* r : kept) std::printf("%s\n", Shown(*r, spec.quiet_field, true).c_str());
  } else if (!options.format.empty()) {
    PrintTemplated(t, kept, options.no_trunc);
  } else {
    std::vector<std::string> header;
    for (const ListColumn& c : spec.columns) header.push_back(c.header);
    std::vector<std::vector<std::string>> cells;
    for (const ListRow* r : kept) {
      std::vector<std::string> line;
      for (const ListColumn& c : spec.columns) line.push_back(Shown(*r, c.field, options.no_trunc));
      cells.push_back(line);
    }
    PrintTable(header, cells);
  }
  return 0;
}

std::string FamiliarName(const std::string& name) {
  absl::string_view n = name;
  if (absl::ConsumePrefix(&n, "docker.io/")) absl::ConsumePrefix(&n, "library/");
  return std::string(n);
}

}  // namespace strata::cli
