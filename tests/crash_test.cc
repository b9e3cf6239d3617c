// Crash safety, shown: a seeded workload (import, rmi, prepare + write +
// commit as an image, snapshot commit and remove under a lease, content
// writes, garbage collection) runs against a real stratad, which is killed
// with SIGKILL at a seeded moment, restarted, and checked, over and over.
//
// After every restart: everything a call acknowledged is there and whole
// (images resolve, every layer unpacked, views mount with the files
// written; blobs and snapshots present), what was acknowledged as deleted
// stays deleted, whatever exists is whole (no half-made image), start-up
// recovery left no staging entries, orphan directories, unrecorded blobs or
// dead ingests, and fsck (which re-hashes every blob) is clean.
//
// STRATA_CRASH_SEED (default 1) and STRATA_CRASH_POINTS (default 100) pick
// the run; a failure prints the seed and kill point to reproduce it. The
// workload and the kill delays are reproducible; where exactly a kill lands
// inside the daemon also depends on timing.
#include <signal.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/mount.h"
#include "layerstore/digest.h"
#include "tests/native_client.h"
#include "tests/oci_builder.h"
#include "tests/store_checks.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::testing {
namespace {

using Files = std::map<std::string, std::string>;  // path in the rootfs -> content

// What the daemon acknowledged, and what it may or may not have done.
struct Ledger {
  std::map<std::string, Files> images;  // name -> files its rootfs must have
  std::set<std::string> uncertain_images;
  std::set<std::string> deleted_images;
  std::set<std::string> snapshots;  // committed under the lease
  std::set<std::string> removed_snapshots;
  std::map<std::string, std::string> blobs;  // digest -> data, under the lease
};

constexpr char kLease[] = "crash-test";

class CrashTest : public ::testing::Test {
 protected:
  void StartDaemon() {
    auto p = StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"));
    ASSERT_OK(p);
    daemon_ = std::move(*p);
  }

  // One step of the workload; updates the ledger only for acknowledged calls.
  void Step(NativeClient& c, std::mt19937& rng, int n) {
    static const std::vector<std::string> kBases = {OneFileLayer("base.txt", "base-0"),
                                                    OneFileLayer("base.txt", "base-1"),
                                                    OneFileLayer("base.txt", "base-2")};
    int op = static_cast<int>(rng() % 100);
    std::string tag = absl::StrCat(point_, "-", n);
    if (op < 30) {  // import
      std::string name = absl::StrCat("crash/img:", rng() % 6);
      std::string id = "img-" + tag;
      std::string archive =
          BuildOciArchive({{name, {kBases[rng() % 3], OneFileLayer("id.txt", id)}}});
      Uncertain(name);
      if (c.Import(archive).ok()) Acknowledge(name, {{"id.txt", id}});
    } else if (op < 36) {  // rmi
      if (ledger_.images.empty()) return;
      std::string name = Pick(ledger_.images, rng);
      Uncertain(name);
      if (c.DeleteImage(name).ok()) {
        ledger_.uncertain_images.erase(name);
        ledger_.deleted_images.insert(name);
      }
    } else if (op < 55) {  // a container's changes committed as a new image
      if (ledger_.images.empty()) return;
      std::string base = Pick(ledger_.images, rng);
      Files files = ledger_.images[base];
      absl::StatusOr<strata::v1::Image> img = c.GetImage(base);
      if (!img.ok()) return;
      std::string key = "work-" + tag;
      absl::StatusOr<std::vector<MountSpec>> rw = c.Prepare(key, img->top_chain_id());
      if (!rw.ok()) return;
      std::string dir = tmp_.Sub("work-mnt");
      ASSERT_OK(MakeDirs(dir));
      ASSERT_OK(MountAll(*rw, dir));
      WriteFileOrDie(dir + "/written.txt", tag);
      ASSERT_OK(Unmount(dir));
      std::string name = absl::StrCat("crash/commit:", rng() % 3);
      files["written.txt"] = tag;
      Uncertain(name);
      if (c.CommitImage(key, name, base).ok()) Acknowledge(name, files);
    } else if (op < 70) {  // a snapshot committed under the lease
      c.set_lease(kLease);
      std::string key = "snap-" + tag;
      if (c.Prepare("p-" + key, "").ok() && c.Commit(key, "p-" + key).ok()) {
        ledger_.snapshots.insert(key);
      }
      c.set_lease("");
    } else if (op < 78) {  // remove one
      if (ledger_.snapshots.empty()) return;
      auto it = ledger_.snapshots.begin();
      std::advance(it, rng() % ledger_.snapshots.size());
      std::string key = *it;
      ledger_.snapshots.erase(it);  // uncertain until acknowledged
      if (c.Remove(key).ok()) ledger_.removed_snapshots.insert(key);
    } else if (op < 92) {  // content under the lease
      c.set_lease(kLease);
      std::string data = absl::StrCat("blob ", tag, " ", rng());
      absl::StatusOr<std::string> d = c.WriteBlob("ref-" + tag, data);
      if (d.ok()) ledger_.blobs[*d] = data;
      c.set_lease("");
    } else {
      (void)c.Collect();
    }
  }

