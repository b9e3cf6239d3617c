// Pull from a registry: debian-rootfs (5 gzip layers) pushed by skopeo into
// Debian's docker-registry, which runs in a network namespace the benchmark
// makes, reached over a veth pair. Pulled, side by side in one run, by
//   - stratad (`strata pull`: download, verify, unpack while bytes arrive),
//   - Debian's containerd 1.6 (`ctr images pull`, overlayfs snapshotter; the
//     pull includes its unpack),
//   - Debian's podman (`podman pull`, containers/storage's overlay driver),
//   - `skopeo copy` to an archive, then `strata import` of it,
// once over the unthrottled link and once with the registry's side limited
// by `tc tbf` (default 200 Mbit/s), where "transfer alone" is curl fetching
// the image's blobs, three at a time. Page cache dropped before each run.
//
// Then, unthrottled: ten `strata pull`s of the image at once into one store
// (bytes the registry's access log shows, wall time against one pull);
// throttled: stratad killed (SIGKILL) halfway through the download,
// restarted, and the pull run again (bytes fetched twice); and pushes
// (unthrottled): the image by `strata push`, to another repository
// (mounted), and an image one layer above it.
//
//   pull_bench [--images DIR] [--runs N] [--mbit RATE]   (as root)
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "common/fs.h"
#include "tests/containerd_process.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::RunResult;

constexpr char kNetns[] = "strata-pull-bench";
constexpr char kHostIf[] = "spb-host";
constexpr char kRegistryIf[] = "spb-reg";
constexpr char kHostAddr[] = "10.231.0.1";
constexpr char kRegistryAddr[] = "10.231.0.2";

bool Run(const std::vector<std::string>& argv) {
  RunResult r = RunCommand(argv);
  if (r.exit_code != 0) {
    std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(), r.output.c_str());
  }
  return r.exit_code == 0;
}

// A veth pair into a network namespace of the benchmark's own; removed
// (with the pair) when destroyed.
class Link {
 public:
  Link() {
    RunCommand({"ip", "netns", "del", kNetns});  // left by a killed run
    ok_ = Run({"ip", "netns", "add", kNetns}) &&
          Run({"ip", "link", "add", kHostIf, "type", "veth", "peer", "name", kRegistryIf}) &&
          Run({"ip", "link", "set", kRegistryIf, "netns", kNetns}) &&
          Run({"ip", "addr", "add", absl::StrCat(kHostAddr, "/24"), "dev", kHostIf}) &&
          Run({"ip", "link", "set", kHostIf, "up"}) &&
          Run({"ip", "-n", kNetns, "addr", "add", absl::StrCat(kRegistryAddr, "/24"), "dev",
               kRegistryIf}) &&
          Run({"ip", "-n", kNetns, "link", "set", kRegistryIf, "up"}) &&
          Run({"ip", "-n", kNetns, "link", "set", "lo", "up"});
  }
  ~Link() {
    RunCommand({"ip", "link", "del", kHostIf});
    RunCommand({"ip", "netns", "del", kNetns});
  }
  bool ok() const { return ok_; }
  // What the registry sends goes through a token bucket of `mbit`.
  bool Limit(int mbit) {
    return Run({"ip", "netns", "exec", kNetns, "tc", "qdisc", "replace", "dev", kRegistryIf, "root",
                "tbf", "rate", absl::StrCat(mbit, "mbit"), "burst", "256kb", "latency", "100ms"});
  }

 private:
  bool ok_ = false;
};

struct Image {
  std::string ref;                 // 10.231.0.2:5000/bench/debian:gzip
  std::vector<std::string> blobs;  // config and layers
  int64_t compressed = 0;          // bytes of those blobs
};

// A hosts.toml directory that strata and containerd both read: plain HTTP
// to the registry in the namespace.
std::string WriteHostsDir(const std::string& dir, const std::string& host) {
  std::string d = absl::StrCat(dir, "/", host);
  (void)MakeDirs(d);
  testing::WriteFileOrDie(d + "/hosts.toml",
                          absl::StrCat("server = \"http://", host, "\"\n[host.\"http://", host,
                                       "\"]\n  capabilities = [\"pull\", \"resolve\"]\n"));
  return dir;
}

int64_t DirBytes(const std::string& dir) {
  RunResult r = RunCommand({"du", "-sb", dir});
  return r.exit_code == 0 ? std::atoll(r.output.c_str()) : 0;
}

// Seconds, or a negative number if the run failed.
double PullStrata(const std::string& dir, const Image& image, const std::string& hosts) {
  auto d =
      testing::StratadProcess::Start(dir + "/root", dir + "/s.sock", {"--registry-hosts", hosts});
  if (!d.ok()) return -1;
  DropCaches();
  auto t0 = Clock::now();
  RunResult r = testing::RunStrataCli(dir + "/s.sock", {"pull", image.ref});
  double s = Seconds(t0);
  if (r.exit_code != 0) std::fprintf(stderr, "strata pull: %s\n", r.output.c_str());
  return r.exit_code == 0 ? s : -1;
}

