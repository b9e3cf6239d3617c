// Garbage collection of a large store, and what clients feel while it runs.
//
// Builds, through a real stratad, 10,000 committed snapshots (chains of 10)
// and 10,000 blobs; half of each are held by a lease, half are garbage. Then
// measures Stat and Prepare latency from client threads without a
// collection, and again during one that removes the garbage; then repeats a
// collection with nothing to remove (the mark alone) a few times.
//
//   gc_bench [--snapshots N] [--blobs N] [--dir DIR]
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "tests/native_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using testing::NativeClient;

constexpr int kChainDepth = 10;
constexpr int kBuilders = 8;

struct Sample {
  Clock::time_point at;
  double ms;
};

// Latency of one call, in a loop, from one thread, until stopped.
class Sampler {
 public:
  template <typename Fn>
  void Start(Fn fn) {
    thread_ = std::thread([this, fn]() mutable {
      for (long i = 0; !stop_; ++i) {
        auto t0 = Clock::now();
        fn(i);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        std::lock_guard<std::mutex> l(mu_);
        samples_.push_back({t0, ms});
      }
    });
  }
  void Stop() {
    stop_ = true;
    thread_.join();
  }
  // Latencies of calls that started within [from, to].
  std::vector<double> Between(Clock::time_point from, Clock::time_point to) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<double> out;
    for (const Sample& s : samples_) {
      if (s.at >= from && s.at <= to) out.push_back(s.ms);
    }
    return out;
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Sample> samples_;
};

void PrintLatency(const char* what, std::vector<double> quiet, std::vector<double> during) {
  auto line = [](std::vector<double>& v) {
    double p50 = Percentile(v, 0.5), p99 = Percentile(v, 0.99), max = Percentile(v, 1.0);
    return absl::StrFormat("p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu calls)", p50, p99, max,
                           v.size());
  };
  std::printf("  %-8s without gc: %s\n", what, line(quiet).c_str());
  std::printf("  %-8s during gc:  %s\n", what, line(during).c_str());
}

// Runs `fn(i)` for i in [0, n) over kBuilders threads.
template <typename Fn>
void Parallel(int n, Fn fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kBuilders; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < n;) fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

int Main(int argc, char** argv) {
  int snapshots = 10000, blobs = 10000;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--snapshots")) snapshots = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--blobs")) blobs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  // On disk, not tmpfs: directory removal and syncs are part of the cost.
  ::setenv("TMPDIR", dir.empty() ? "/var/tmp" : dir.c_str(), 1);
  testing::TempDir tmp;
  auto daemon = testing::StratadProcess::Start(tmp.Sub("root"), tmp.Sub("s.sock"));
  if (!daemon.ok()) {
    std::fprintf(stderr, "gc_bench: %s\n", daemon.status().ToString().c_str());
    return 1;
  }
  auto channel = (*daemon)->channel();
  NativeClient admin(channel);
  if (!admin.CreateLease("keep").ok()) return 1;

  // Chains of kChainDepth committed snapshots; even chains are held.
  auto t0 = Clock::now();
  std::atomic<long> errors{0};
  int chains = snapshots / kChainDepth;
  Parallel(chains, [&](int c) {
    NativeClient client(channel);
    if (c % 2 == 0) client.set_lease("keep");
    std::string parent;
    for (int d = 0; d < kChainDepth; ++d) {
      std::string name = absl::StrCat("s-", c, "-", d);
      if (!client.Prepare("p-" + name, parent).ok() || !client.Commit(name, "p-" + name).ok()) {
        ++errors;
      }
      parent = name;
    }
  });
  Parallel(blobs, [&](int b) {
    NativeClient client(channel);
    if (b % 2 == 0) client.set_lease("keep");
    if (!client.WriteBlob(absl::StrCat("b-", b), absl::StrCat("blob number ", b)).ok()) ++errors;
  });
  std::printf(
      "store: %d snapshots and %d blobs, half of each garbage (built in %.1f s, %ld "
      "errors)\n",
      chains * kChainDepth, blobs, Seconds(t0), errors.load());

  // Samplers: Stat of a held snapshot (a reader), Prepare+Remove (a writer).
  Sampler stat, prepare;
  NativeClient stat_client(channel), prepare_client(channel);
  stat.Start([&](long) { (void)stat_client.Stat("s-0-9"); });
  prepare.Start([&](long i) {
    std::string key = absl::StrCat("w-", i);
    (void)prepare_client.Prepare(key, "s-0-9");
    (void)prepare_client.Remove(key);
  });
  auto quiet_from = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto quiet_to = Clock::now();
  auto gc_from = Clock::now();
  auto summary = admin.Collect();
  auto gc_to = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stat.Stop();
  prepare.Stop();
  if (!summary.ok()) {
    std::fprintf(stderr, "gc_bench: gc: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "gc: %.2f s, removed %lld items (%s), kept %lld blobs and %lld snapshots; "
      "writers paused %.1f ms\n",
      std::chrono::duration<double>(gc_to - gc_from).count(),
      static_cast<long long>(summary->items()),
      absl::StrFormat("%.1f MiB", static_cast<double>(summary->bytes()) / (1 << 20)).c_str(),
      static_cast<long long>(summary->blobs_kept()),
      static_cast<long long>(summary->snapshots_kept()), summary->writers_paused_seconds() * 1000);
  PrintLatency("Stat", stat.Between(quiet_from, quiet_to), stat.Between(gc_from, gc_to));
  PrintLatency("Prepare", prepare.Between(quiet_from, quiet_to), prepare.Between(gc_from, gc_to));

  // Nothing left to remove: what a periodic collection costs.
  std::vector<double> total_ms, paused_ms;
  for (int i = 0; i < 10; ++i) {
    auto t = Clock::now();
    auto s = admin.Collect();
    if (!s.ok()) return 1;
    total_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    paused_ms.push_back(s->writers_paused_seconds() * 1000);
  }
  std::printf(
      "gc with nothing to remove (10 runs): median %.1f ms, writers paused median %.1f "
      "ms, max %.1f ms\n",
      Percentile(total_ms, 0.5), Percentile(paused_ms, 0.5), Percentile(paused_ms, 1.0));
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
