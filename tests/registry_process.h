// A real registry for tests: Debian's docker-registry (distribution 2.8) on
// 127.0.0.1 at a free port, storing under a temp directory, plain HTTP.
// Images go in with skopeo, as users push them.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace strata::testing {

class RegistryProcess {
 public:
  // Starts the registry with its data under `dir` and waits until it answers.
  static absl::StatusOr<std::unique_ptr<RegistryProcess>> Start(const std::string& dir);
  ~RegistryProcess();  // SIGKILL

  // "127.0.0.1:<port>"
  const std::string& host() const { return host_; }
  const std::string& log_path() const { return log_; }

  // Copies an OCI archive into the registry as `repo_tag` ("library/busybox:latest").
  absl::Status PushOciArchive(const std::string& archive, const std::string& repo_tag) const;

 private:
  pid_t pid_ = -1;
  std::string host_;
  std::string log_;
};

}  // namespace strata::testing
