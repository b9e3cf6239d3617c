// Commit throughput: a change of about 1 GiB in ~30,000 files (compressible,
// text-like) committed into a layer by stratad (Layers.Diff, gzip and zstd),
// side by side with the floor (`tar -c | gzip` of the same upper directory,
// written to a file on the same filesystem) and with containerd 1.6's
// `ctr snapshots diff` (overlayfs snapshotter, its walking differ) on the same
// change. Page cache dropped before each run; median of N runs.
//
//   commit_bench [--runs N] [--mib SIZE]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/mount_proto.h"
#include "bench/bench_util.h"
#include "common/fs.h"
#include "strata/v1/layers.grpc.pb.h"
#include "strata/v1/snapshots.grpc.pb.h"
#include "tests/containerd_process.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using testing::RunCommand;
namespace spb = containerd::services::snapshots::v1;

// Text-like bytes (words from a small vocabulary): gzip gets about 3x.
std::string Corpus(size_t n) {
  static const char* kWords[] = {"layer ",     "snapshot ", "overlay ", "commit ",
                                 "container ", "image ",    "strata ",  "digest ",
                                 "whiteout ",  "chain\n",   "blob ",    "manifest ",
                                 "config ",    "mount ",    "upper ",   "lower\n"};
  std::string out;
  out.reserve(n);
  uint64_t x = 88172645463325252ull;
  while (out.size() < n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out += kWords[x % 16];
    if (x % 97 == 0) out += std::to_string(x % 100000);
  }
  out.resize(n);
  return out;
}

// ~`mib` MiB in files: 90% of them small (4-12 KiB), the rest 64-384 KiB.
int64_t Generate(const std::string& dir, int64_t mib, int* files) {
  std::string corpus = Corpus(8 << 20);
  int64_t target = mib << 20, total = 0;
  uint64_t x = 12345;
  for (int i = 0; total < target; ++i) {
    std::string d = absl::StrCat(dir, "/d", i / 100);
    if (i % 100 == 0) (void)MakeDirs(d);
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t size = (i % 10 != 0) ? 4096 + (x >> 33) % 8192 : 64 * 1024 + (x >> 33) % (320 * 1024);
    size_t off = (x >> 20) % (corpus.size() - size);
    std::ofstream(absl::StrCat(d, "/f", i), std::ios::binary).write(corpus.data() + off, size);
    total += static_cast<int64_t>(size);
    *files = i + 1;
  }
  return total;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  int runs = 3;
  int64_t mib = 1024;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    if (!std::strcmp(argv[i], "--mib") && i + 1 < argc) mib = std::atoll(argv[++i]);
  }
  testing::TempDir tmp;
  int files = 0;
  int64_t bytes = Generate(tmp.Sub("change"), mib, &files);
  auto stratad = testing::StratadProcess::Start(tmp.Sub("strata"), tmp.Sub("s.sock"));
  auto containerd = testing::ContainerdProcess::Start(tmp.Sub("ctrd"), "");
  if (!stratad.ok() || !containerd.ok()) {
    std::fprintf(stderr, "could not start the daemons\n");
    return 1;
  }
  auto snaps = strata::v1::Snapshots::NewStub((*stratad)->channel());
  auto layers = strata::v1::Layers::NewStub((*stratad)->channel());
  // A native snapshot holding the change in its upper dir.
  auto prepare_strata = [&](const std::string& key) {
    grpc::ClientContext ctx;
    spb::PrepareSnapshotRequest req;
    req.set_key(key);
    spb::PrepareSnapshotResponse resp;
    snaps->Prepare(&ctx, req, &resp);
    std::string upper = testing::UpperDirOf(api::MountsFromProto(resp.mounts()));
    RunCommand({"cp", "-a", tmp.Sub("change") + "/.", upper});
  };
  auto prepare_ctrd = [&](const std::string& key) {
    (*containerd)->Ctr({"snapshots", "--snapshotter", "overlayfs", "prepare", key});
    std::string out = (*containerd)
                          ->Ctr({"snapshots", "--snapshotter", "overlayfs", "mounts", "/mnt", key})
                          .output;
    std::vector<std::string> words = absl::StrSplit(out, ' ');
    std::string source = words.size() > 3 ? words[3] : "";  // mount -t bind SOURCE /mnt -o ...
    RunCommand({"cp", "-a", tmp.Sub("change") + "/.", source});
  };

  std::vector<double> s_gzip, s_zstd, floor, ctrd;
  int64_t gzip_size = 0, zstd_size = 0;
  for (int run = 0; run < runs; ++run) {
    std::string r = std::to_string(run);
    prepare_strata("g" + r);
    prepare_strata("z" + r);
    prepare_ctrd("c" + r);
    for (const char* c : {"gzip", "zstd"}) {
      DropCaches();
      auto t0 = Clock::now();
      grpc::ClientContext ctx;
      strata::v1::DiffLayerRequest req;
      req.set_snapshot_key(std::string(c[0] == 'g' ? "g" : "z") + r);
      req.set_compression(c);
      strata::v1::DiffLayerResponse resp;
      grpc::Status st = layers->Diff(&ctx, req, &resp);
      double secs = Seconds(t0);
      if (!st.ok()) std::fprintf(stderr, "strata diff: %s\n", st.error_message().c_str());
      (c[0] == 'g' ? s_gzip : s_zstd).push_back(secs);
      (c[0] == 'g' ? gzip_size : zstd_size) = resp.blob().size();
    }
    DropCaches();
    auto t0 = Clock::now();
    RunCommand({"sh", "-c",
                absl::StrCat("tar -cf - -C ", tmp.Sub("change"), " . | gzip > ",
                             tmp.Sub("floor" + r + ".tar.gz"))});
    floor.push_back(Seconds(t0));
    DropCaches();
    t0 = Clock::now();
    testing::RunResult d =
        (*containerd)->Ctr({"snapshots", "--snapshotter", "overlayfs", "diff", "c" + r});
    ctrd.push_back(Seconds(t0));
    if (d.exit_code != 0) std::fprintf(stderr, "ctr snapshots diff: %s\n", d.output.c_str());
  }
  double mb = static_cast<double>(bytes) / 1e6;
  double g = Median(s_gzip), z = Median(s_zstd), f = Median(floor), c = Median(ctrd);
  std::printf(
      "commit benchmark: %.0f MB in %d files; page cache dropped before each run; median of %d\n\n",
      mb, files, runs);
  std::printf("%-34s %8s %9s %12s\n", "committer", "seconds", "MB/s", "layer size");
  std::printf("%-34s %8.2f %9.1f %11.1fM\n", "stratad gzip (igzip level 1)", g, mb / g,
              gzip_size / 1e6);
  std::printf("%-34s %8.2f %9.1f %11.1fM\n", "stratad zstd (level 3)", z, mb / z, zstd_size / 1e6);
  std::printf("%-34s %8.2f %9.1f\n", "floor: tar -c | gzip (level 6)", f, mb / f);
  std::printf("%-34s %8.2f %9.1f\n", "containerd ctr snapshots diff", c, mb / c);
  std::printf(
      "\nstratad gzip vs containerd: %.2fx faster; vs the floor: %.2fx its time; zstd vs gzip: "
      "%.2fx faster\n",
      c / g, g / f, g / z);
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
