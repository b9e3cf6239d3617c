// strata push against a real registry (Debian's docker-registry on
// loopback): read back by skopeo, containerd's ctr and another strata store;
// what the repository has is not sent, what another repository has is
// mounted, and an image one layer apart from a pushed one sends that layer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "layerstore/digest.h"
#include "tests/containerd_process.h"
#include "tests/oci_builder.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class RegistryPushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(registry_, RegistryProcess::Start(tmp_.Sub("registry")));
    ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                                        {"--registry-hosts", tmp_.Sub("certs.d")}));
  }

  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }
  std::string Ref(const std::string& repo_tag) { return registry_->host() + "/" + repo_tag; }
  json PushJson(const std::string& name, const std::string& ref) {
    RunResult r = Cli({"--json", "push", name, ref});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output, nullptr, false);
  }
  std::string TargetDigest(const std::string& name) {
    RunResult r = Cli({"--json", "inspect", name});
    json img = json::parse(r.output, nullptr, false);
    return img.is_object() ? img.value("digest", "") : "";
  }
  // The manifest bytes the registry holds for `ref`, as skopeo reads them.
  std::string RegistryDigest(const std::string& ref) {
    RunResult r =
        RunCommand({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return layerstore::Sha256Of(r.output).str();
  }

  TempDir tmp_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StratadProcess> daemon_;
};

// Imported from an archive (so the registry has none of it), pushed, then
// read back by skopeo (digests verified), containerd and a second store.
TEST_F(RegistryPushTest, PushedImageReadsBackEverywhere) {
  const std::string archive = SharedImagesDir() + "/prebuilt/busybox.oci.tar";
  ASSERT_EQ(Cli({"import", archive, "--name", "local/busybox:1"}).exit_code, 0);
  json pushed = PushJson("local/busybox:1", Ref("mine/busybox:1"));
  EXPECT_EQ(pushed["digest"], TargetDigest("local/busybox:1"));
  EXPECT_EQ(pushed["blobs_present"], 0);
  EXPECT_GE(pushed["blobs_uploaded"].get<int>(), 2);  // a layer and the config
  EXPECT_EQ(RegistryDigest(Ref("mine/busybox:1")), pushed["digest"]);
  RunResult r =
      RunCommand({"skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                  "docker://" + Ref("mine/busybox:1"), "oci:" + tmp_.Sub("copied") + ":x"});
  EXPECT_EQ(r.exit_code, 0) << r.output;

  ContainerdProcess::Options copts;
  copts.insecure_registry = registry_->host();
  ASSERT_OK_AND_ASSIGN(auto containerd, ContainerdProcess::Start(tmp_.Sub("ctrd"), "", copts));
  r = containerd->Ctr({"images", "pull", "--plain-http", Ref("mine/busybox:1")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = containerd->Ctr({"images", "ls"});
  EXPECT_THAT(r.output, HasSubstr(pushed["digest"].get<std::string>()));

  ASSERT_OK_AND_ASSIGN(auto other,
                       StratadProcess::Start(tmp_.Sub("root2"), tmp_.Sub("s2.sock"),
                                             {"--registry-hosts", tmp_.Sub("certs.d")}));
  r = RunStrataCli(tmp_.Sub("s2.sock"), {"pull", Ref("mine/busybox:1")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  r = RunStrataCli(tmp_.Sub("s2.sock"), {"mount", Ref("mine/busybox:1"), tmp_.Sub("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> diffs = CompareTreeWithExpectation(
      tmp_.Sub("mnt"), SharedImagesDir() + "/prebuilt/busybox.expected.json");
  EXPECT_TRUE(diffs.empty()) << diffs[0];
  EXPECT_EQ(RunStrataCli(tmp_.Sub("s2.sock"), {"unmount", tmp_.Sub("mnt")}).exit_code, 0);
}

// Pushed again: nothing sent. To another repository of the same registry:
// every blob mounted from the first.
TEST_F(RegistryPushTest, PresentBlobsAreSkippedAndOthersMounted) {
  const std::string archive = SharedImagesDir() + "/prebuilt/busybox.oci.tar";
  ASSERT_EQ(Cli({"import", archive, "--name", "local/busybox:1"}).exit_code, 0);
  json first = PushJson("local/busybox:1", Ref("one/busybox:1"));
  int blobs = first["blobs_uploaded"];
  json again = PushJson("local/busybox:1", Ref("one/busybox:2"));
  EXPECT_EQ(again["blobs_present"], blobs);
  EXPECT_EQ(again["bytes_uploaded"], 0);
  json mounted = PushJson("local/busybox:1", Ref("two/busybox:1"));
  EXPECT_EQ(mounted["blobs_mounted"], blobs);
  EXPECT_EQ(mounted["bytes_uploaded"], 0);
  EXPECT_EQ(RegistryDigest(Ref("two/busybox:1")), first["digest"]);
}

// An image one layer above a pushed one sends that layer and its config.
TEST_F(RegistryPushTest, OneLayerMoreSendsOneLayer) {
  std::string base1 = OneFileLayer("a", std::string(300000, 'a'));
  std::string base2 = OneFileLayer("b", std::string(200000, 'b'));
  std::string top = OneFileLayer("c", "the one new file");
  WriteFileOrDie(tmp_.Sub("two.oci.tar"), BuildOciArchive({{"local/app:1", {base1, base2}},
                                                           {"local/app:2", {base1, base2, top}}}));
  ASSERT_EQ(Cli({"import", tmp_.Sub("two.oci.tar")}).exit_code, 0);
  json first = PushJson("local/app:1", Ref("app/app:1"));
  EXPECT_EQ(first["blobs_uploaded"], 3);
  json second = PushJson("local/app:2", Ref("app/app:2"));
  EXPECT_EQ(second["blobs_present"], 2);
  EXPECT_EQ(second["blobs_uploaded"], 2);  // the new layer and the new config
  EXPECT_LT(second["bytes_uploaded"].get<int64_t>(), 4096);
  EXPECT_EQ(RegistryDigest(Ref("app/app:2")), TargetDigest("local/app:2"));
}

TEST_F(RegistryPushTest, BadPushesFailClearly) {
  RunResult r = Cli({"push", "no/such:image", Ref("x/y:1")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no/such:image"));
  r = Cli({"push", "no/such:image", "Bad/Ref"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("lower case"));
  const std::string archive = SharedImagesDir() + "/prebuilt/busybox.oci.tar";
  ASSERT_EQ(Cli({"import", archive, "--name", "local/busybox:1"}).exit_code, 0);
  r = Cli({"push", "local/busybox:1",
           Ref("x/y@sha256:0000000000000000000000000000000000000000000000000000000000000000")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not sha256:0000"));
}

}  // namespace
}  // namespace strata::testing
