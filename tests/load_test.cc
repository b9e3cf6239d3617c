// Load: 64 concurrent clients mix every kind of call against one stratad for
// a bounded time (STRATA_LOAD_SECONDS, default 20). Each client works on its
// own keys, so every error is a failure; containers' rootfs are mounted with
// the kernel's overlayfs as containerd would, written and read back. After,
// the daemon holds no more file descriptors than before (beyond a small
// slack), its RSS stayed bounded, and fsck is clean. (The daemon itself
// mounts nothing: leaked mounts could only be the clients'.) Prints
// throughput.
#include <dirent.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/native_client.h"
#include "tests/oci_builder.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

int OpenFds(pid_t pid) {
  int n = 0;
  DIR* d = ::opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (d == nullptr) return -1;
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n - 2;
}

int64_t RssKiB(pid_t pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

TEST(LoadTest, SixtyFourClientsMixingEveryCall) {
  const int kClients = 64;
  const int seconds = EnvInt("STRATA_LOAD_SECONDS", 20);
  TempDir tmp;
  auto started = StratadProcess::Start(tmp.Sub("root"), tmp.Sub("s.sock"));
  ASSERT_OK(started);
  std::unique_ptr<StratadProcess> daemon = std::move(*started);
  std::string top;
  {
    NativeClient c(daemon->channel());
    std::string busybox = ReadFileOrDie(SharedImagesDir() + "/prebuilt/busybox.oci.tar");
    ASSERT_OK_AND_ASSIGN(auto imported, c.Import(busybox));
    top = imported[0].top_chain_id();
  }
  const int fds_before = OpenFds(daemon->pid());

  std::mutex mu;
  std::map<std::string, long> calls;  // by kind
  std::vector<std::string> errors;
  std::atomic<bool> stop{false};
  int64_t rss_warm = 0, rss_peak = 0;

  auto client = [&](int t, std::shared_ptr<grpc::Channel> channel) {
    NativeClient c(channel);
    SnapshotsClient ctrd(channel);
    std::mt19937 rng(static_cast<uint32_t>(t));
    std::map<std::string, long> mine;
    auto check = [&](const char* kind, const absl::Status& s) {
      ++mine[kind];
      if (!s.ok()) {
        std::lock_guard<std::mutex> l(mu);
        if (errors.size() < 20) errors.push_back(absl::StrCat(kind, ": ", s.ToString()));
      }
    };
    absl::StatusOr<std::string> lease = c.CreateLease(absl::StrCat("load-", t));
    check("lease-create", lease.status());
    for (long n = 0; !stop; ++n) {
      std::string k = absl::StrCat("c", t, "-", n);
      switch (rng() % 10) {
        case 0: {  // a container's lifecycle, its rootfs mounted and written
          check("prepare", c.Prepare(k, top).status());
          absl::StatusOr<std::vector<MountSpec>> mounts = c.Mounts(k);
          check("mounts", mounts.status());
          if (mounts.ok()) {
            std::string dir = tmp.Sub("mnt-" + k);
            check("mount", MakeDirs(dir));
            check("mount", MountAll(*mounts, dir));
            WriteFileOrDie(dir + "/written", k);
            if (ReadFileOrDie(dir + "/written") != k || !Exists(dir + "/bin/busybox")) {
              check("rootfs", absl::DataLossError("rootfs of " + k + " is wrong"));
            }
            check("unmount", Unmount(dir));
          }
          check("stat", c.Stat(k));
          check("remove", c.Remove(k));
          break;
        }
        case 1:
          check("view", c.View(k, top).status());
          check("remove", c.Remove(k));
          break;
        case 2: {  // a committed snapshot under the client's lease
          c.set_lease(*lease);
          check("prepare", c.Prepare("p" + k, "").status());
          check("commit", c.Commit(k, "p" + k));
          c.set_lease("");
          check("stat", c.Stat(k));
          check("remove", c.Remove(k));
          break;
        }
        case 3:  // containerd's key space
          check("ctrd-prepare", ctrd.Prepare("ns/" + k, "").status());
          check("ctrd-commit", ctrd.Commit("ns/c" + k, "ns/" + k));
          check("ctrd-list", ctrd.List({"name==ns/c" + k}).status());
          check("ctrd-remove", ctrd.Remove("ns/c" + k));
          break;
        case 4: {
          c.set_lease(*lease);
          absl::StatusOr<std::string> d = c.WriteBlob("w" + k, absl::StrCat("data ", t, " ", n));
          c.set_lease("");
          check("content-write", d.status());
          if (d.ok() && !c.HasBlob(*d)) check("content-info", absl::NotFoundError(*d));
          break;
        }
        case 5:
          check("images-list", c.ListImages().status());
          check("images-get", c.GetImage("docker.io/library/busybox:latest").status());
          break;
        case 6: {  // import and delete an image of its own
          std::string name = absl::StrCat("load/c", t, ":", n);
          std::string archive =
              BuildOciArchive({{name, {OneFileLayer("f.txt", absl::StrCat(t, "-", n % 4))}}});
          check("import", c.Import(archive).status());
          check("images-delete", c.DeleteImage(name));
          break;
        }
        case 7:  // usage and labels, containerd's key space
          check("ctrd-prepare", ctrd.Prepare("ns/u" + k, "").status());
          check("ctrd-usage", ctrd.Usage("ns/u" + k).status());
          {
            snapshots_pb::Info info;
            info.set_name("ns/u" + k);
            (*info.mutable_labels())["containerd.io/snapshot/load"] = "1";
            check("ctrd-update", ctrd.Update(info, {"labels"}).status());
          }
          check("ctrd-remove", ctrd.Remove("ns/u" + k));
          break;
        case 8:
          check("content-list", c.ListBlobs().status());
          break;
        default:
          check("stat", c.Stat(top));
          break;
      }
    }
    std::lock_guard<std::mutex> l(mu);
    for (const auto& [kind, count] : mine) calls[kind] += count;
  };

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 8; ++i) channels.push_back(NewChannel(tmp.Sub("s.sock")));
  // An operator collects garbage and checks the store all along.
  std::thread op([&] {
    NativeClient c(NewChannel(tmp.Sub("s.sock")));
    for (int i = 0; !stop; ++i) {
      absl::Status s = i % 3 == 2 ? c.Check().status() : c.Collect(i % 3 == 1).status();
      std::lock_guard<std::mutex> l(mu);
      ++calls[i % 3 == 2 ? "fsck" : "gc"];
      if (!s.ok() && errors.size() < 20) errors.push_back("operator: " + s.ToString());
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) threads.emplace_back(client, t, channels[t % 8]);
  for (int s = 0; s < seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    int64_t rss = RssKiB(daemon->pid());
    if (s == std::max(1, seconds / 4)) rss_warm = rss;
    rss_peak = std::max(rss_peak, rss);
  }
  stop = true;
  for (auto& th : threads) th.join();
  op.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  channels.clear();

  long total = 0;
  for (const auto& [kind, count] : calls) total += count;
  std::printf(
      "load: %d clients, %.1f s, %ld calls, %.0f calls/s; daemon RSS %lld MiB after "
      "warm-up, %lld MiB peak\n",
      kClients, elapsed, total, static_cast<double>(total) / elapsed,
      static_cast<long long>(rss_warm / 1024), static_cast<long long>(rss_peak / 1024));
  for (const auto& [kind, count] : calls) std::printf("  %-14s %ld\n", kind.c_str(), count);
  for (const std::string& e : errors) ADD_FAILURE() << e;
  EXPECT_GT(total, kClients);

  // Nothing leaked: connections closed, the daemon's descriptors are back.
  int fds_after = -1;
  for (int i = 0; i < 50; ++i) {
    fds_after = OpenFds(daemon->pid());
    if (fds_after <= fds_before + 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LE(fds_after, fds_before + 4) << "file descriptors before " << fds_before;
  EXPECT_LT(rss_peak, rss_warm + 512 * 1024) << "RSS grew from " << rss_warm << " KiB";
  NativeClient c(daemon->channel());
  ASSERT_OK_AND_ASSIGN(strata::v1::CheckResponse check, c.Check());
  for (const auto& p : check.problems()) ADD_FAILURE() << "fsck: " << p.what();
}

}  // namespace
}  // namespace strata::testing