double PullCtr(const std::string& dir, const Image& image, const std::string& hosts) {
  auto c = testing::ContainerdProcess::Start(dir, "");
  if (!c.ok()) return -1;
  DropCaches();
  auto t0 = Clock::now();
  RunResult r =
      (*c)->Ctr({"images", "pull", "--hosts-dir", hosts, "--snapshotter", "overlayfs", image.ref});
  double s = Seconds(t0);
  if (r.exit_code != 0) std::fprintf(stderr, "ctr pull: %s\n", r.output.c_str());
  return r.exit_code == 0 ? s : -1;
}

std::vector<std::string> Podman(const std::string& dir) {
  return {"podman",     "--root",           dir + "/root", "--runroot",
          dir + "/run", "--storage-driver", "overlay",     "--cgroup-manager",
          "cgroupfs",   "--events-backend", "file",        "--tmpdir",
          dir + "/tmp"};
}

double PullPodman(const std::string& dir, const Image& image) {
  std::vector<std::string> argv = Podman(dir);
  argv.insert(argv.end(), {"pull", "--quiet", "--tls-verify=false", image.ref});
  DropCaches();
  auto t0 = Clock::now();
  RunResult r = RunCommand(argv);
  double s = Seconds(t0);
  if (r.exit_code != 0) std::fprintf(stderr, "podman pull: %s\n", r.output.c_str());
  std::vector<std::string> reset = Podman(dir);
  reset.insert(reset.end(), {"system", "reset", "--force"});
  RunCommand(reset);  // unmounts podman's overlay state
  return r.exit_code == 0 ? s : -1;
}

