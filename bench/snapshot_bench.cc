// Snapshot operation throughput: cycles of Prepare -> Commit -> Stat -> Remove
// over gRPC, with 1 and with 16 concurrent clients, against stratad and,
// side by side in the same run, containerd's own overlayfs snapshotter reached
// through containerd's gRPC socket (namespace in the request metadata). Both
// store their metadata durably before answering (bolt fsyncs every
// transaction; stratad syncs every operation's write batch).
//
//   snapshot_bench [--seconds N] [--dir DIR]
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "common/fs.h"
#include "tests/containerd_process.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using testing::SnapshotsClient;

// containerd garbage-collects snapshots nothing references, even mid-cycle;
// real clients hold a lease, this benchmark marks its snapshots as roots.
// stratad gets the same labels so both do the same work.
const SnapshotsClient::Labels kRoot = {{"containerd.io/gc.root", "bench"}};

struct Result {
  double ops_per_sec = 0;
  double cycles_per_sec = 0;
  double p50_us = 0;
  double p99_us = 0;
  long errors = 0;
  double op_p50_us[4] = {0, 0, 0, 0};  // prepare, commit, stat, remove
};

Result Run(std::shared_ptr<grpc::Channel> channel, const std::string& snapshotter,
           const std::string& ns, int clients, double seconds, const std::string& tag) {
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::vector<std::vector<double>> lat(clients);
  // Per operation (prepare, commit, stat, remove), per client.
  std::vector<std::array<std::vector<double>, 4>> op_lat(clients);
  std::vector<long> cycles(clients, 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      SnapshotsClient client(channel, snapshotter, ns);
      for (long i = 0; !stop; ++i) {
        std::string key = absl::StrCat(tag, "-", c, "-", i);
        std::string name = key + "-c";
        int op_index = 0;
        auto timed = [&](const char* op, auto fn) {
          auto t0 = Clock::now();
          absl::Status s = fn();
          double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          lat[c].push_back(us);
          op_lat[c][op_index++ % 4].push_back(us);
          if (!s.ok() && errors++ == 0) {
            std::fprintf(stderr, "%s: first error: %s: %s\n", tag.c_str(), op,
                         s.ToString().c_str());
          }
        };
        timed("prepare", [&] { return client.Prepare(key, "", kRoot).status(); });
        timed("commit", [&] { return client.Commit(name, key, kRoot); });
        timed("stat", [&] { return client.Stat(name).status(); });
        timed("remove", [&] { return client.Remove(name); });
        cycles[c]++;
      }
    });
  }
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  long total_cycles = 0;
  for (int c = 0; c < clients; ++c) {
    all.insert(all.end(), lat[c].begin(), lat[c].end());
    total_cycles += cycles[c];
  }
  Result r;
  r.ops_per_sec = static_cast<double>(all.size()) / elapsed;
  r.cycles_per_sec = static_cast<double>(total_cycles) / elapsed;
  r.p50_us = Percentile(all, 0.50);
  r.p99_us = Percentile(all, 0.99);
  r.errors = errors.load();
  for (int op = 0; op < 4; ++op) {
    std::vector<double> v;
    for (int c = 0; c < clients; ++c) v.insert(v.end(), op_lat[c][op].begin(), op_lat[c][op].end());
    r.op_p50_us[op] = Percentile(v, 0.50);
  }
  return r;
}

void Print(const char* who, int clients, const Result& r) {
  std::printf("%-28s clients=%-3d ops/s=%9.0f cycles/s=%8.0f p50=%8.0fus p99=%8.0fus errors=%ld\n",
              who, clients, r.ops_per_sec, r.cycles_per_sec, r.p50_us, r.p99_us, r.errors);
  std::printf("%-28s   p50 by call: prepare=%.0fus commit=%.0fus stat=%.0fus remove=%.0fus\n", "",
              r.op_p50_us[0], r.op_p50_us[1], r.op_p50_us[2], r.op_p50_us[3]);
}

int Main(int argc, char** argv) {
  double seconds = 5;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
  }
  std::unique_ptr<testing::TempDir> tmp;
  if (dir.empty()) {
    tmp = std::make_unique<testing::TempDir>();
    dir = tmp->path();
  }
  auto stratad = testing::StratadProcess::Start(dir + "/strata", dir + "/strata.sock");
  if (!stratad.ok()) {
    std::fprintf(stderr, "start stratad: %s\n", stratad.status().ToString().c_str());
    return 1;
  }
  auto containerd = testing::ContainerdProcess::Start(dir + "/ctrd", "");
  if (!containerd.ok()) {
    std::fprintf(stderr, "start containerd: %s\n", containerd.status().ToString().c_str());
    return 1;
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto ctrd_channel = grpc::CreateCustomChannel("unix:" + (*containerd)->socket(),
                                                grpc::InsecureChannelCredentials(), args);

  std::printf("snapshot cycle benchmark: Prepare -> Commit -> Stat -> Remove, %.0f s per run\n",
              seconds);
  std::printf("store directory: %s (same filesystem for both)\n\n", dir.c_str());
  for (int clients : {1, 16}) {
    Result s = Run((*stratad)->channel(), "strata", "", clients, seconds, "s");
    Result c = Run(ctrd_channel, "overlayfs", "bench", clients, seconds, "c");
    Print("stratad", clients, s);
    Print("containerd overlayfs", clients, c);
    std::printf("%-28s clients=%-3d ops/s ratio strata/containerd = %.2fx\n\n", "ratio", clients,
                c.ops_per_sec > 0 ? s.ops_per_sec / c.ops_per_sec : 0.0);
  }
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
