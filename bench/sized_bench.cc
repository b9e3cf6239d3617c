// Sized writable layers against unsized ones, on one stratad over gRPC:
//   - Prepare -> Remove cycles, one client: ops/s and p50/p99 latency of the
//     cycle and of Prepare alone, unsized against 10 GiB dynamic and fixed
//     ext4-loop layers (the goal: Prepare p50 under 50 ms);
//   - Usage of a layer holding 100,000 files: answered by statfs (sized)
//     against a walk of the tree (unsized, as containerd's overlayfs
//     snapshotter does).
//
//   sized_bench [--cycles N] [--dir DIR] [--files N]
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using testing::SnapshotsClient;

constexpr int64_t kTenGiB = int64_t{10} << 30;

struct Variant {
  const char* name;
  SnapshotsClient::Labels labels;
};

void RunCycles(SnapshotsClient& client, const Variant& v, int cycles) {
  std::vector<double> cycle_ms, prepare_ms;
  int errors = 0;
  auto t0 = Clock::now();
  for (int i = 0; i < cycles; ++i) {
    std::string key = absl::StrCat(v.name, "-", i);
    auto c0 = Clock::now();
    absl::Status prepared = client.Prepare(key, "", v.labels).status();
    bool ok = prepared.ok();
    prepare_ms.push_back(Seconds(c0) * 1e3);
    if (!ok && errors == 0) std::printf("first error: %s\n", prepared.ToString().c_str());
    ok = ok && client.Remove(key).ok();
    cycle_ms.push_back(Seconds(c0) * 1e3);
    if (!ok) ++errors;
  }
  double secs = Seconds(t0);
  std::printf(
      "%-26s %8.1f cycles/s  cycle p50 %7.2f ms p99 %7.2f ms  prepare p50 %7.2f ms p99 %7.2f "
      "ms%s\n",
      v.name, cycles / secs, Percentile(cycle_ms, 0.5), Percentile(cycle_ms, 0.99),
      Percentile(prepare_ms, 0.5), Percentile(prepare_ms, 0.99),
      errors ? absl::StrCat("  ERRORS ", errors).c_str() : "");
}

void WriteFiles(const std::string& dir, int files) {
  for (int d = 0; d * 1000 < files; ++d) {
    std::string sub = absl::StrCat(dir, "/d", d);
    MakeDirs(sub).IgnoreError();
    for (int f = d * 1000; f < std::min(files, (d + 1) * 1000); ++f) {
      int fd = ::open(absl::StrCat(sub, "/f", f).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) {
        (void)!::write(fd, "x", 1);
        ::close(fd);
      }
    }
  }
}

void TimeUsage(SnapshotsClient& client, const std::string& key, const char* what) {
  std::vector<double> ms;
  int64_t inodes = 0;
  for (int i = 0; i < 5; ++i) {
    auto t0 = Clock::now();
    auto usage = client.Usage(key);
    ms.push_back(Seconds(t0) * 1e3);
    if (usage.ok()) inodes = usage->inodes();
  }
  std::printf("usage, %-28s median %9.3f ms  (%lld inodes)\n", what, Percentile(ms, 0.5),
              static_cast<long long>(inodes));
}