double SkopeoThenImport(const std::string& dir, const Image& image) {
  auto d = testing::StratadProcess::Start(dir + "/root", dir + "/s.sock");
  if (!d.ok()) return -1;
  DropCaches();
  auto t0 = Clock::now();
  bool ok = Run({"skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                 "docker://" + image.ref, "oci-archive:" + dir + "/image.tar"});
  RunResult r =
      testing::RunStrataCli(dir + "/s.sock", {"import", dir + "/image.tar", "--name", image.ref});
  double s = Seconds(t0);
  if (r.exit_code != 0) std::fprintf(stderr, "strata import: %s\n", r.output.c_str());
  return ok && r.exit_code == 0 ? s : -1;
}

// The image's blobs fetched by curl, three at a time, into /dev/null.
double TransferAlone(const Image& image, const std::string& repo_url) {
  std::vector<std::string> argv = {"curl", "-sf", "--parallel", "--parallel-max", "3"};
  for (const std::string& b : image.blobs) {
    argv.insert(argv.end(), {"-o", "/dev/null", absl::StrCat(repo_url, "/blobs/", b)});
  }
  auto t0 = Clock::now();
  bool ok = Run(argv);
  return ok ? Seconds(t0) : -1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v[v.size() / 2];
}

struct Row {
  std::string who;
  double seconds;
};

void PrintRows(const char* link, const std::vector<Row>& rows, double ctr, double mb) {
  for (const Row& r : rows) {
    if (r.seconds < 0) {
      std::printf("%-12s %-30s %8s\n", link, r.who.c_str(), "failed");
      continue;
    }
    std::printf("%-12s %-30s %8.2f %9.1f", link, r.who.c_str(), r.seconds, mb / r.seconds);
    if (ctr > 0) std::printf(" %13.2fx", ctr / r.seconds);
    std::printf("\n");
  }
}

// Ten pulls of the image at once into one fresh store: the blob bytes the
// registry sent, and the wall time.
void TenClients(const std::string& dir, const Image& image, const std::string& hosts,
                const testing::RegistryProcess& registry, double one_pull) {
  auto d =
      testing::StratadProcess::Start(dir + "/root", dir + "/s.sock", {"--registry-hosts", hosts});
  if (!d.ok()) return;
  DropCaches();
  int64_t served_before = registry.BlobBytesServed();
  auto t0 = Clock::now();
  std::vector<std::thread> clients;
  std::vector<int> exits(10);
  for (int i = 0; i < 10; ++i) {
    clients.emplace_back([&, i] {
      exits[i] = testing::RunStrataCli(dir + "/s.sock", {"pull", image.ref}).exit_code;
    });
  }
  for (std::thread& t : clients) t.join();
  double wall = Seconds(t0);
  absl::SleepFor(absl::Milliseconds(500));  // the access log's last lines
  int64_t served = registry.BlobBytesServed() - served_before;
  int failed = static_cast<int>(std::count_if(exits.begin(), exits.end(), [](int e) { return e; }));
  std::printf(
      "ten strata pulls at once: %d failed; registry sent %.1f MB for a %.1f MB image (%.3fx); "
      "wall %.2f s against one pull's %.2f s (%.2fx)\n",
      failed, served / 1e6, image.compressed / 1e6,
      static_cast<double>(served) / static_cast<double>(image.compressed), wall, one_pull,
      wall / one_pull);
}

// stratad killed halfway through the download, restarted, the pull run
// again: bytes the registry sent beyond the image's size.
void KillAndResume(const std::string& dir, const Image& image, const std::string& hosts,
                   const testing::RegistryProcess& registry) {
  std::vector<std::string> args = {"--registry-hosts", hosts};
  auto d = testing::StratadProcess::Start(dir + "/root", dir + "/s.sock", args);
  if (!d.ok()) return;
  int64_t served_before = registry.BlobBytesServed();
  pid_t cli = testing::Spawn(
      {testing::StrataCliPath(), "--socket", dir + "/s.sock", "pull", image.ref}, dir + "/cli.log");
  int64_t ingested = 0;
  for (auto t0 = Clock::now(); Seconds(t0) < 120;) {
    ingested = DirBytes(dir + "/root/content");  // ingests, and the blobs they became
    if (ingested >= image.compressed / 2) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  (*d)->Stop(SIGKILL);
  testing::WaitExit(cli);
  d = testing::StratadProcess::Start(dir + "/root", dir + "/s.sock", args);
  if (!d.ok()) return;
  RunResult r = testing::RunStrataCli(dir + "/s.sock", {"pull", image.ref});
  absl::SleepFor(absl::Milliseconds(500));
  int64_t served = registry.BlobBytesServed() - served_before;
  std::printf(
      "kill -9 with %.1f MB of %.1f MB fetched, restart, pull again: %s; registry sent %.1f MB "
      "in all, %.2f MB of it twice\n",
      ingested / 1e6, image.compressed / 1e6, r.exit_code == 0 ? "pulled" : "FAILED", served / 1e6,
      (served - image.compressed) / 1e6);
}

// Pushes into the registry (unthrottled): the image imported from its
// archive into a fresh store, by `strata push`; then the
// same image to another repository (mounted, not sent); then an image one
// layer above it (a file written in a writable mount, committed).
void Pushes(const std::string& dir, const std::string& archive, const std::string& registry,
            const std::string& hosts) {
  auto d =
      testing::StratadProcess::Start(dir + "/root", dir + "/s.sock", {"--registry-hosts", hosts});
  if (!d.ok()) return;
  auto cli = [&](std::vector<std::string> args) {
    RunResult r = testing::RunStrataCli(dir + "/s.sock", args);
    if (r.exit_code != 0)
      std::fprintf(stderr, "strata %s: %s\n", args[0].c_str(), r.output.c_str());
    return r;
  };
  auto pushed = [&](const std::string& name, const std::string& ref, double* seconds) {
    auto t0 = Clock::now();
    RunResult r = cli({"--json", "push", name, ref});
    if (seconds != nullptr) *seconds = Seconds(t0);
    return json::parse(r.output, nullptr, false);
  };
  if (cli({"import", archive, "--name", "bench/local:1"}).exit_code != 0) return;
  double strata_s = 0;
  json first = pushed("bench/local:1", registry + "/bench/pushed:1", &strata_s);
  // (No skopeo figure beside it: skopeo's blob-info cache knows this
  // registry holds these blobs, from the set-up push, and it mounts them.)
  std::printf(
      "push of the image into an empty repository: strata push %.2f s (%d blobs, %.1f MB, "
      "%.0f MB/s)\n",
      strata_s, first.value("blobs_uploaded", 0), first.value("bytes_uploaded", 0) / 1e6,
      first.value("bytes_uploaded", 0) / 1e6 / strata_s);
  double mount_s = 0;
  json mounted = pushed("bench/local:1", registry + "/bench/other:1", &mount_s);
  std::printf("the same image to another repository: %.2f s, %d blobs mounted, %.1f MB sent\n",
              mount_s, mounted.value("blobs_mounted", 0), mounted.value("bytes_uploaded", 0) / 1e6);
  // One layer more: an 8 MB file written in a writable mount, committed.
  (void)MakeDirs(dir + "/mnt");
  if (cli({"mount", "bench/local:1", dir + "/mnt", "--rw", "bench-rw"}).exit_code != 0) return;
  RunCommand({"dd", "if=/dev/urandom", "of=" + dir + "/mnt/new-file", "bs=1M", "count=8"});
  cli({"unmount", dir + "/mnt"});
  if (cli({"commit", "bench-rw", "--name", "bench/local:2"}).exit_code != 0) return;
  double one_s = 0;
  json one = pushed("bench/local:2", registry + "/bench/pushed:2", &one_s);
  std::printf(
      "an image one layer (an 8 MB file) above it, to the same repository: %.2f s, %d blobs "
      "already there, %d sent (%.1f MB: the new layer and the config)\n",
      one_s, one.value("blobs_present", 0), one.value("blobs_uploaded", 0),
      one.value("bytes_uploaded", 0) / 1e6);
}

int Main(int argc, char** argv) {
  std::string images = testing::BinaryDir() + "/images";
  int runs = 3;
  int mbit = 200;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--images") && i + 1 < argc) images = argv[++i];
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    if (!std::strcmp(argv[i], "--mbit") && i + 1 < argc) mbit = std::max(1, std::atoi(argv[++i]));
  }
  testing::TempDir tmp;
  Link link;
  if (!link.ok()) return 1;
  testing::RegistryProcess::Options where;
  where.address = kRegistryAddr;
  where.port = 5000;
  where.netns = kNetns;
  auto registry = testing::RegistryProcess::Start(tmp.Sub("registry"), where);
  if (!registry.ok()) {
    std::fprintf(stderr, "registry: %s\n", registry.status().ToString().c_str());
    return 1;
  }
  Image image;
  image.ref = absl::StrCat((*registry)->host(), "/bench/debian:gzip");
  if (!(*registry)->PushOciArchive(images + "/debian-rootfs.oci.tar", "bench/debian:gzip").ok()) {
    return 1;
  }
  json info =
      json::parse(ReadFile(images + "/debian-rootfs.info.json").value_or("{}"), nullptr, false);
  int64_t unpacked = 0;
  for (const json& l : info["layers"]) {
    image.blobs.push_back(l.value("digest", ""));
    image.compressed += l.value("size", int64_t{0});
    unpacked += l.value("uncompressed_size", int64_t{0});
  }
  const std::string hosts = WriteHostsDir(tmp.Sub("hosts"), (*registry)->host());
  const std::string repo_url = absl::StrCat("http://", (*registry)->host(), "/v2/bench/debian");
  const double mb = image.compressed / 1e6;
  std::printf(
      "pull benchmark: debian-rootfs, %zu gzip layers, %.1f MB compressed, %.0f MB unpacked; "
      "registry in a network namespace over veth; median of %d runs; page cache dropped before "
      "each\n\n",
      image.blobs.size(), mb, unpacked / 1e6, runs);
  std::printf("%-12s %-30s %8s %9s %14s\n", "link", "puller", "seconds", "MB/s", "vs ctr pull");

  // Trees stay until the end (import_bench says why: ext4's inode reuse).
  double one_pull = 0;
  for (int limited = 0; limited < 2; ++limited) {
    if (limited && !link.Limit(mbit)) return 1;
    std::vector<double> s, c, p, k, t;
    for (int run = 0; run < runs; ++run) {
      std::string r = absl::StrCat(limited, "-", run);
      s.push_back(PullStrata(tmp.Sub("strata" + r), image, hosts));
      c.push_back(PullCtr(tmp.Sub("ctrd" + r), image, hosts));
      p.push_back(PullPodman(tmp.Sub("podman" + r), image));
      k.push_back(SkopeoThenImport(tmp.Sub("skopeo" + r), image));
      if (limited) t.push_back(TransferAlone(image, repo_url));
    }
    std::vector<Row> rows = {{"stratad (strata pull)", Median(s)},
                             {"containerd 1.6 (ctr pull)", Median(c)},
                             {"podman (podman pull)", Median(p)},
                             {"skopeo copy + strata import", Median(k)}};
    if (limited) rows.push_back({"transfer alone (curl)", Median(t)});
    std::string label = limited ? absl::StrCat(mbit, " Mbit/s") : "unthrottled";
    PrintRows(label.c_str(), rows, Median(c), mb);
    if (limited && Median(t) > 0 && Median(s) > 0) {
      std::printf("%-12s stratad / transfer alone: %.2fx\n", label.c_str(), Median(s) / Median(t));
    }
    if (!limited) one_pull = Median(s);
    std::printf("\n");
    if (!limited) TenClients(tmp.Sub("ten"), image, hosts, **registry, one_pull);
    if (limited) KillAndResume(tmp.Sub("kill"), image, hosts, **registry);
  }
  RunCommand({"ip", "netns", "exec", kNetns, "tc", "qdisc", "del", "dev", kRegistryIf, "root"});
  std::printf("\n");
  Pushes(tmp.Sub("push"), images + "/debian-rootfs.oci.tar", (*registry)->host(), hosts);
  std::printf(
      "\nMB/s: compressed MB over seconds; vs ctr pull: ctr's time / the row's (higher is "
      "better).\n");
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
