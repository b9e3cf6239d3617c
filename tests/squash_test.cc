// Merging layers against a real stratad: `strata squash` of all or the top
// layers of the edge-case image (every file type, whiteouts, opaque
// directories, hard links, xattrs), and `strata commit --squash` of a
// container into busybox's top layer. The merged image mounts, and exports
// that umoci unpacks, to exactly the original's tree; the lower layers stay
// shared; bad requests are refused and leave no blob behind.
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

class SquashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock")));
  }

  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(daemon_->socket(), args); }
  json CliJson(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    RunResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output, nullptr, false);
  }
  void Import(const std::string& archive, const std::string& name) {
    RunResult r = Cli({"import", SharedImagesDir() + "/prebuilt/" + archive, "--name", name});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // The tree of image `name` as strata mounts it.
  std::map<std::string, std::string> MountedTree(const std::string& name) {
    std::string m = tmp_.Sub("mnt-" + std::to_string(mounts_++));
    EXPECT_OK(MakeDirs(m));
    RunResult r = Cli({"mount", name, m});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::map<std::string, std::string> tree = DescribeTree(m);
    EXPECT_EQ(Cli({"unmount", m}).exit_code, 0);
    return tree;
  }
  // The tree umoci unpacks from image `name`'s OCI export.
  std::map<std::string, std::string> UmociTree(const std::string& name) {
    std::string dir = tmp_.Sub("umoci-" + std::to_string(mounts_++));
    EXPECT_OK(MakeDirs(dir + "/layout"));
    RunResult r = Cli({"export", name, dir + "/image.tar"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(RunCommand({"tar", "-xf", dir + "/image.tar", "-C", dir + "/layout"}).exit_code, 0);
    std::string tag = name.substr(name.rfind(':') + 1);
    r = RunCommand({"umoci", "unpack", "--image", dir + "/layout:" + tag, dir + "/bundle"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return DescribeTree(dir + "/bundle/rootfs");
  }
  std::vector<std::string> LayerDigests(const std::string& name) {
    json img = CliJson({"inspect", name});
    std::vector<std::string> out;
    for (const json& l : img["layers"]) out.push_back(l["digest"]);
    if (out.empty()) ADD_FAILURE() << "no image " << name;
    return out;
  }
  // How a short name is stored (every name is normalised).
  static std::string Stored(const std::string& name) { return "docker.io/library/" + name; }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> daemon_;
  int mounts_ = 0;
};

TEST_F(SquashTest, SquashingEveryLayerKeepsTheTreeExactly) {
  ASSERT_NO_FATAL_FAILURE(Import("edge-cases.oci.tar", "edge:1"));
  RunResult r = Cli({"squash", "edge:1", "--name", "edge:flat"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1 layer"));
  ASSERT_EQ(LayerDigests("edge:flat").size(), 1u);

  std::string m = tmp_.Sub("mnt-flat");
  ASSERT_OK(MakeDirs(m));
  ASSERT_EQ(Cli({"mount", "edge:flat", m}).exit_code, 0);
  std::vector<std::string> diffs =
      CompareTreeWithExpectation(m, SharedImagesDir() + "/prebuilt/edge-cases.expected.json");
  EXPECT_TRUE(diffs.empty()) << diffs[0];
  ASSERT_EQ(Cli({"unmount", m}).exit_code, 0);
  EXPECT_EQ(MountedTree("edge:flat"), MountedTree("edge:1"));
  // (Debian's umoci cannot read the original's zstd layer; the squashed one is gzip.)
  EXPECT_EQ(UmociTree("edge:flat"), MountedTree("edge:1"));

  // Over nothing, the one layer holds no whiteout: each hid only what the
  // merged layers themselves had made.
  json flat = CliJson({"images"});
  for (const json& i : flat) {
    if (i["name"] != Stored("edge:flat")) continue;
    std::string digest = i["layers"][0]["digest"];
    std::string blob = tmp_.Sub("root") + "/content/blobs/sha256/" + digest.substr(7);
    RunResult listing = RunCommand({"tar", "-tzf", blob});
    ASSERT_EQ(listing.exit_code, 0) << listing.output;
    EXPECT_FALSE(absl::StrContains(listing.output, ".wh.")) << listing.output;
  }
}

TEST_F(SquashTest, SquashingTheTopLayersSharesTheRest) {
  ASSERT_NO_FATAL_FAILURE(Import("edge-cases.oci.tar", "edge:1"));
  std::vector<std::string> original = LayerDigests("edge:1");
  ASSERT_GE(original.size(), 3u);
  RunResult r = Cli({"squash", "edge:1", "--name", "edge:top3", "--layers", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> squashed = LayerDigests("edge:top3");
  ASSERT_EQ(squashed.size(), original.size() - 2);
  for (size_t i = 0; i + 1 < squashed.size(); ++i) EXPECT_EQ(squashed[i], original[i]) << i;
  EXPECT_NE(squashed.back(), original.back());
  EXPECT_EQ(MountedTree("edge:top3"), MountedTree("edge:1"));
  EXPECT_EQ(UmociTree("edge:top3"), MountedTree("edge:1"));  // the zstd layer is merged
  // The config's history says what happened.
  std::string dir = tmp_.Sub("inspect");
  ASSERT_OK(MakeDirs(dir));
  ASSERT_EQ(Cli({"export", "edge:top3", dir + "/i.tar"}).exit_code, 0);
  RunResult inspect =
      RunCommand({"skopeo", "inspect", "--config", "oci-archive:" + dir + "/i.tar"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_THAT(inspect.output, HasSubstr("strata squash: 3 layers merged into one"));
}

TEST_F(SquashTest, CommitSquashMergesAContainerIntoItsImagesTopLayer) {
  ASSERT_NO_FATAL_FAILURE(Import("busybox.oci.tar", "bb:1"));
  std::string m = tmp_.Sub("work");
  ASSERT_OK(MakeDirs(m));
  ASSERT_EQ(Cli({"mount", "bb:1", m, "--rw", "c"}).exit_code, 0);
  WriteFileOrDie(m + "/etc/motd", "squashed\n");
  ASSERT_EQ(::unlink((m + "/etc/shadow").c_str()), 0);
  ASSERT_OK(RemoveTree(m + "/root"));  // opaque directory
  ASSERT_EQ(::mkdir((m + "/root").c_str(), 0700), 0);
  WriteFileOrDie(m + "/root/.profile", "new");
  std::map<std::string, std::string> container = DescribeTree(m);
  ASSERT_EQ(Cli({"unmount", m}).exit_code, 0);
  RunResult r = Cli({"commit", "c", "--name", "bb:squashed", "--squash"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(LayerDigests("bb:squashed").size(), LayerDigests("bb:1").size());
  EXPECT_EQ(MountedTree("bb:squashed"), container);
  EXPECT_EQ(UmociTree("bb:squashed"), container);
}

// A `commit --squash` that fails (here the merged layer is over the
// daemon's layer size limit) leaves the container exactly as it was: still
// there, with its files, to be committed otherwise or mounted again.
TEST_F(SquashTest, AFailedCommitSquashLeavesTheContainerAsItWas) {
  daemon_.reset();
  ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                                      {"--max-layer-bytes", "2097152"}));
  ASSERT_NO_FATAL_FAILURE(Import("busybox.oci.tar", "bb:1"));
  std::string m = tmp_.Sub("work");
  ASSERT_OK(MakeDirs(m));
  ASSERT_EQ(Cli({"mount", "bb:1", m, "--rw", "c"}).exit_code, 0);
  std::mt19937_64 random(7);
  std::string big(3 << 20, '\0');
  for (char& c : big) c = static_cast<char>(random());
  WriteFileOrDie(m + "/big.bin", big);
  ASSERT_EQ(Cli({"unmount", m}).exit_code, 0);
  size_t blobs = CliJson({"blobs"}).size();
  RunResult r = Cli({"commit", "c", "--name", "bb:squashed", "--squash"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  json snaps = CliJson({"snapshots", "--filter", "kind=active"});
  ASSERT_EQ(snaps.size(), 1u) << snaps.dump();
  EXPECT_EQ(snaps[0].value("name", ""), "c");
  EXPECT_EQ(snaps[0].value("kind", ""), "active");
  EXPECT_EQ(CliJson({"blobs"}).size(), blobs);
  EXPECT_EQ(CliJson({"images"}).size(), 1u);
  ASSERT_EQ(Cli({"mount", "bb:1", m, "--rw", "c"}).exit_code, 0);
  EXPECT_TRUE(ReadFileOrDie(m + "/big.bin") == big);
  ASSERT_EQ(Cli({"unmount", m}).exit_code, 0);
}

TEST_F(SquashTest, BadRequestsAreRefusedAndLeaveNothing) {
  ASSERT_NO_FATAL_FAILURE(Import("edge-cases.oci.tar", "edge:1"));
  size_t blobs = CliJson({"blobs"}).size();
  RunResult r = Cli({"squash", "edge:1", "--name", "edge:x", "--layers", "99"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("cannot merge 99 layers"));
  r = Cli({"squash", "nope:1", "--name", "edge:x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not found"));
  r = Cli({"squash", "edge:1", "--name", "Bad Name!"});
  EXPECT_EQ(r.exit_code, 1);
  r = Cli({"squash", "edge:1", "--name", "edge:x", "--layers", "0"});
  EXPECT_NE(r.exit_code, 0);  // a usage error
  r = Cli({"squash", "edge:1", "--name", "edge:x", "--layers", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("nothing to merge"));
  EXPECT_EQ(CliJson({"blobs"}).size(), blobs);
  EXPECT_EQ(CliJson({"images"}).size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto tmp, ListDir(tmp_.Sub("root") + "/tmp"));
  EXPECT_TRUE(tmp.empty());
}

// kill -9 at random moments of squashes: after each restart a squashed image
// is there whole or not at all, and nothing a cut-short squash made is left
// (no blob or layer for gc to find, no staging directory, fsck clean).
TEST_F(SquashTest, Kill9DuringSquashLeavesNothingHalfDone) {
  ASSERT_NO_FATAL_FAILURE(Import("edge-cases.oci.tar", "edge:1"));
  std::map<std::string, std::string> original = MountedTree("edge:1");
  std::mt19937 rng(EnvInt("STRATA_CRASH_SEED", 7));
  int rounds = EnvInt("STRATA_SQUASH_CRASH_ROUNDS", 6), finished = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::string name = absl::StrCat("edge:r", round);
    std::thread squash([&] {
      (void)Cli({"squash", "edge:1", "--name", name, "--layers", round % 2 ? "3" : "6"});
    });
    ::usleep(std::uniform_int_distribution<int>(5'000, 400'000)(rng));
    daemon_->Stop(SIGKILL);
    squash.join();
    ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock")));
    json images = CliJson({"images"});
    bool made = false;
    for (const json& i : images) made |= i["name"] == Stored(name);
    if (made) {
      ++finished;
      EXPECT_EQ(MountedTree(name), original);
    }
    json gc = CliJson({"gc", "--dry-run"});
    EXPECT_TRUE(gc["items"].empty()) << gc.dump();
    ASSERT_OK_AND_ASSIGN(auto tmp, ListDir(tmp_.Sub("root") + "/tmp"));
    EXPECT_TRUE(tmp.empty());
    RunResult fsck = Cli({"fsck"});
    EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  }
  std::printf("squash crash: %d of %d rounds finished before the kill\n", finished, rounds);
}

}  // namespace
}  // namespace strata::testing
