// Image import throughput: debian-rootfs (gzip and zstd) imported by
//   - stratad (`strata import`: streamed over gRPC, stored, verified, unpacked),
//   - Debian's containerd 1.6 (`ctr images import`, overlayfs snapshotter),
//   - the single-pass floor: each layer blob decompressed and extracted by
//     `tar` (no hashing, no storing), one after another,
// side by side in one run, page cache dropped before each. Prints MB/s of
// unpacked data, the ratios, and peak RSS.
//
//   import_bench [--images DIR] [--runs N]    (median of N runs; default 3)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "common/fs.h"
#include "tests/containerd_process.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using json = nlohmann::json;
using testing::RunCommand;

// Peak resident set of a process (VmHWM), in MiB.
double PeakRssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

struct Layer {
  std::string blob;
  std::string media_type;
};

// The layer blobs of the extracted archive's (single) image.
void ReadLayers(const std::string& extracted, std::vector<Layer>* layers) {
  auto read_json = [](const std::string& path) {
    return json::parse(ReadFile(path).value_or("{}"), nullptr, false);
  };
  json index = read_json(extracted + "/index.json");
  std::string m = index["manifests"][0]["digest"].get<std::string>().substr(7);
  json manifest = read_json(extracted + "/blobs/sha256/" + m);
  for (const json& l : manifest["layers"]) {
    layers->push_back({extracted + "/blobs/sha256/" + l["digest"].get<std::string>().substr(7),
                       l["mediaType"].get<std::string>()});
  }
}

struct Figures {
  double seconds = 0;
  double rss_mib = 0;
};

Figures RunStrata(const std::string& dir, const std::string& archive) {
  auto d = testing::StratadProcess::Start(dir + "/root", dir + "/s.sock");
  if (!d.ok()) {
    std::fprintf(stderr, "stratad: %s\n", d.status().ToString().c_str());
    return {};
  }
  DropCaches();
  auto t0 = Clock::now();
  testing::RunResult r = testing::RunStrataCli(dir + "/s.sock", {"import", archive});
  Figures f{Seconds(t0), PeakRssMiB((*d)->pid())};
  if (r.exit_code != 0) std::fprintf(stderr, "strata import failed: %s\n", r.output.c_str());
  return f;
}

Figures RunContainerd(const std::string& dir, const std::string& archive) {
  auto c = testing::ContainerdProcess::Start(dir, "");
  if (!c.ok()) {
    std::fprintf(stderr, "containerd: %s\n", c.status().ToString().c_str());
    return {};
  }
  DropCaches();
  auto t0 = Clock::now();
  testing::RunResult r = (*c)->Ctr({"images", "import", "--snapshotter", "overlayfs", archive});
  Figures f{Seconds(t0), 0};
  // containerd's own peak (the unpack runs in the daemon's diff service).
  testing::RunResult ps =
      RunCommand({"pgrep", "-f", "containerd --config " + dir + "/config.toml"});
  f.rss_mib = PeakRssMiB(std::atoi(ps.output.c_str()));
  if (r.exit_code != 0) std::fprintf(stderr, "ctr import failed: %s\n", r.output.c_str());
  return f;
}

Figures RunFloor(const std::string& dir, const std::vector<Layer>& layers) {
  DropCaches();
  auto t0 = Clock::now();
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string out = absl::StrCat(dir, "/", i);
    (void)MakeDirs(out);
    std::string flag = absl::StrContains(layers[i].media_type, "zstd")   ? "--zstd"
                       : absl::StrContains(layers[i].media_type, "gzip") ? "-z"
                                                                         : "";
    std::vector<std::string> argv = {"tar", "--numeric-owner", "-xpf", layers[i].blob, "-C", out};
    if (!flag.empty()) argv.insert(argv.begin() + 1, flag);
    testing::RunResult r = RunCommand(argv);
    if (r.exit_code != 0) std::fprintf(stderr, "tar failed: %s\n", r.output.c_str());
  }
  return {Seconds(t0), 0};
}

// The run with the median time (and its RSS).
Figures Median(std::vector<Figures> v) {
  std::sort(v.begin(), v.end(),
            [](const Figures& a, const Figures& b) { return a.seconds < b.seconds; });
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  std::string images = testing::BinaryDir() + "/images";
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--images") && i + 1 < argc) images = argv[++i];
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
  }
  json info =
      json::parse(ReadFile(images + "/debian-rootfs.info.json").value_or("{}"), nullptr, false);
  int64_t unpacked = 0;
  for (const json& l : info["layers"]) unpacked += l.value("uncompressed_size", int64_t{0});
  double mb = static_cast<double>(unpacked) / 1e6;
  std::printf(
      "import benchmark: debian-rootfs, %d layers, %.0f MB unpacked; page cache dropped before "
      "each run\n\n",
      static_cast<int>(info["layers"].size()), mb);
  std::printf("%-12s %-22s %8s %9s %10s %16s %14s\n", "image", "importer", "seconds", "MB/s",
              "peak RSS", "vs containerd", "vs tar floor");
  // Every tree stays until all runs are measured: ext4 skips inodes freed in
  // the last ~30 s when allocating, so deleting one run's files would slow
  // whichever run comes next (seen as 24% of a profile in ext4's
  // recently_deleted()).
  std::vector<std::unique_ptr<testing::TempDir>> keep;
  for (const char* name : {"debian-rootfs", "debian-rootfs-zstd"}) {
    std::string archive = absl::StrCat(images, "/", name, ".oci.tar");
    keep.push_back(std::make_unique<testing::TempDir>());
    testing::TempDir& tmp = *keep.back();
    RunCommand({"tar", "-xf", archive, "-C", tmp.path()});
    std::vector<Layer> layers;
    ReadLayers(tmp.path(), &layers);
    std::vector<Figures> ss, cs, fs;
    for (int run = 0; run < runs; ++run) {
      std::string r = std::to_string(run);
      ss.push_back(RunStrata(tmp.Sub("strata" + r), archive));
      cs.push_back(RunContainerd(tmp.Sub("ctrd" + r), archive));
      fs.push_back(RunFloor(tmp.Sub("floor" + r), layers));
    }
    Figures s = Median(ss), c = Median(cs), f = Median(fs);
    const char* label = absl::StrContains(name, "zstd") ? "zstd" : "gzip";
    auto row = [&](const char* who, const Figures& fig, bool ratios) {
      std::printf("%-12s %-22s %8.2f %9.1f %9.0fM", label, who, fig.seconds, mb / fig.seconds,
                  fig.rss_mib);
      if (ratios) {
        std::printf(" %15.2fx %13.2fx", c.seconds / fig.seconds, fig.seconds / f.seconds);
      }
      std::printf("\n");
    };
    row("stratad", s, true);
    row("containerd overlayfs", c, false);
    row("tar floor", f, false);
    std::printf("\n");
  }
  std::printf(
      "vs containerd: containerd's time / stratad's (higher is better);\n"
      "vs tar floor: stratad's time / the floor's (lower is better, 1.0 = the floor).\n");
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
