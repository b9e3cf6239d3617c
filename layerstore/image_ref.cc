#include "layerstore/image_ref.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "layerstore/digest.h"
#include "layerstore/reference.h"

namespace strata::layerstore {
namespace {

constexpr absl::string_view kDockerHub = "docker.io";

bool LooksLikeRegistry(absl::string_view first) {
  return first.find_first_of(".:[") != absl::string_view::npos || first == "localhost";
}

}  // namespace

std::string ImageRef::Name() const { return absl::StrCat(domain, "/", repository); }

std::string ImageRef::String() const {
  std::string out = Name();
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

std::string ImageRef::Object() const { return digest.empty() ? tag : digest; }

absl::StatusOr<ImageRef> ParseImageRef(absl::string_view ref) {
  if (ref.empty()) return absl::InvalidArgumentError("image reference must not be empty");
  ImageRef out;
  absl::string_view rest = ref;
  if (size_t at = rest.find('@'); at != absl::string_view::npos) {
    out.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    absl::Status digest = Digest::Parse(out.digest).status();
    if (!digest.ok()) return Annotate(digest, absl::StrCat("image reference \"", ref, "\""));
  }
  // A tag follows the last ':' after the last '/' (an earlier ':' is a port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    out.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (out.tag.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("image reference \"", ref, "\": empty tag"));
    }
  }
  size_t first_slash = rest.find('/');
  if (first_slash != absl::string_view::npos && LooksLikeRegistry(rest.substr(0, first_slash))) {
    out.domain = std::string(rest.substr(0, first_slash));
    out.repository = std::string(rest.substr(first_slash + 1));
  } else {
    out.domain = std::string(kDockerHub);
    out.repository = std::string(rest);
  }
  if (out.domain == "index.docker.io") out.domain = std::string(kDockerHub);
  if (out.domain == kDockerHub && !absl::StrContains(out.repository, '/')) {
    out.repository = absl::StrCat("library/", out.repository);
  }
  if (out.tag.empty() && out.digest.empty()) out.tag = "latest";
  if (absl::AsciiStrToLower(out.repository) != out.repository) {
    return absl::InvalidArgumentError(
        absl::StrCat("image reference \"", ref, "\": the repository must be lower case"));
  }
  STRATA_RETURN_IF_ERROR(ValidateImageName(out.String()));
  return out;
}

}  // namespace strata::layerstore
