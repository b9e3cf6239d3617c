// containerd's filter language, used by List:
//
//   filter    := selectors ("|" selectors)*      ("|" is strata's: an OR inside one string)
//   selectors := selector ("," selector)*        (all must match)
//   selector  := fieldpath [operator value]      (no operator: the field is present)
//   fieldpath := field ("." field)*
//   field     := quoted | [A-Za-z_][A-Za-z0-9_]*
//   operator  := "==" | "!=" | "~="              ("~=": RE2 (Go) regexp, found anywhere)
//   value     := quoted | [^\s,|]+               (after "~=" also /regexp/ or |regexp|)
//   quoted    := "..." with Go escapes, or `...`
//
// Several filter strings are OR-ed; no filter matches everything. Immutable
// once parsed and safe to share across threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "snapshotter/types.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace strata::snapshotter {

class Filter {
 public:
  // Returns the value at `fieldpath` if the object has that field.
  using Lookup = std::function<std::optional<std::string>(const std::vector<std::string>&)>;

  // InvalidArgument naming the position for a syntax error or a bad regexp.
  static absl::StatusOr<Filter> ParseAll(const std::vector<std::string>& filters);

  bool Match(const Lookup& lookup) const;
  // Match against a snapshot: fields name, parent, kind and labels.<key>.
  bool Match(const Info& info) const;

 private:
  enum class Op { kPresent, kEqual, kNotEqual, kMatches };
  struct Selector {
    std::vector<std::string> fieldpath;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<const re2::RE2> re;
  };
  using Conjunction = std::vector<Selector>;
  friend class FilterParser;

  std::vector<Conjunction> any_;  // empty: match all
  bool match_all_ = true;
};

}  // namespace strata::snapshotter
