// A private containerd (Debian's package) for end-to-end tests: its own root,
// state, sockets and config under a temp directory, with strata configured as
// the proxy snapshotter "strata". Never touches /run/containerd's daemon.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/subprocess.h"

namespace strata::testing {

class ContainerdProcess {
 public:
  struct Options {
    // Enable the CRI plugin with strata as its snapshotter (its image pulls
    // offer snapshotters the remote-snapshotter label). Default: off.
    bool cri = false;
    // A plain-HTTP registry ("127.0.0.1:port") for CRI pulls. Default: none.
    std::string insecure_registry;
  };

  // `dir` holds everything; `strata_socket` is the proxy plugin's address
  // (empty: no proxy plugin, containerd's own snapshotters only).
  static absl::StatusOr<std::unique_ptr<ContainerdProcess>> Start(const std::string& dir,
                                                                  const std::string& strata_socket,
                                                                  const Options& options);
  static absl::StatusOr<std::unique_ptr<ContainerdProcess>> Start(
      const std::string& dir, const std::string& strata_socket) {
    return Start(dir, strata_socket, Options());
  }
  ~ContainerdProcess();  // kills tasks, then containerd

  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }
  // Runs `ctr --address <socket> -n <ns> args...`.
  RunResult Ctr(const std::vector<std::string>& args, const std::string& ns = "strata-test") const;

 private:
  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

}  // namespace strata::testing
