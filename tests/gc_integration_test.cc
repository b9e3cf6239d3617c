// Garbage collection and leases through a real stratad: the CLI (gc, leases),
// the containerd-lease header, the daemon's collect-after-deletions policy,
// and a stress run where clients import, prepare, commit and delete while
// collections run back to back.
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/native_client.h"
#include "tests/oci_builder.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using Code = absl::StatusCode;

class GcIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { StartDaemon({}); }

  void StartDaemon(const std::vector<std::string>& args) {
    if (daemon_) {
      ASSERT_EQ(daemon_->Stop(SIGTERM), 0);
    }
    auto p = StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"), args);
    ASSERT_OK(p);
    daemon_ = std::move(*p);
    client_ = std::make_unique<NativeClient>(daemon_->channel());
  }
  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }
  std::string Busybox() { return SharedImagesDir() + "/prebuilt/busybox.oci.tar"; }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> daemon_;
  std::unique_ptr<NativeClient> client_;
};

TEST_F(GcIntegrationTest, CliGcDryRunThenGc) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  RunResult r = Cli({"gc", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("would remove 0 items"));
  ASSERT_EQ(Cli({"rmi", "docker.io/library/busybox:latest"}).exit_code, 0);

  r = Cli({"gc", "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json dry = json::parse(r.output);
  EXPECT_TRUE(dry["dry_run"].get<bool>());
  EXPECT_EQ(dry["items"].size(), 4u);  // manifest, config, layer blob, layer snapshot
  EXPECT_GT(dry["bytes"].get<int64_t>(), 1'000'000);
  ASSERT_OK_AND_ASSIGN(auto blobs, client_->ListBlobs());
  EXPECT_EQ(blobs.size(), 3u) << "a dry run removes nothing";

  r = Cli({"gc"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("removed snapshot sha256:"));
  EXPECT_THAT(r.output, HasSubstr("removed 4 items"));
  ASSERT_OK_AND_ASSIGN(blobs, client_->ListBlobs());
  EXPECT_TRUE(blobs.empty());
  EXPECT_THAT(Cli({"snapshots"}).output, Not(HasSubstr("sha256:")));
  EXPECT_EQ(Cli({"fsck"}).exit_code, 0);
}

TEST_F(GcIntegrationTest, LeaseHeaderHoldsBlobsAndSnapshotsUntilTheLeaseGoes) {
  RunResult r = Cli({"leases", "create", "--id", "build-1", "--ttl", "1h", "--label", "who=test"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "build-1\n");
  client_->set_lease("build-1");
  ASSERT_OK_AND_ASSIGN(std::string digest, client_->WriteBlob("ref-1", "leased bytes"));
  ASSERT_OK(client_->Prepare("p", "").status());
  ASSERT_OK(client_->Commit("c", "p"));
  client_->set_lease("");
  // Without a lease a committed snapshot is garbage at once.
  ASSERT_OK(client_->Prepare("p2", "").status());
  ASSERT_OK(client_->Commit("unheld", "p2"));

  r = Cli({"--json", "leases"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json leases = json::parse(r.output);
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0]["id"], "build-1");
  // The ingest, the blob, the active snapshot and what it was committed as.
  EXPECT_EQ(leases[0]["resources"], 4);
  EXPECT_EQ(leases[0]["labels"]["who"], "test");

  ASSERT_OK_AND_ASSIGN(auto summary, client_->Collect());
  EXPECT_EQ(summary.items(), 1);
  EXPECT_THAT(client_->Stat("unheld"), StatusIs(Code::kNotFound));
  EXPECT_OK(client_->Stat("c"));
  EXPECT_TRUE(client_->HasBlob(digest));

  ASSERT_EQ(Cli({"leases", "rm", "build-1"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(summary, client_->Collect());
  EXPECT_EQ(summary.items(), 2);
  EXPECT_THAT(client_->Stat("c"), StatusIs(Code::kNotFound));
  EXPECT_FALSE(client_->HasBlob(digest));
}

TEST_F(GcIntegrationTest, LeaseErrorsAreClear) {
  RunResult r = Cli({"leases", "rm", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("lease \"nope\" does not exist"));
  r = Cli({"leases", "create", "--id", "../bad"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("is invalid"));
  ASSERT_EQ(Cli({"leases", "create", "--id", "dup"}).exit_code, 0);
  r = Cli({"leases", "create", "--id", "dup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("already exists"));
  r = Cli({"leases", "create", "--ttl", "soon"});
  EXPECT_EQ(r.exit_code, 2) << "a bad value is a usage error";
  // A TTL past what the clock can hold is refused, not clamped.
  r = Cli({"leases", "create", "--ttl", "2000000000h"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("too long"));
  // A lease past its expiry is listed as expired.
  ASSERT_EQ(Cli({"leases", "create", "--id", "brief", "--ttl", "1s"}).exit_code, 0);
  absl::SleepFor(absl::Milliseconds(1100));
  r = Cli({"leases"});
  EXPECT_THAT(r.output, HasSubstr("(expired)")) << r.output;
  r = Cli({"leases", "--json"});
  EXPECT_THAT(r.output, HasSubstr("\"expired\": true")) << r.output;
  // A call naming a lease that does not exist fails and creates nothing.
  client_->set_lease("missing");
  EXPECT_THAT(client_->Prepare("x", "").status(), StatusIs(Code::kNotFound));
  std::string archive = BuildOciArchive({{"test/x:1", {OneFileLayer("x", "x")}}});
  EXPECT_THAT(client_->Import(archive).status(), StatusIs(Code::kNotFound));
  client_->set_lease("");
  EXPECT_THAT(client_->Stat("x"), StatusIs(Code::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto blobs, client_->ListBlobs());
  EXPECT_TRUE(blobs.empty());
}

TEST_F(GcIntegrationTest, DaemonCollectsAfterDeletionsWhenAskedTo) {
  StartDaemon({"--gc-after-deletions"});
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_EQ(Cli({"rmi", "docker.io/library/busybox:latest"}).exit_code, 0);
  // The policy waits for deletions to settle (2 s), then collects.
  bool emptied = false;
  for (int i = 0; i < 100 && !emptied; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    ASSERT_OK_AND_ASSIGN(auto blobs, client_->ListBlobs());
    emptied = blobs.empty();
  }
  EXPECT_TRUE(emptied) << "the layer blobs should have been collected";
}

// Clients import, prepare, write, commit and delete in loops while another
// collects garbage back to back. Every call must succeed, and everything
// that survives must resolve and mount with its files.
TEST_F(GcIntegrationTest, StressClientsAgainstContinuousCollection) {
  const int kClients = 4;
  const absl::Duration kRun = absl::Seconds(15);
  std::vector<std::string> bases = {OneFileLayer("base.txt", "base-0\n"),
                                    OneFileLayer("base.txt", "base-1\n")};
  std::atomic<bool> stop{false};
  std::atomic<int> collections{0}, rounds{0};
  std::thread collector([&] {
    NativeClient c(daemon_->channel());
    while (!stop) {
      EXPECT_OK(c.Collect().status());
      ++collections;
    }
  });
  auto mount_and_read = [&](const std::vector<MountSpec>& mounts, const std::string& dir,
                            const std::string& file) -> std::string {
    EXPECT_OK(MakeDirs(dir));
    EXPECT_OK(MountAll(mounts, dir));
    std::string content = Exists(dir + "/" + file) ? ReadFileOrDie(dir + "/" + file) : "<missing>";
    EXPECT_OK(Unmount(dir));
    return content;
  };
  auto client_loop = [&](int t) {
    NativeClient c(daemon_->channel());
    absl::Time end = absl::Now() + kRun;
    for (int i = 0; absl::Now() < end; ++i) {
      std::string tag = absl::StrCat(t, "-", i);
      std::string name = absl::StrCat("stress/c", t, ":", i % 3);
      std::string archive = BuildOciArchive(
          {{name, {bases[i % 2], OneFileLayer("top.txt", absl::StrCat("top ", i % 5, "\n"))}}});
      absl::StatusOr<std::vector<strata::v1::Image>> imported = c.Import(archive);
      ASSERT_OK(imported) << tag;
      std::string top = (*imported)[0].top_chain_id();

      // A container: write into it, commit it as an image.
      std::string key = "work-" + tag;
      ASSERT_OK_AND_ASSIGN(auto rw, c.Prepare(key, top));
      std::string dir = tmp_.Sub("mnt-" + tag);
      ASSERT_OK(MakeDirs(dir));
      ASSERT_OK(MountAll(rw, dir));
      WriteFileOrDie(dir + "/written.txt", tag);
      ASSERT_OK(Unmount(dir));
      std::string committed = absl::StrCat("stress/commit", t, ":", i % 2);
      ASSERT_OK(c.CommitImage(key, committed, name).status()) << tag;

      // A snapshot chain held by a lease, released at once.
      ASSERT_OK_AND_ASSIGN(std::string lease, c.CreateLease(""));
      c.set_lease(lease);
      ASSERT_OK(c.Prepare("leased-" + tag, "").status());
      ASSERT_OK(c.Commit("leased-c-" + tag, "leased-" + tag));
      c.set_lease("");
      EXPECT_OK(c.Stat("leased-c-" + tag));
      ASSERT_OK(c.DeleteLease(lease));

      // What this client just made resolves and mounts.
      ASSERT_OK_AND_ASSIGN(strata::v1::Image img, c.GetImage(committed));
      ASSERT_OK_AND_ASSIGN(auto view, c.View("view-" + tag, img.top_chain_id()));
      EXPECT_EQ(mount_and_read(view, dir, "written.txt"), tag);
      EXPECT_EQ(mount_and_read(view, dir, "base.txt"), absl::StrCat("base-", i % 2, "\n"));
      ASSERT_OK(c.Remove("view-" + tag));
      // Some names go, for the collector to find garbage.
      absl::Status del = c.DeleteImage(absl::StrCat("stress/c", t, ":", (i + 1) % 3));
      EXPECT_TRUE(del.ok() || absl::IsNotFound(del)) << del;
      ++rounds;
    }
  };
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) clients.emplace_back(client_loop, t);
  for (auto& th : clients) th.join();
  stop = true;
  collector.join();
  std::printf("stress: %d client rounds, %d collections\n", rounds.load(), collections.load());
  EXPECT_GT(rounds.load(), kClients);
  EXPECT_GT(collections.load(), 2);

  // One more collection, then every surviving image mounts whole.
  ASSERT_OK(client_->Collect().status());
  ASSERT_OK_AND_ASSIGN(auto images, client_->ListImages());
  EXPECT_FALSE(images.empty());
  for (const auto& img : images) {
    for (const auto& l : img.layers()) {
      EXPECT_TRUE(l.unpacked()) << img.name() << " " << l.chain_id();
      EXPECT_TRUE(client_->HasBlob(l.blob().digest())) << img.name();
    }
    ASSERT_OK_AND_ASSIGN(auto view, client_->View("final-" + img.name(), img.top_chain_id()));
    std::string dir = tmp_.Sub("final");
    EXPECT_THAT(mount_and_read(view, dir, "base.txt"), HasSubstr("base-")) << img.name();
    ASSERT_OK(client_->Remove("final-" + img.name()));
  }
  // Committed active snapshots became layers; what remains active is none.
  ASSERT_OK_AND_ASSIGN(strata::v1::CheckResponse check, client_->Check());
  for (const auto& p : check.problems()) ADD_FAILURE() << p.what();
  // With every name gone, everything goes.
  for (const auto& img : images) ASSERT_OK(client_->DeleteImage(img.name()));
  ASSERT_OK(client_->Collect().status());
  ASSERT_OK_AND_ASSIGN(auto blobs, client_->ListBlobs());
  EXPECT_TRUE(blobs.empty()) << blobs.size() << " blobs left";
  EXPECT_THAT(Cli({"snapshots"}).output, Not(HasSubstr("sha256:")));
}

}  // namespace
}  // namespace strata::testing
