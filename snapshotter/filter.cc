#include "snapshotter/filter.h"

#include <re2/re2.h>

#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_util.h"

namespace strata::snapshotter {

// Recursive-descent parser over one filter string.
class FilterParser {
 public:
  explicit FilterParser(const std::string& input) : in_(input) {}

  absl::StatusOr<std::vector<Filter::Conjunction>> Parse() {
    std::vector<Filter::Conjunction> alternatives;
    while (true) {
      STRATA_ASSIGN_OR_RETURN(Filter::Conjunction conj, Selectors());
      alternatives.push_back(std::move(conj));
      SkipSpace();
      if (AtEnd()) return alternatives;
      if (Peek() != '|') return Error("expected \",\", \"|\" or the end");
      ++pos_;
    }
  }

 private:
  bool AtEnd() const { return pos_ >= in_.size(); }
  char Peek() const { return AtEnd() ? '\0' : in_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && std::isspace(static_cast<unsigned char>(in_[pos_]))) ++pos_;
  }
  absl::Status Error(absl::string_view msg) const {
    return absl::InvalidArgumentError(
        absl::StrCat("filter \"", in_, "\" at offset ", pos_, ": ", msg));
  }

  absl::StatusOr<Filter::Conjunction> Selectors() {
    Filter::Conjunction conj;
    while (true) {
      STRATA_ASSIGN_OR_RETURN(Filter::Selector sel, ParseSelector());
      conj.push_back(std::move(sel));
      SkipSpace();
      if (Peek() != ',') return conj;
      ++pos_;
    }
  }

  absl::StatusOr<Filter::Selector> ParseSelector() {
    Filter::Selector sel;
    while (true) {
      STRATA_ASSIGN_OR_RETURN(std::string field, Field());
      sel.fieldpath.push_back(std::move(field));
      SkipSpace();
      if (Peek() != '.') break;
      ++pos_;
    }
    SkipSpace();
    if (AtEnd() || Peek() == ',' || Peek() == '|') return sel;
    std::string op = in_.substr(pos_, 2);
    if (op == "==") {
      sel.op = Filter::Op::kEqual;
    } else if (op == "!=") {
      sel.op = Filter::Op::kNotEqual;
    } else if (op == "~=") {
      sel.op = Filter::Op::kMatches;
    } else {
      return Error("expected an operator (\"==\", \"!=\" or \"~=\")");
    }
    pos_ += 2;
    SkipSpace();
    STRATA_ASSIGN_OR_RETURN(sel.value, Value(sel.op == Filter::Op::kMatches));
    if (sel.op == Filter::Op::kMatches) {
      // RE2 is Go's regexp syntax, which containerd's "~=" uses, and it
      // matches in linear time without recursion: a client's pattern cannot
      // hang or overflow the daemon's stack (std::regex could, and had
      // undefined behaviour on a long back-reference; found by fuzzing).
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(1 << 20);
      auto re = std::make_shared<const RE2>(sel.value, options);
      if (!re->ok()) {
        return Error(absl::StrCat("bad regular expression \"", sel.value, "\": ", re->error()));
      }
      sel.re = std::move(re);
    }
    return sel;
  }

  absl::StatusOr<std::string> Field() {
    SkipSpace();
    if (Peek() == '"' || Peek() == '`') return Quoted(Peek());
    size_t start = pos_;
    if (AtEnd() || !(std::isalpha(static_cast<unsigned char>(Peek())) || Peek() == '_')) {
      return Error("expected a field name or a quoted field");
    }
    while (!AtEnd() && (std::isalnum(static_cast<unsigned char>(Peek())) || Peek() == '_')) ++pos_;
    return in_.substr(start, pos_ - start);
  }

  absl::StatusOr<std::string> Value(bool regexp) {
    char c = Peek();
    if (c == '"' || c == '`') return Quoted(c);
    if (regexp && (c == '/' || c == '|')) return Delimited(c);
    size_t start = pos_;
    while (!AtEnd() && !std::isspace(static_cast<unsigned char>(Peek())) && Peek() != ',' &&
           Peek() != '|') {
      ++pos_;
    }
    if (pos_ == start) return Error("expected a value");
    return in_.substr(start, pos_ - start);
  }

