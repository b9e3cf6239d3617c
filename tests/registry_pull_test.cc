// strata pull against a real registry (Debian's docker-registry on
// loopback), holding what skopeo pushed from ../shared/images.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
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

}  // namespace
}  // namespace strata::testing
