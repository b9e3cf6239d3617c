// Deep chains: reading a file found only in the lowest layer through a view
// at depth 1, 100, 500 and 1,000, on stratad (past 500 it flattens the
// lowest part of the chain into one merged directory) and, side by side,
// containerd's overlayfs snapshotter over the same chain built the same way
// (its views past 500 layers cannot be mounted).
//
// Per depth: the mount's time, a cold read (page cache dropped: every layer
// directory is looked up from disk) and a warm stat, medians.
//
//   chain_bench [--depth N] [--dir DIR]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/containerd_process.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using testing::SnapshotsClient;

const SnapshotsClient::Labels kRoot = {{"containerd.io/gc.root", "bench"}};

// Layer i holds f-<i>; returns false (printing why) if a call fails.
bool BuildChain(SnapshotsClient& client, int depth) {
  std::string parent;
  for (int i = 0; i < depth; ++i) {
    std::string work = absl::StrCat("work-", i);
    auto mounts = client.Prepare(work, parent, kRoot);
    if (!mounts.ok()) {
      std::printf("  prepare at depth %d: %s\n", i, mounts.status().ToString().c_str());
      return false;
    }
    std::string upper = testing::UpperDirOf(*mounts);
    int fd = ::open(absl::StrCat(upper, "/f-", i).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!::write(fd, "data", 4);
      ::close(fd);
    }
    std::string name = absl::StrCat("layer-", i);
    if (!client.Commit(name, work, kRoot).ok()) return false;
    parent = name;
  }
  return true;
}

void Measure(SnapshotsClient& client, const std::string& who, int depth, const std::string& dir) {
  std::string key = absl::StrCat("view-", depth);
  auto t0 = Clock::now();
  auto mounts = client.View(key, absl::StrCat("layer-", depth - 1), kRoot);
  std::string m = absl::StrCat(dir, "/", who, "-", depth);
  MakeDirs(m).IgnoreError();
  absl::Status mounted = mounts.ok() ? MountAll(*mounts, m) : mounts.status();
  double mount_ms = Seconds(t0) * 1e3;
  if (!mounted.ok()) {
    std::printf("%-22s depth %5d  cannot mount: %s\n", who.c_str(), depth,
                std::string(mounted.message()).substr(0, 100).c_str());
    client.Remove(key).IgnoreError();
    return;
  }
  std::vector<double> cold, warm;
  std::string file = m + "/f-0";
  for (int i = 0; i < 5; ++i) {
    DropCaches();
    auto c0 = Clock::now();
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    char buf[8];
    if (fd >= 0) {
      (void)!::read(fd, buf, sizeof(buf));
      ::close(fd);
    }
    cold.push_back(Seconds(c0) * 1e3);
    auto w0 = Clock::now();
    struct stat st;
    for (int k = 0; k < 1000; ++k) ::stat(file.c_str(), &st);
    warm.push_back(Seconds(w0) * 1e6 / 1000);
  }
  bool found = ::access(file.c_str(), F_OK) == 0;
  std::printf("%-22s depth %5d  view+mount %8.1f ms  cold read %7.2f ms  warm stat %6.2f us%s\n",
              who.c_str(), depth, mount_ms, Percentile(cold, 0.5), Percentile(warm, 0.5),
              found ? "" : "  (FILE MISSING)");
  Unmount(m).IgnoreError();
  client.Remove(key).IgnoreError();
}

int Main(int argc, char** argv) {
  int max_depth = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--depth")) max_depth = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) ::setenv("TMPDIR", argv[i + 1], 1);
  }
  testing::TempDir t;
  auto stratad = testing::StratadProcess::Start(t.Sub("strata"), t.Sub("strata.sock"));
  auto containerd = testing::ContainerdProcess::Start(t.Sub("ctrd"), "");
  if (!stratad.ok() || !containerd.ok()) {
    std::fprintf(stderr, "start: %s %s\n", stratad.status().ToString().c_str(),
                 containerd.status().ToString().c_str());
    return 1;
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto ctrd_channel = grpc::CreateCustomChannel("unix:" + (*containerd)->socket(),
                                                grpc::InsecureChannelCredentials(), args);
  SnapshotsClient strata((*stratad)->channel());
  SnapshotsClient ctrd(ctrd_channel, "overlayfs", "bench");
  std::printf("chain of %d layers, f-0 only in the lowest; store under %s\n", max_depth,
              t.path().c_str());
  auto b0 = Clock::now();
  if (!BuildChain(strata, max_depth)) return 1;
  std::printf("built on stratad in %.1f s\n", Seconds(b0));
  b0 = Clock::now();
  if (!BuildChain(ctrd, max_depth)) return 1;
  std::printf("built on containerd overlayfs in %.1f s\n\n", Seconds(b0));
  std::string mnt = t.Sub("mnt");
  for (int depth : {1, 100, 500, 501, max_depth}) {
    if (depth > max_depth) continue;
    Measure(strata, "stratad", depth, mnt);
    Measure(ctrd, "containerd overlayfs", depth, mnt);
  }
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
