// strata pull against a real registry (Debian's docker-registry on
// loopback), holding what skopeo pushed from ../shared/images.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "layerstore/digest.h"
#include "layerstore/oci.h"
#include "tests/fault_proxy.h"
#include "tests/oci_builder.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/subprocess.h"
#include "tests/tar_builder.h"
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
  EXPECT_THAT(r.output, HasSubstr("pulled docker.io/local/busybox:pinned"));
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
  EXPECT_EQ(r.exit_code, 2) << r.output;  // a bad command line
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

// Ctrl-C on `strata pull` cancels the pull in the daemon: the download
// stops, no image is named, the call's lease is rolled back, and the call is
// logged CANCELLED. (Blobs' ingests may stay, to resume a later pull.)
TEST_F(RegistryFaultTest, CtrlCCancelsThePullInTheDaemon) {
  proxy_->Set({.bytes_per_second = 512 << 10});  // about 40 s for the image
  pid_t cli =
      Spawn({StrataCliPath(), "--socket", tmp_.Sub("s.sock"), "pull", Ref()}, tmp_.Sub("cli.log"));
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       proxy_->blob_bytes_sent() < kMiB && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GE(proxy_->blob_bytes_sent(), kMiB);
  ASSERT_EQ(::kill(cli, SIGINT), 0);
  EXPECT_EQ(WaitExit(cli), 130);
  // The daemon notices within a moment and stops taking bytes.
  std::string call;  // the call's own log line
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);
       call.empty() && absl::Now() < deadline;) {
    for (absl::string_view line : absl::StrSplit(ReadFileOrDie(daemon_->log_path()), '\n')) {
      if (absl::StrContains(line, "/strata.v1.Images/Pull")) call = std::string(line);
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(call, HasSubstr("code=CANCELLED"));
  int64_t sent = proxy_->blob_bytes_sent();
  absl::SleepFor(absl::Seconds(2));
  EXPECT_LE(proxy_->blob_bytes_sent() - sent, 256 << 10) << "the download went on";
  EXPECT_LT(proxy_->blob_bytes_sent(), image_bytes_ / 2);
  EXPECT_EQ(Listed("images"), 0u);
  EXPECT_EQ(Listed("snapshots"), 0u);
  EXPECT_EQ(Listed("leases"), 0u);
  // A later pull resumes from what the ingests hold.
  proxy_->Set({});
  RunResult r = Cli({"pull", Ref()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectPulledIntact();
}

// A blob dripped a few bytes a second keeps no pull alive: stalls count
// against the resumes however many bytes trickled through, and a download
// has a total deadline.
TEST_F(RegistryFaultTest, ADrippedBlobIsGivenUp) {
  StartDaemon({"--registry-stall-timeout", "1s"});
  proxy_->Set({.bytes_per_second = 16});
  absl::Time start = absl::Now();
  RunResult r = Cli({"pull", Ref()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("stalled"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(40));
  EXPECT_EQ(Listed("images"), 0u);

  StartDaemon({"--registry-download-timeout", "3s"});
  proxy_->Set({.bytes_per_second = 256 << 10});  // steady, but the image needs 80 s
  start = absl::Now();
  r = Cli({"pull", Ref()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not downloaded within 3s"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  EXPECT_EQ(Listed("images"), 0u);
  EXPECT_EQ(Listed("leases"), 0u);
}

// A registry that misbehaves on purpose, written here on httplib: it serves
// exactly the documents each case needs.
class HostileRegistryTest : public ::testing::Test {
 protected:
  struct Doc {
    std::string type;
    std::string body;
  };

  void SetUp() override {
    server_.Get("/v2/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{}", "application/json");
    });
    server_.Get(R"(/v2/r/(manifests|blobs)/(.+))", [this](const httplib::Request& req,
                                                          httplib::Response& res) {
      const std::string key = req.matches[2];
      if (req.matches[1] == "blobs") ++blob_requests_;
      if (key == "huge") {
        // Says 10 GB, and would send them slowly.
        res.set_content_provider(size_t{10} << 30, layerstore::media_type::kOciManifest,
                                 [this](size_t, size_t, httplib::DataSink& sink) {
                                   std::string chunk(64 << 10, ' ');
                                   absl::SleepFor(absl::Milliseconds(10));
                                   huge_sent_ += chunk.size();
                                   return sink.write(chunk.data(), chunk.size());
                                 });
        return;
      }
      auto it = docs_.find(key);
      if (it == docs_.end()) {
        res.status = 404;
        return;
      }
      res.set_header("Docker-Content-Digest", layerstore::Sha256Of(it->second.body).str());
      res.set_content(it->second.body, it->second.type);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                                        {"--registry-hosts", tmp_.Sub("hosts")}));
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Stores `body` by its digest (and under `tag`, if given); returns its descriptor.
  nlohmann::json Add(const std::string& type, const std::string& body,
                     const std::string& tag = "") {
    std::string digest = layerstore::Sha256Of(body).str();
    docs_[digest] = {type, body};
    if (!tag.empty()) docs_[tag] = {type, body};
    return {{"mediaType", type}, {"digest", digest}, {"size", body.size()}};
  }
  // A one-layer image (hello.txt) whose config has media type `config_type`;
  // returns its manifest's descriptor.
  nlohmann::json AddImage(const std::string& config_type) {
    std::string tar = OneFileLayer("hello.txt", "hello from a nested index\n");
    nlohmann::json layer = Add(layerstore::media_type::kOciLayerGzip, Gzip(tar));
    layerstore::Platform host = layerstore::HostPlatform();
    nlohmann::json config_doc = {
        {"architecture", host.architecture},
        {"os", host.os},
        {"rootfs", {{"type", "layers"}, {"diff_ids", {layerstore::Sha256Of(tar).str()}}}}};
    nlohmann::json config = Add(config_type, config_doc.dump());
    nlohmann::json manifest = {{"schemaVersion", 2},
                               {"mediaType", layerstore::media_type::kOciManifest},
                               {"config", config},
                               {"layers", {layer}}};
    return Add(layerstore::media_type::kOciManifest, manifest.dump());
  }
  std::string Ref(const std::string& tag) { return absl::StrCat("127.0.0.1:", port_, "/r:", tag); }
  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }

  TempDir tmp_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, Doc> docs_;
  std::atomic<int> blob_requests_{0};
  std::atomic<int64_t> huge_sent_{0};
  std::unique_ptr<StratadProcess> daemon_;
};

// index -> index (no platform) -> the host's manifest: followed, as the OCI
// image spec allows and containerd does.
TEST_F(HostileRegistryTest, NestedIndexIsFollowed) {
  nlohmann::json manifest = AddImage(layerstore::media_type::kOciConfig);
  layerstore::Platform host = layerstore::HostPlatform();
  manifest["platform"] = {{"os", host.os}, {"architecture", host.architecture}};
  nlohmann::json inner = Add(layerstore::media_type::kOciIndex,
                             nlohmann::json({{"schemaVersion", 2},
                                             {"mediaType", layerstore::media_type::kOciIndex},
                                             {"manifests", {manifest}}})
                                 .dump());
  Add(layerstore::media_type::kOciIndex,
      nlohmann::json({{"schemaVersion", 2},
                      {"mediaType", layerstore::media_type::kOciIndex},
                      {"manifests", {inner}}})
          .dump(),
      "nested");
  RunResult r = Cli({"pull", Ref("nested")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_OK(MakeDirs(tmp_.Sub("m")));
  ASSERT_EQ(Cli({"mount", Ref("nested"), tmp_.Sub("m")}).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("m/hello.txt")), "hello from a nested index\n");
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("m")}).exit_code, 0);
  // Every index stays with the image: fsck finds it whole, gc keeps it.
  ASSERT_EQ(Cli({"gc"}).exit_code, 0);
  EXPECT_EQ(Cli({"fsck"}).exit_code, 0);
}

// An OCI artifact is said to be one, before any of its blobs is fetched.
TEST_F(HostileRegistryTest, AnArtifactIsNotAnImage) {
  nlohmann::json manifest = AddImage("application/vnd.cncf.helm.config.v1+json");
  docs_["chart"] = docs_[manifest["digest"].get<std::string>()];
  RunResult r = Cli({"pull", Ref("chart")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not a container image"));
  EXPECT_THAT(r.output, HasSubstr("application/vnd.cncf.helm.config.v1+json"));
  EXPECT_EQ(blob_requests_.load(), 0);
  // The reference is named once, not by the CLI and again by the daemon.
  size_t first = r.output.find(Ref("chart"));
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(Ref("chart"), first + 1), std::string::npos) << r.output;
}

// A manifest of 4 MB of nested "[" is refused before a tree is built, and
// one whose Content-Length says 10 GB on that word alone.
TEST_F(HostileRegistryTest, HostileManifestsAreRefusedCheaply) {
  Add(layerstore::media_type::kOciManifest, std::string(4 << 20, '['), "deep");
  absl::Time start = absl::Now();
  RunResult r = Cli({"pull", Ref("deep")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("nested deeper than"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  r = Cli({"pull", Ref("huge")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("Content-Length"));
  EXPECT_LT(huge_sent_.load(), 1 << 20);
}

}  // namespace
}  // namespace strata::testing
