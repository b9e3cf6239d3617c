#include "tests/stratad_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "tests/test_util.h"

namespace strata::testing {

std::string StratadPath() { return BinaryDir() + "/daemon/stratad"; }

std::string StrataCliPath() { return BinaryDir() + "/cli/strata"; }

RunResult RunStrataCli(const std::string& socket, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {StrataCliPath(), "--socket", socket};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
}

absl::StatusOr<std::unique_ptr<StratadProcess>> StratadProcess::Start(
    const std::string& root, const std::string& socket, const std::vector<std::string>& extra) {
  auto p = std::unique_ptr<StratadProcess>(new StratadProcess());
  p->socket_ = socket;
  p->log_ = root + ".log";
  std::vector<std::string> args = {StratadPath(), "--root", root, "--socket", socket};
  args.insert(args.end(), extra.begin(), extra.end());
  p->pid_ = Spawn(args, p->log_);
  if (p->pid_ < 0) return absl::InternalError("fork stratad");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(p->pid_, &status, WNOHANG) == p->pid_) {
      p->pid_ = -1;
      absl::StatusOr<std::string> log = ReadFile(p->log_);
      return absl::InternalError(absl::StrCat("stratad exited: ", log.value_or("")));
    }
    if (PathExists(socket)) {
      // Not a connection still cached from a daemon that was just killed.
      std::shared_ptr<grpc::Channel> channel = NewChannel(socket);
      if (channel->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::milliseconds(200))) {
        p->channel_ = channel;
        return p;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("stratad did not come up");
}

int StratadProcess::Stop(int sig) {
  if (pid_ < 0) return -1;
  ::kill(pid_, sig);
  int code = WaitExit(pid_);
  pid_ = -1;
  return code;
}

StratadProcess::~StratadProcess() {
  if (pid_ > 0) Stop(SIGKILL);
}

RunResult RunStratad(const std::vector<std::string>& args) {
  std::vector<std::string> full = {StratadPath()};
  full.insert(full.end(), args.begin(), args.end());
  return RunCommand(full);
}

}  // namespace strata::testing
