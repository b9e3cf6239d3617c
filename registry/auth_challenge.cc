#include "registry/auth_challenge.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace strata::registry {
namespace {

// RFC 7230 tchar: what a scheme, a parameter name or an unquoted value is made of.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~/=:").find(c) != absl::string_view::npos;
}

class Reader {
 public:
  explicit Reader(absl::string_view s) : s_(s) {}

  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool AtEnd() const { return i_ >= s_.size(); }
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void Skip() { ++i_; }
  size_t pos() const { return i_; }
  void Rewind(size_t pos) { i_ = pos; }

  // A token; '=' ends a parameter name, so names stop before it.
  std::string Token(bool stop_at_equals) {
    size_t start = i_;
    while (i_ < s_.size() && IsTokenChar(s_[i_]) && !(stop_at_equals && s_[i_] == '=')) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  // A quoted string (the opening quote is next), backslash escapes undone.
  absl::StatusOr<std::string> Quoted() {
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (i_ >= s_.size()) return absl::InvalidArgumentError("unterminated quoted string");
    ++i_;
    return out;
  }

 private:
  absl::string_view s_;
  size_t i_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<AuthChallenge>> ParseAuthChallenges(absl::string_view header) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("WWW-Authenticate \"", header.substr(0, 200), "\": ", why));
  };
  std::vector<AuthChallenge> out;
  Reader r(header);
  while (true) {
    r.SkipSpace();
    while (r.Peek(',')) {  // empty list elements are allowed
      r.Skip();
      r.SkipSpace();
    }
    if (r.AtEnd()) break;
    AuthChallenge c;
    c.scheme = absl::AsciiStrToLower(r.Token(/*stop_at_equals=*/true));
    if (c.scheme.empty()) return bad("expected an auth scheme");
    // Parameters until one turns out to be the next challenge's scheme.
    while (true) {
      r.SkipSpace();
      size_t start = r.pos();
      std::string name = absl::AsciiStrToLower(r.Token(/*stop_at_equals=*/true));
      r.SkipSpace();
      if (name.empty() || !r.Peek('=')) {
        r.Rewind(start);  // a new challenge (or the end)
        break;
      }
      r.Skip();
      r.SkipSpace();
      std::string value;
      if (r.Peek('"')) {
        absl::StatusOr<std::string> q = r.Quoted();
        if (!q.ok()) return bad(q.status().message());
        value = *std::move(q);
      } else {
        value = r.Token(/*stop_at_equals=*/false);
      }
      c.params[name] = value;
      r.SkipSpace();
      if (!r.Peek(',')) break;
      r.Skip();
    }
    out.push_back(std::move(c));
    r.SkipSpace();
    if (!r.AtEnd() && !IsTokenChar(header[r.pos()]) && !r.Peek(',')) {
      return bad("unexpected character");
    }
  }
  if (out.empty()) return bad("no challenge");
  return out;
}

}  // namespace strata::registry