  absl::StatusOr<std::string> Delimited(char delim) {
    size_t start = ++pos_;
    while (!AtEnd() && Peek() != delim) ++pos_;
    if (AtEnd()) return Error("unterminated regular expression");
    return in_.substr(start, pos_++ - start);
  }

  // Go string literal: "..." with escapes, or `...` raw.
  absl::StatusOr<std::string> Quoted(char quote) {
    ++pos_;
    std::string out;
    while (!AtEnd() && Peek() != quote) {
      char c = in_[pos_++];
      if (quote == '`' || c != '\\') {
        out.push_back(c);
        continue;
      }
      if (AtEnd()) break;
      STRATA_RETURN_IF_ERROR(Escape(in_[pos_++], out));
    }
    if (AtEnd()) return Error("unterminated quoted string");
    ++pos_;
    return out;
  }

  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  absl::Status Escape(char e, std::string& out) {
    switch (e) {
      case 'n':
        out.push_back('\n');
        return absl::OkStatus();
      case 't':
        out.push_back('\t');
        return absl::OkStatus();
      case 'r':
        out.push_back('\r');
        return absl::OkStatus();
      case '\\':
      case '"':
      case '\'':
        out.push_back(e);
        return absl::OkStatus();
      case 'x': {
        // Exactly two hex digits, as in Go; anything else is the client's
        // error (std::stoi threw on it and took the daemon down; found by
        // fuzzing).
        int value = 0;
        for (int i = 0; i < 2; ++i) {
          int digit = pos_ < in_.size() ? HexDigit(in_[pos_]) : -1;
          if (digit < 0) return Error("\\x escape needs two hex digits");
          value = value * 16 + digit;
          ++pos_;
        }
        out.push_back(static_cast<char>(value));
        return absl::OkStatus();
      }
      default:
        return Error(absl::StrCat("unknown escape \\", std::string(1, e)));
    }
  }

  const std::string& in_;
  size_t pos_ = 0;
};

absl::StatusOr<Filter> Filter::ParseAll(const std::vector<std::string>& filters) {
  Filter f;
  for (const std::string& s : filters) {
    if (s.empty()) {
      // containerd: an empty filter string matches everything.
      f.any_.clear();
      f.match_all_ = true;
      return f;
    }
    STRATA_ASSIGN_OR_RETURN(std::vector<Conjunction> alts, FilterParser(s).Parse());
    for (auto& c : alts) f.any_.push_back(std::move(c));
    f.match_all_ = false;
  }
  return f;
}

bool Filter::Match(const Lookup& lookup) const {
  if (match_all_) return true;
  for (const Conjunction& conj : any_) {
    bool all = true;
    for (const Selector& sel : conj) {
      std::optional<std::string> value = lookup(sel.fieldpath);
      bool ok = false;
      switch (sel.op) {
        case Op::kPresent:
          ok = value.has_value();
          break;
        case Op::kEqual:
          ok = value.has_value() && *value == sel.value;
          break;
        case Op::kNotEqual:
          ok = value.value_or("") != sel.value;
          break;
        case Op::kMatches:
          ok = RE2::PartialMatch(value.value_or(""), *sel.re);
          break;
      }
      if (!ok) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

bool Filter::Match(const Info& info) const {
  return Match([&info](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    const std::string& head = path[0];
    if (path.size() == 1) {
      if (head == "name") return info.name;
      if (head == "parent") return info.parent;
      if (head == "kind") return std::string(KindName(info.kind));
      return std::nullopt;
    }
    if (head != "labels") return std::nullopt;
    std::vector<std::string> rest(path.begin() + 1, path.end());
    auto it = info.labels.find(absl::StrJoin(rest, "."));
    if (it == info.labels.end()) return std::nullopt;
    return it->second;
  });
}

}  // namespace strata::snapshotter
