// References as Docker users write them, made explicit: "debian" is
// docker.io/library/debian:latest, "host:5000/a/b@sha256:..." names a
// registry, a repository and a digest. The rules are distribution's
// normalisation: a first component is a registry only if it has a '.' or a
// ':' or is "localhost"; docker.io's one-component repositories are under
// "library/"; "index.docker.io" is docker.io; no tag and no digest means
// ":latest". The grammar itself is layerstore's (reference.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::layerstore {

struct ImageRef {
  std::string domain;      // "docker.io", "localhost:5000", "[::1]:5000"
  std::string repository;  // "library/debian"
  std::string tag;         // empty only when a digest is given without one
  std::string digest;      // "sha256:<hex>" or empty

  // domain/repository
  std::string Name() const;
  // domain/repository[:tag][@digest]: the normalised reference.
  std::string String() const;
  // What the manifests endpoint takes: the digest if there is one, else the tag.
  std::string Object() const;
};

// InvalidArgument, saying why, for anything that is not a reference.
absl::StatusOr<ImageRef> ParseImageRef(absl::string_view ref);

}  // namespace strata::layerstore
