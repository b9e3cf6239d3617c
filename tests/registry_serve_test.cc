// stratad --registry-listen: the distribution API, read-only, from the
// store. Another stratad and containerd (through a hosts.toml mirror) pull
// from it; ranges, digests, misses and writes answered as a registry does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "layerstore/digest.h"
#include "tests/containerd_process.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using ::testing::HasSubstr;

// busybox's one layer, as the prebuilt archive has it.
constexpr char kLayer[] = "sha256:7ab96ef2c586a17aa3bc9b76352f7bc13c1fb25dee4e6179a5a5458b9f70faf5";

class RegistryServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(int port, FreeLoopbackPort());
    host_ = absl::StrCat("127.0.0.1:", port);
    ASSERT_OK_AND_ASSIGN(serving_, StratadProcess::Start(tmp_.Sub("a"), tmp_.Sub("a.sock"),
                                                         {"--registry-listen", host_}));
    RunResult r =
        RunStrataCli(tmp_.Sub("a.sock"), {"import", SharedImagesDir() + "/prebuilt/busybox.oci.tar",
                                          "--name", "docker.io/library/busybox:latest"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  RunResult Curl(std::vector<std::string> args) {
    args.insert(args.begin(), {"curl", "-s", "--max-time", "10"});
    return RunCommand(args);
  }
  std::string Url(const std::string& path) { return absl::StrCat("http://", host_, path); }

  TempDir tmp_;
  std::string host_;
  std::unique_ptr<StratadProcess> serving_;
};

TEST_F(RegistryServeTest, AnotherStratadPullsFromIt) {
  ASSERT_OK_AND_ASSIGN(auto other, StratadProcess::Start(tmp_.Sub("b"), tmp_.Sub("b.sock"),
                                                         {"--registry-hosts", tmp_.Sub("hosts")}));
  RunResult r = RunStrataCli(tmp_.Sub("b.sock"), {"pull", host_ + "/library/busybox:latest"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  r = RunStrataCli(tmp_.Sub("b.sock"),
                   {"mount", host_ + "/library/busybox:latest", tmp_.Sub("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> diffs = CompareTreeWithExpectation(
      tmp_.Sub("mnt"), SharedImagesDir() + "/prebuilt/busybox.expected.json");
  EXPECT_TRUE(diffs.empty()) << diffs[0];
  EXPECT_EQ(RunStrataCli(tmp_.Sub("b.sock"), {"unmount", tmp_.Sub("mnt")}).exit_code, 0);
}

TEST_F(RegistryServeTest, ContainerdPullsThroughItAsAMirror) {
  ASSERT_OK(MakeDirs(tmp_.Sub("hosts/docker.io")));
  WriteFileOrDie(tmp_.Sub("hosts/docker.io/hosts.toml"),
                 absl::StrCat("server = \"https://registry-1.docker.io\"\n[host.\"http://", host_,
                              "\"]\n  capabilities = [\"pull\", \"resolve\"]\n"));
  ASSERT_OK_AND_ASSIGN(auto containerd, ContainerdProcess::Start(tmp_.Sub("ctrd"), ""));
  RunResult r = containerd->Ctr(
      {"images", "pull", "--hosts-dir", tmp_.Sub("hosts"), "docker.io/library/busybox:latest"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = containerd->Ctr({"content", "ls", "-q"});
  EXPECT_THAT(r.output, HasSubstr(kLayer));
}

TEST_F(RegistryServeTest, AnswersAsARegistry) {
  RunResult r = Curl({"-i", Url("/v2/")});
  EXPECT_THAT(r.output, HasSubstr("200"));
  EXPECT_THAT(r.output, HasSubstr("Docker-Distribution-API-Version: registry/2.0"));
  // The manifest by tag, then by the digest it said.
  r = Curl({"-sI", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
            Url("/v2/library/busybox/manifests/latest")});
  ASSERT_THAT(r.output, HasSubstr("Docker-Content-Digest: sha256:"));
  std::string digest = r.output.substr(r.output.find("Docker-Content-Digest: ") + 23, 71);
  r = Curl({"-f", Url("/v2/library/busybox/manifests/" + digest)});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(layerstore::Sha256Of(r.output).str(), digest);
  // A blob, whole and from an offset.
  std::string whole = Curl({"-f", Url(absl::StrCat("/v2/library/busybox/blobs/", kLayer))}).output;
  EXPECT_EQ(layerstore::Sha256Of(whole).str(), kLayer);
  r = Curl({"-f", "-H", "Range: bytes=1000-", Url(absl::StrCat("/v2/x/blobs/", kLayer))});
  EXPECT_TRUE(r.output == whole.substr(1000)) << r.output.size();
  r = Curl({"-si", "-H", "Range: bytes=1000-", Url(absl::StrCat("/v2/x/blobs/", kLayer))});
  EXPECT_THAT(r.output, HasSubstr("206"));
  // Misses are immediate 404s; writes are refused.
  absl::Time start = absl::Now();
  r = Curl({"-s", "-o", "/dev/null", "-w", "%{http_code}",
            Url("/v2/library/busybox/blobs/sha256:" + std::string(64, '0'))});
  EXPECT_EQ(r.output, "404");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  r = Curl({"-s", Url("/v2/library/nothing/manifests/latest")});
  EXPECT_THAT(r.output, HasSubstr("MANIFEST_UNKNOWN"));
  r = Curl({"-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-d", "",
            Url("/v2/library/busybox/blobs/uploads/")});
  EXPECT_EQ(r.output, "405");
}

// The corners a registry client meets: unsatisfiable ranges (416 with
// Content-Range: bytes */SIZE), writes on any URL (405, body or none), tag
// lists and the catalog (so skopeo inspect works as against a registry),
// repository names that are not names (404 NAME_INVALID), and an image
// deleted (rmi) stops being served at once, before any gc.
TEST_F(RegistryServeTest, AnswersTheCornersAsARegistryDoes) {
  std::string blob = Url(absl::StrCat("/v2/library/busybox/blobs/", kLayer));
  std::string whole = Curl({"-f", blob}).output;
  ASSERT_FALSE(whole.empty());
  const std::string size = std::to_string(whole.size());
  for (const std::string& range : {"bytes=" + size + "-", std::string("bytes=-0"),
                                   "bytes=" + std::to_string(whole.size() + 10) + "-20000000"}) {
    RunResult r = Curl({"-si", "-H", "Range: " + range, blob});
    EXPECT_THAT(r.output, HasSubstr("HTTP/1.1 416")) << range << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr("Content-Range: bytes */" + size)) << range;
  }
  RunResult r = Curl({"-si", "-H", "Range: bytes=-10", blob});
  EXPECT_THAT(r.output, HasSubstr("206"));
  EXPECT_THAT(r.output, HasSubstr("Content-Range: bytes " + std::to_string(whole.size() - 10)));
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    r = Curl({"-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, blob});
    EXPECT_EQ(r.output, "405") << method;
  }
  r = Curl({"-s", Url("/v2/library/busybox/tags/list")});
  EXPECT_THAT(r.output, HasSubstr("\"tags\":[\"latest\"]"));
  r = Curl({"-s", Url("/v2/_catalog")});
  EXPECT_THAT(r.output, HasSubstr("library/busybox"));
  r = RunCommand(
      {"skopeo", "inspect", "--tls-verify=false", "docker://" + host_ + "/library/busybox:latest"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"RepoTags\""));
  r = Curl({"-s", "-w", "%{http_code}", Url("/v2/Not..Valid/manifests/latest")});
  EXPECT_THAT(r.output, HasSubstr("NAME_INVALID"));
  EXPECT_THAT(r.output, HasSubstr("404"));

  ASSERT_EQ(RunStrataCli(tmp_.Sub("a.sock"), {"rmi", "busybox"}).exit_code, 0);
  r = Curl({"-s", "-o", "/dev/null", "-w", "%{http_code}", blob});
  EXPECT_EQ(r.output, "404");
  r = Curl(
      {"-s", "-o", "/dev/null", "-w", "%{http_code}", Url("/v2/library/busybox/manifests/latest")});
  EXPECT_EQ(r.output, "404");
  r = Curl({"-s", "-o", "/dev/null", "-w", "%{http_code}", Url("/v2/library/busybox/tags/list")});
  EXPECT_EQ(r.output, "404");
}

// A listen address that is not host:port, or taken, stops the start.
TEST_F(RegistryServeTest, BadListenAddressesStopTheStart) {
  RunResult r = RunStratad({"--root", tmp_.Sub("c"), "--socket", tmp_.Sub("c.sock"),
                            "--registry-listen", "no-port-here"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("host:port"));
  r = RunStratad({"--root", tmp_.Sub("c"), "--socket", tmp_.Sub("c.sock"), "--registry-listen",
                  host_});  // the first daemon's
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("cannot listen"));
}

}  // namespace
}  // namespace strata::testing
