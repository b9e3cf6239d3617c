// Runs a real stratad binary for integration tests: its own root and socket
// under a temp directory, a gRPC channel to it, and SIGTERM/SIGKILL control.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/subprocess.h"

namespace strata::testing {

class StratadProcess {
 public:
  // Starts stratad and waits until it answers on its socket (up to 20 s).
  static absl::StatusOr<std::unique_ptr<StratadProcess>> Start(
      const std::string& root, const std::string& socket,
      const std::vector<std::string>& extra_args = {});
  ~StratadProcess();  // SIGKILL if still running

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  // Path of the file holding the daemon's stdout and stderr.
  const std::string& log_path() const { return log_; }

  // Sends `sig` and waits for exit; returns the exit code, or 128+signal.
  int Stop(int sig);

 private:
  pid_t pid_ = -1;
  std::string socket_;
  std::string log_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Runs stratad to completion (for start-up failures); returns exit code and output.
RunResult RunStratad(const std::vector<std::string>& args);

std::string StratadPath();
std::string StrataCliPath();

// A new connection to the daemon at `socket`, with its own subchannel pool:
// gRPC would otherwise share (or reuse a stale) one between channels.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& socket);

// Runs the strata CLI against the daemon at `socket`.
RunResult RunStrataCli(const std::string& socket, const std::vector<std::string>& args);

}  // namespace strata::testing
