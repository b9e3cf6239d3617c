// strata pull against a real registry (Debian's docker-registry on
// loopback), holding what skopeo pushed from ../shared/images.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "tests/fault_proxy.h"
#include "tests/oci_builder.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using ::testing::HasSubstr;

class RegistryPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(registry_, RegistryProcess::Start(tmp_.Sub("registry")));
    ASSERT_OK(registry_->PushOciArchive(SharedImagesDir() + "/prebuilt/busybox.oci.tar",
                                        "library/busybox:latest"));
    ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                                        {"--registry-hosts", tmp_.Sub("certs.d")}));
  }

  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }
  std::string Ref(const std::string& repo_tag) { return registry_->host() + "/" + repo_tag; }

  // The manifest digests and blob counts `strata --json` shows.
  nlohmann::json Images() {
    RunResult r = Cli({"--json", "images"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output, nullptr, false);
  }
  size_t Blobs() {
    RunResult r = Cli({"--json", "blobs"});
    nlohmann::json j = nlohmann::json::parse(r.output, nullptr, false);
    return j.is_array() ? j.size() : 0;
  }

  TempDir tmp_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StratadProcess> daemon_;
};

TEST_F(RegistryPullTest, PullsWhatSkopeoPushedAndMountsTheSameTree) {
  RunResult r = Cli({"pull", Ref("library/busybox:latest")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("pulled " + Ref("library/busybox:latest")));
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  r = Cli({"mount", Ref("library/busybox:latest"), tmp_.Sub("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> diffs = CompareTreeWithExpectation(
      tmp_.Sub("mnt"), SharedImagesDir() + "/prebuilt/busybox.expected.json");
  EXPECT_TRUE(diffs.empty()) << diffs[0];
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
}

// By digest, under another name: the same manifest, and nothing fetched or
// stored twice.
TEST_F(RegistryPullTest, PullByDigestReusesWhatIsStored) {
  ASSERT_EQ(Cli({"pull", Ref("library/busybox:latest")}).exit_code, 0);
  nlohmann::json images = Images();
  ASSERT_EQ(images.size(), 1u) << images.dump();
  std::string digest = images[0]["target"]["digest"];
  size_t blobs = Blobs();
  RunResult r = Cli({"pull", Ref("library/busybox@" + digest), "--name", "local/busybox:pinned"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("pulled local/busybox:pinned"));
  images = Images();
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0]["target"]["digest"], images[1]["target"]["digest"]);
  EXPECT_EQ(Blobs(), blobs);
}

TEST_F(RegistryPullTest, BadReferencesAndMissingImagesFailCleanly) {
  RunResult r = Cli({"pull", Ref("library/busybox:nope")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("MANIFEST_UNKNOWN"));
  r = Cli({"pull", Ref("library/absent:latest")});
  EXPECT_NE(r.exit_code, 0);
  r = Cli({"pull", "Upper/Case"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("lower case"));
  r = Cli({"pull", Ref("library/busybox:latest"), "--platform", "linux"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("os/arch"));
  r = Cli({"pull", Ref("library/busybox:latest"), "--platform", "plan9/mips"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("plan9/mips"));
  EXPECT_EQ(Images().size(), 0u);
  EXPECT_EQ(Blobs(), 0u);  // a failed pull stores nothing but its resumable ingests
}

// Faults between strata and the registry: an image of three layers of
// random (incompressible) bytes, pulled through a fault-injecting proxy.
class RegistryFaultTest : public ::testing::Test {
 protected:
  static constexpr int64_t kMiB = 1 << 20;

  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(registry_, RegistryProcess::Start(tmp_.Sub("registry")));
    std::mt19937_64 random(12);
    OciImageSpec spec{"big", {}};
    for (int64_t size : {6 * kMiB, 3 * kMiB, 12 * kMiB}) {
      std::string bytes(static_cast<size_t>(size), '\0');
      for (char& c : bytes) c = static_cast<char>(random());
      files_.push_back(bytes);
      spec.layer_tars.push_back(OneFileLayer(absl::StrCat("layer", files_.size()), bytes));
      image_bytes_ += size;  // gzip keeps random bytes at about their size
    }
    WriteFileOrDie(tmp_.Sub("big.oci.tar"), BuildOciArchive({spec}));
    ASSERT_OK(registry_->PushOciArchive(tmp_.Sub("big.oci.tar"), "library/big:latest"));
    ASSERT_OK_AND_ASSIGN(proxy_, FaultProxy::Start(registry_->host()));
    StartDaemon();
  }
  void StartDaemon(std::vector<std::string> extra = {}) {
    daemon_.reset();
    extra.insert(extra.begin(), {"--registry-hosts", tmp_.Sub("certs.d")});
    ASSERT_OK_AND_ASSIGN(daemon_,
                         StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"), extra));
  }

  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }
  std::string Ref() { return proxy_->host() + "/library/big:latest"; }
  size_t Listed(const std::string& what) {
    RunResult r = Cli({"--json", what});
    nlohmann::json j = nlohmann::json::parse(r.output, nullptr, false);
    return j.is_array() ? j.size() : 0;
  }
  // The pulled image mounts with every layer's file intact.
  void ExpectPulledIntact() {
    ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
    RunResult r = Cli({"mount", Ref(), tmp_.Sub("mnt")});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (size_t i = 0; i < files_.size(); ++i) {
      EXPECT_TRUE(ReadFileOrDie(tmp_.Sub(absl::StrCat("mnt/layer", i + 1))) == files_[i])
          << "layer " << i + 1;
    }
    ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
  }

  TempDir tmp_;
  std::vector<std::string> files_;
  int64_t image_bytes_ = 0;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<StratadProcess> daemon_;
};

// Each dropped connection resumes from the ingest's offset with a Range
// request: the bytes sent add up to the image once, not once per drop.
TEST_F(RegistryFaultTest, DroppedConnectionsResumeFromTheirOffset) {
  proxy_->Set({.drop_after = 2 * kMiB, .drops = 4});
  RunResult r = Cli({"pull", Ref()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(proxy_->blob_requests(), 3 + 4);  // every layer, and a request after each drop
  EXPECT_LE(proxy_->blob_bytes_sent(), image_bytes_ + kMiB);
  ExpectPulledIntact();
}

// A registry that ignores Range answers 200 with the whole blob: the
// download starts over, and the blob is still verified.
TEST_F(RegistryFaultTest, RangeIgnoredStartsTheBlobOver) {
  proxy_->Set({.drop_after = 2 * kMiB, .drops = 1, .ignore_range = true});
  RunResult r = Cli({"pull", Ref()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(proxy_->blob_bytes_sent(), image_bytes_ + 2 * kMiB);
  ExpectPulledIntact();
}

// Wrong bytes are DATA_LOSS naming the blob; nothing of the pull is kept.
TEST_F(RegistryFaultTest, CorruptBytesAreDataLossAndLeaveNothing) {
  proxy_->Set({.corrupt = true});
  RunResult r = Cli({"--json", "pull", Ref()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"code\":\"DATA_LOSS\""));
  EXPECT_THAT(r.output, HasSubstr("library/big@sha256:"));
  EXPECT_EQ(Listed("images"), 0u);
  EXPECT_EQ(Listed("blobs"), 0u);
  EXPECT_EQ(Listed("snapshots"), 0u);
  r = Cli({"fsck"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Once the bytes are right, the same pull succeeds.
  proxy_->Set({});
  r = Cli({"pull", Ref()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectPulledIntact();
}

// The registry's refusals and oversized manifests, and a registry that is
// not there, each with its status code and nothing kept.
TEST_F(RegistryFaultTest, RefusalsAndOversizedManifestsFailClearly) {
  proxy_->Set({.manifest_status = 403});
  RunResult r = Cli({"--json", "pull", Ref()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(r.output, HasSubstr("this proxy says no"));
  proxy_->Set({.manifest_status = 401});
  r = Cli({"--json", "pull", Ref()});
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
  proxy_->Set({.manifest_padding = 5 * kMiB});
  r = Cli({"--json", "pull", Ref()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("RESOURCE_EXHAUSTED"));
  ASSERT_OK_AND_ASSIGN(int nobody, FreeLoopbackPort());
  r = Cli({"--json", "pull", absl::StrCat("127.0.0.1:", nobody, "/library/big:latest")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(Listed("images"), 0u);
  EXPECT_EQ(Listed("blobs"), 0u);
}

// A layer over the daemon's limit is refused before a byte of it comes.
TEST_F(RegistryFaultTest, LayersOverTheLimitAreRefusedUnfetched) {
  StartDaemon({"--max-layer-bytes", std::to_string(8 * kMiB)});
  RunResult r = Cli({"--json", "pull", Ref()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(r.output, HasSubstr("over the limit"));
  EXPECT_LT(proxy_->blob_bytes_sent(), 64 << 10);  // the config alone
  EXPECT_EQ(Listed("images"), 0u);
}

// 429 and 503 are retried after the Retry-After the registry asks for.
TEST_F(RegistryFaultTest, BusyRegistryIsRetriedAfterItsRetryAfter) {
  proxy_->Set({.busy = 3});
  absl::Time start = absl::Now();
  RunResult r = Cli({"pull", Ref()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(proxy_->busy_answered(), 3);
  EXPECT_GE(absl::Now() - start, absl::Seconds(3));  // Retry-After: 1, three times
  ExpectPulledIntact();
}

// A chunked upload whose connection drops before its bytes land goes on in
// the same session, from the offset the registry reports.
TEST_F(RegistryFaultTest, DroppedUploadsGoOnFromTheRegistrysOffset) {
  ASSERT_EQ(Cli({"import", tmp_.Sub("big.oci.tar"), "--name", "local/big:1"}).exit_code, 0);
  proxy_->Set({.upload_cut_at = 0, .upload_drops = 3});
  RunResult r = Cli({"--json", "push", "local/big:1", proxy_->host() + "/mine/big:1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(proxy_->uploads_cut(), 3);
  EXPECT_EQ(proxy_->upload_sessions(), 4);  // three layers and the config, none begun again
  r = RunCommand({"skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                  "docker://" + registry_->host() + "/mine/big:1",
                  "oci:" + tmp_.Sub("copy") + ":x"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// A chunked upload whose connection drops after some bytes reached the
// registry goes on: distribution 2.8 gives such a session up, and the push
// starts a new one; what the registry ends with reads back whole.
TEST_F(RegistryFaultTest, DroppedUploadsWithBytesLandedStartANewSession) {
  ASSERT_EQ(Cli({"import", tmp_.Sub("big.oci.tar"), "--name", "local/big:1"}).exit_code, 0);
  proxy_->Set({.upload_cut_at = 3 * kMiB, .upload_drops = 3});
  const std::string ref = proxy_->host() + "/mine/big:1";
  RunResult r = Cli({"--json", "push", "local/big:1", ref});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(proxy_->uploads_cut(), 3);
  EXPECT_EQ(proxy_->upload_sessions(), 4 + 3);
  nlohmann::json pushed = nlohmann::json::parse(r.output, nullptr, false);
  EXPECT_EQ(pushed["blobs_uploaded"], 4);
  r = RunCommand({"skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                  "docker://" + registry_->host() + "/mine/big:1",
                  "oci:" + tmp_.Sub("copy") + ":x"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// Clients pulling the same image at once cause one download: the registry
// sends each blob once.
TEST_F(RegistryFaultTest, ConcurrentPullsDownloadOnce) {
  proxy_->Set({.bytes_per_second = 40 * kMiB});
  constexpr int kClients = 6;
  std::vector<RunResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { results[i] = Cli({"pull", Ref()}); });
  }
  for (std::thread& t : clients) t.join();
  for (const RunResult& r : results) EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LE(proxy_->blob_bytes_sent(), image_bytes_ * 102 / 100);
  EXPECT_EQ(Listed("snapshots"), 3u);
  ExpectPulledIntact();
}

// kill -9 halfway through the download, restart, pull again: the layers
// resume from what their ingests hold.
TEST_F(RegistryFaultTest, KilledMidLayerResumesAfterRestart) {
  proxy_->Set({.bytes_per_second = 10 * kMiB});
  pid_t cli =
      Spawn({StrataCliPath(), "--socket", tmp_.Sub("s.sock"), "pull", Ref()}, tmp_.Sub("cli.log"));
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       proxy_->blob_bytes_sent() < image_bytes_ / 2 && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  int64_t sent_before_kill = proxy_->blob_bytes_sent();
  ASSERT_GE(sent_before_kill, image_bytes_ / 2);
  daemon_->Stop(SIGKILL);
  EXPECT_NE(WaitExit(cli), 0);
  StartDaemon();
  proxy_->Set({});
  RunResult r = Cli({"pull", Ref()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int64_t refetched = proxy_->blob_bytes_sent() - image_bytes_;
  EXPECT_LE(refetched, 8 * kMiB) << "sent before the kill: " << sent_before_kill;
  ExpectPulledIntact();
}

}  // namespace
}  // namespace strata::testing