  void Uncertain(const std::string& name) {
    ledger_.uncertain_images.insert(name);
    ledger_.images.erase(name);
    ledger_.deleted_images.erase(name);
  }
  void Acknowledge(const std::string& name, const Files& files) {
    ledger_.uncertain_images.erase(name);
    ledger_.images[name] = files;
  }
  template <typename Map>
  static std::string Pick(const Map& m, std::mt19937& rng) {
    auto it = m.begin();
    std::advance(it, rng() % m.size());
    return it->first;
  }

  // An image that exists must be whole: every layer unpacked and its blob
  // stored, and a view of it mounts; `files` (when known) are in it.
  void ExpectWholeImage(NativeClient& c, const strata::v1::Image& img, const Files* files) {
    for (const auto& l : img.layers()) {
      EXPECT_TRUE(l.unpacked()) << img.name() << " layer " << l.chain_id();
      EXPECT_TRUE(c.HasBlob(l.blob().digest())) << img.name() << " blob " << l.blob().digest();
    }
    std::string key = "check-" + img.name();
    absl::StatusOr<std::vector<MountSpec>> view = c.View(key, img.top_chain_id());
    ASSERT_OK(view) << img.name();
    std::string dir = tmp_.Sub("check-mnt");
    ASSERT_OK(MakeDirs(dir));
    ASSERT_OK(MountAll(*view, dir));
    EXPECT_TRUE(Exists(dir + "/base.txt")) << img.name();
    if (files != nullptr) {
      for (const auto& [path, content] : *files) {
        EXPECT_EQ(Exists(dir + "/" + path) ? ReadFileOrDie(dir + "/" + path) : "<missing>", content)
            << img.name() << ": " << path;
      }
    }
    ASSERT_OK(Unmount(dir));
    ASSERT_OK(c.Remove(key));
  }

  void CheckAfterRestart() {
    NativeClient c(daemon_->channel());
    // Recovery left nothing half-made on disk, and fsck is clean.
    ExpectNothingHalfMade(c, tmp_.Sub("root"), "ref-", "after restart");

    // Acknowledged state.
    for (const auto& [name, files] : ledger_.images) {
      absl::StatusOr<strata::v1::Image> img = c.GetImage(name);
      ASSERT_OK(img) << "acknowledged image " << name << " is gone";
      ExpectWholeImage(c, *img, &files);
    }
    for (const std::string& name : ledger_.deleted_images) {
      EXPECT_FALSE(c.GetImage(name).ok()) << "deleted image " << name << " came back";
    }
    for (const std::string& key : ledger_.snapshots) {
      EXPECT_OK(c.Stat(key)) << "acknowledged snapshot " << key;
    }
    for (const std::string& key : ledger_.removed_snapshots) {
      EXPECT_FALSE(c.Stat(key).ok()) << "removed snapshot " << key << " came back";
    }
    for (const auto& [digest, data] : ledger_.blobs) {
      EXPECT_EQ(digest, layerstore::Sha256Of(data).str());
      EXPECT_TRUE(c.HasBlob(digest)) << "acknowledged blob " << digest;
    }
    // Whatever else exists (calls cut short) is whole too.
    absl::StatusOr<std::vector<strata::v1::Image>> all = c.ListImages();
    ASSERT_OK(all);
    for (const auto& img : *all) {
      if (!ledger_.images.count(img.name())) ExpectWholeImage(c, img, nullptr);
    }
  }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> daemon_;
  Ledger ledger_;
  int point_ = 0;
};

TEST_F(CrashTest, SigkillAtSeededPointsLosesNothingAcknowledged) {
  const int seed = EnvInt("STRATA_CRASH_SEED", 1);
  const int points = EnvInt("STRATA_CRASH_POINTS", 100);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  StartDaemon();
  {
    NativeClient c(daemon_->channel());
    ASSERT_OK(c.CreateLease(kLease).status());
  }
  std::atomic<int> steps{0};
  for (point_ = 0; point_ < points; ++point_) {
    SCOPED_TRACE(absl::StrCat("STRATA_CRASH_SEED=", seed, " kill point ", point_));
    // The workload runs on its own thread; this one kills the daemon.
    uint32_t workload_seed = rng();
    auto delay = std::chrono::microseconds(5000 + rng() % 250000);
    std::atomic<bool> stop{false};
    std::thread workload([&] {
      std::mt19937 wrng(workload_seed);
      NativeClient c(daemon_->channel());
      for (int n = 0; !stop; ++n) {
        Step(c, wrng, n);
        ++steps;
      }
    });
    std::this_thread::sleep_for(delay);
    daemon_->Stop(SIGKILL);
    stop = true;
    workload.join();
    (void)Unmount(tmp_.Sub("work-mnt"));  // a workload step cut short leaves it mounted
    StartDaemon();
    CheckAfterRestart();
    if (HasFatalFailure()) return;
  }
  std::printf("crash: %d kill points, %d workload steps, %zu images, %zu snapshots, %zu blobs\n",
              points, steps.load(), ledger_.images.size(), ledger_.snapshots.size(),
              ledger_.blobs.size());
  // A clean stop at the end and one more check.
  ASSERT_EQ(daemon_->Stop(SIGTERM), 0);
  StartDaemon();
  CheckAfterRestart();
}

}  // namespace
}  // namespace strata::testing
