#include "tests/containerd_process.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/mount.h"

namespace strata::testing {

absl::StatusOr<std::unique_ptr<ContainerdProcess>> ContainerdProcess::Start(
    const std::string& dir, const std::string& strata_socket, const Options& options) {
  auto p = std::unique_ptr<ContainerdProcess>(new ContainerdProcess());
  p->dir_ = dir;
  p->socket_ = dir + "/containerd.sock";
  absl::Status s = MakeDirs(dir);
  if (!s.ok()) return s;
  // Top-level keys first: in TOML everything after a [table] belongs to it.
  std::string config = absl::StrCat(
      "version = 2\n", "root = \"", dir, "/root\"\n", "state = \"", dir, "/state\"\n",
      options.cri ? "" : "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n",
      "[grpc]\n  address = \"", p->socket_, "\"\n", "[ttrpc]\n  address = \"", p->socket_,
      ".ttrpc\"\n", "[debug]\n  address = \"", dir, "/debug.sock\"\n  level = \"info\"\n",
      // Collect after every deletion, unthrottled. By default containerd
      // waits until a collection has cost at most 2% of the time since the
      // last, so one slow collection on a loaded machine (CI runs tests in
      // parallel) delays the next by tens of seconds.
      "[plugins.\"io.containerd.gc.v1.scheduler\"]\n  deletion_threshold = 1\n",
      "  pause_threshold = 0.5\n");
  if (!strata_socket.empty()) {
    absl::StrAppend(&config, "[proxy_plugins.strata]\n  type = \"snapshot\"\n  address = \"",
                    strata_socket, "\"\n");
  }
  if (options.cri) {
    absl::StrAppend(
        &config, "[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_apparmor = true\n",
        "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"strata\"\n",
        // The cri.* labels on each layer's extraction snapshot, which let
        // strata fetch the layer itself (registry/cri_layers.h).
        "  disable_snapshot_annotations = false\n",
        "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \"", dir,
        "/cni-bin\"\n  conf_dir = \"", dir, "/cni-conf\"\n");
    if (!options.insecure_registry.empty()) {
      absl::StrAppend(&config, "[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"",
                      options.insecure_registry, "\"]\n  endpoint = [\"http://",
                      options.insecure_registry, "\"]\n");
    }
  }
  s = WriteFileDurably(dir + "/config.toml", config);
  if (!s.ok()) return s;
  p->pid_ = Spawn({"containerd", "--config", dir + "/config.toml"}, dir + "/containerd.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (p->Ctr({"version"}).exit_code == 0) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("containerd did not come up: ", ReadFile(dir + "/containerd.log").value_or("")));
}

RunResult ContainerdProcess::Ctr(const std::vector<std::string>& args,
                                 const std::string& ns) const {
  std::vector<std::string> argv = {"ctr", "--address", socket_, "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

ContainerdProcess::~ContainerdProcess() {
  if (pid_ <= 0) return;
  std::vector<std::string> namespaces =
      absl::StrSplit(Ctr({"namespaces", "ls", "-q"}).output, '\n', absl::SkipEmpty());
  for (const std::string& ns : namespaces) {
    std::vector<std::string> tasks =
        absl::StrSplit(Ctr({"tasks", "ls", "-q"}, ns).output, '\n', absl::SkipEmpty());
    for (const std::string& task : tasks) {
      if (!task.empty()) Ctr({"tasks", "kill", "-s", "KILL", task}, ns);
    }
  }
  ::kill(pid_, SIGTERM);
  WaitExit(pid_);
  for (const std::string& m : MountPointsUnder(dir_)) ::umount2(m.c_str(), MNT_DETACH);
}

}  // namespace strata::testing