// The same on a store whose root is on btrfs (a loop file made here):
// subvolumes with qgroup limits.
int RunOnBtrfs(testing::TempDir& t, int cycles, int files) {
  std::string image = t.Sub("btrfs.img"), fs = t.Sub("btrfs");
  MakeDirs(fs).IgnoreError();
  if (testing::RunCommand({"truncate", "-s", "8G", image}).exit_code != 0 ||
      testing::RunCommand({"mkfs.btrfs", "-q", image}).exit_code != 0 ||
      testing::RunCommand({"mount", "-o", "loop", image, fs}).exit_code != 0) {
    std::printf("\nbtrfs: cannot make a btrfs filesystem here (btrfs-progs?)\n");
    return 0;
  }
  {
    auto daemon = testing::StratadProcess::Start(fs + "/root", t.Sub("b.sock"));
    if (!daemon.ok()) return 1;
    SnapshotsClient client((*daemon)->channel());
    const std::string size = std::to_string(kTenGiB);
    std::printf("\nOn btrfs (store root on a btrfs loop filesystem), %d cycles each:\n", cycles);
    const std::vector<Variant> variants = {
        {"unsized (btrfs)", {}},
        {"btrfs-qgroup 10 GiB", {{"containerd.io/snapshot/max-size", size}}},
    };
    for (const Variant& v : variants) RunCycles(client, v, cycles);
    for (const Variant& v : variants) {
      auto mounts = client.Prepare(absl::StrCat("usage-", v.name), "", v.labels);
      if (!mounts.ok()) return 1;
      WriteFiles(testing::UpperDirOf(*mounts), files);
    }
    TimeUsage(client, "usage-unsized (btrfs)", "unsized on btrfs (walks)");
    TimeUsage(client, "usage-btrfs-qgroup 10 GiB", "btrfs-qgroup (qgroup + inode items)");
    (*daemon)->Stop(SIGTERM);
  }
  Unmount(fs).IgnoreError();
  return 0;
}

int Main(int argc, char** argv) {
  int cycles = 200, files = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--cycles")) cycles = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) ::setenv("TMPDIR", argv[i + 1], 1);
    if (!std::strcmp(argv[i], "--files")) files = std::atoi(argv[i + 1]);
  }
  testing::TempDir t;
  auto daemon = testing::StratadProcess::Start(t.Sub("root"), t.Sub("s.sock"));
  if (!daemon.ok()) {
    std::fprintf(stderr, "start stratad: %s\n", daemon.status().ToString().c_str());
    return 1;
  }
  SnapshotsClient client((*daemon)->channel());
  const std::string size = std::to_string(kTenGiB);
  // The first Prepare of a size makes its template (mkfs, measured once).
  auto t0 = Clock::now();
  if (!client.Prepare("template", "", {{"containerd.io/snapshot/max-size", size}}).ok()) {
    std::fprintf(stderr, "sized Prepare failed: is there a backend?\n");
    return 1;
  }
  std::printf("first 10 GiB sized Prepare (makes the size's ext4 template): %.1f ms\n",
              Seconds(t0) * 1e3);
  client.Remove("template").IgnoreError();

  std::printf("\nPrepare -> Remove, one client, %d cycles each:\n", cycles);
  const std::vector<Variant> variants = {
      {"unsized", {}},
      {"ext4-loop 10 GiB dynamic", {{"containerd.io/snapshot/max-size", size}}},
      {"ext4-loop 10 GiB fixed",
       {{"containerd.io/snapshot/max-size", size}, {"strata.io/snapshot/disk", "fixed"}}},
  };
  for (const Variant& v : variants) RunCycles(client, v, cycles);

  std::printf("\nUsage of a writable layer holding %d files:\n", files);
  for (const Variant& v : {variants[0], variants[1]}) {
    std::string key = absl::StrCat("usage-", v.name);
    auto mounts = client.Prepare(key, "", v.labels);
    if (!mounts.ok()) return 1;
    WriteFiles(testing::UpperDirOf(*mounts), files);
  }
  TimeUsage(client, "usage-unsized", "unsized (walks the tree)");
  TimeUsage(client, "usage-ext4-loop 10 GiB dynamic", "ext4-loop (statfs)");
  for (const Variant& v : {variants[0], variants[1]}) {
    client.Remove(absl::StrCat("usage-", v.name)).IgnoreError();
  }
  (*daemon)->Stop(SIGTERM);
  for (const std::string& m : MountPointsUnder(t.Sub("root"))) Unmount(m).IgnoreError();
  return RunOnBtrfs(t, cycles, files);
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
