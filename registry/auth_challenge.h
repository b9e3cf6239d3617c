// The challenges in a registry's WWW-Authenticate header (RFC 7235):
// `Bearer realm="https://auth.example/token",service="registry",scope="..."`
// or `Basic realm="..."`. The distribution token flow reads realm, service
// and scope from the Bearer challenge.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::registry {

struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower case, values unquoted
};

// Every challenge in `header`, in order. InvalidArgument if it cannot be read.
absl::StatusOr<std::vector<AuthChallenge>> ParseAuthChallenges(absl::string_view header);

}  // namespace strata::registry
