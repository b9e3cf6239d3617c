// The native API and the CLI against a real stratad: import (streamed and by
// allowed path), mount and run busybox's shell, content writes with resume,
// single-layer pulls.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "api/mount_proto.h"
#include "common/fs.h"
#include "common/mount.h"
#include "layerstore/digest.h"
#include "strata/v1/content.grpc.pb.h"
#include "strata/v1/images.grpc.pb.h"
#include "strata/v1/layers.grpc.pb.h"
#include "strata/v1/snapshots.grpc.pb.h"
#include "tests/native_client.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/tar_builder.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

namespace pb = strata::v1;
using layerstore::Sha256Of;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kBusybox[] = "docker.io/library/busybox:latest";

class ImagesIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(MakeDirs(tmp_.Sub("allowed")));
    auto p = StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                   {"--import-dir", tmp_.Sub("allowed")});
    ASSERT_OK(p);
    daemon_ = std::move(*p);
  }

  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }

  // A native snapshot `key` above `parent`, writable or a view; its mounts.
  std::vector<MountSpec> NativeSnapshot(bool writable, const std::string& key,
                                        const std::string& parent) {
    NativeClient client(daemon_->channel());
    absl::StatusOr<std::vector<MountSpec>> mounts =
        writable ? client.Prepare(key, parent) : client.View(key, parent);
    EXPECT_OK(mounts);
    return mounts.value_or(std::vector<MountSpec>());
  }

  std::string Busybox() { return SharedImagesDir() + "/prebuilt/busybox.oci.tar"; }

  pb::Image GetImage(const std::string& name) {
    absl::StatusOr<pb::Image> img = NativeClient(daemon_->channel()).GetImage(name);
    EXPECT_OK(img);
    return img.value_or(pb::Image());
  }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> daemon_;
};

TEST_F(ImagesIntegrationTest, CliImportMountRunUnmount) {
  RunResult r = Cli({"import", Busybox()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("imported docker.io/library/busybox:latest"));
  r = Cli({"images"});
  EXPECT_THAT(r.output, HasSubstr("\nbusybox:latest "));  // as docker shows it
  EXPECT_THAT(Cli({"images", "--no-trunc"}).output, HasSubstr(kBusybox));
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  r = Cli({"mount", kBusybox, tmp_.Sub("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> diffs = CompareTreeWithExpectation(
      tmp_.Sub("mnt"), SharedImagesDir() + "/prebuilt/busybox.expected.json");
  EXPECT_TRUE(diffs.empty()) << diffs[0];
  r = RunCommand(
      {"chroot", tmp_.Sub("mnt"), "/bin/sh", "-c", "echo hello from $(cat /etc/hostname)"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("hello from"));
  r = Cli({"--json", "snapshots"});
  EXPECT_THAT(r.output, HasSubstr("\"view\""));
  r = Cli({"unmount", tmp_.Sub("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Cli({"--json", "snapshots"});
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("\"view\"")));
  EXPECT_FALSE(Exists(tmp_.Sub("mnt/bin/busybox")));
}

TEST_F(ImagesIntegrationTest, WritableMountKeepsItsSnapshot) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  RunResult r = Cli({"mount", kBusybox, tmp_.Sub("mnt"), "--rw", "work-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  WriteFileOrDie(tmp_.Sub("mnt/etc/motd"), "changed");
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
  r = Cli({"mount", kBusybox, tmp_.Sub("mnt"), "--rw", "work-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("mnt/etc/motd")), "changed");
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
}

// mount --rw, change files, unmount (the snapshot stays), commit --name:
// a new image whose rootfs has the changes and that runs.
TEST_F(ImagesIntegrationTest, CliCommitMakesANewImage) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  ASSERT_EQ(Cli({"mount", kBusybox, tmp_.Sub("mnt"), "--rw", "build-1"}).exit_code, 0);
  WriteFileOrDie(tmp_.Sub("mnt/etc/motd"), "built by strata\n");
  ASSERT_EQ(::unlink(tmp_.Sub("mnt/etc/shadow").c_str()), 0);
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
  RunResult r = Cli({"commit", "build-1", "--name", "example/built:1", "--compression", "zstd"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("2 layers"));
  EXPECT_EQ(GetImage("example/built:1").layers(1).blob().media_type(),
            "application/vnd.oci.image.layer.v1.tar+zstd");
  ASSERT_EQ(Cli({"mount", "example/built:1", tmp_.Sub("mnt")}).exit_code, 0);
  r = RunCommand(
      {"chroot", tmp_.Sub("mnt"), "/bin/sh", "-c", "cat /etc/motd; ls /etc/shadow 2>&1 || true"});
  EXPECT_THAT(r.output, HasSubstr("built by strata"));
  EXPECT_THAT(r.output, HasSubstr("No such file"));
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
  // Committing again: the snapshot is gone (it became the layer).
  r = Cli({"commit", "build-1", "--name", "example/built:2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("does not exist"));
  r = Cli({"commit", "nope", "--name", "x:1", "--compression", "lz4"});
  EXPECT_EQ(r.exit_code, 2) << "a bad option value is a usage error";
}

// A committed image exported as an OCI archive: skopeo and umoci (Debian's)
// read it, umoci's rootfs has the change, and a second store re-importing it
// gets the same digests.
TEST_F(ImagesIntegrationTest, ExportIsReadByOtherToolsAndReimportsIdentically) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  ASSERT_EQ(Cli({"mount", kBusybox, tmp_.Sub("mnt"), "--rw", "b"}).exit_code, 0);
  std::string m = tmp_.Sub("mnt");
  WriteFileOrDie(m + "/etc/motd", "exported\n");        // add
  WriteFileOrDie(m + "/etc/hostname", "changed\n");     // modify
  ASSERT_EQ(::unlink((m + "/etc/shadow").c_str()), 0);  // delete file
  ASSERT_OK(RemoveTree(m + "/var/spool"));              // delete directory
  ASSERT_OK(RemoveTree(m + "/home"));                   // directory -> file
  WriteFileOrDie(m + "/home", "a file now");
  ASSERT_EQ(::unlink((m + "/usr/bin/env").c_str()), 0);  // symlink -> directory
  ASSERT_EQ(::mkdir((m + "/usr/bin/env").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((m + "/etc/passwd").c_str(), 0600), 0);                     // chmod
  ASSERT_EQ(::chown((m + "/etc/hostname").c_str(), 1000, 1000), 0);             // chown
  ASSERT_EQ(::link((m + "/etc/motd").c_str(), (m + "/motd-link").c_str()), 0);  // hard link
  ASSERT_EQ(::symlink("etc/motd", (m + "/motd-sym").c_str()), 0);               // symlink
  ASSERT_EQ(::setxattr((m + "/etc/motd").c_str(), "user.note", "x", 1, 0), 0);  // xattr
  ASSERT_OK(RemoveTree(m + "/root"));                                           // opaque directory
  ASSERT_EQ(::mkdir((m + "/root").c_str(), 0700), 0);
  WriteFileOrDie(m + "/root/.profile", "new");
  std::map<std::string, std::string> mounted = DescribeTree(m);
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
  ASSERT_EQ(Cli({"commit", "b", "--name", "example/exported:1"}).exit_code, 0);
  std::string file = tmp_.Sub("out.tar");
  RunResult r = Cli({"export", "example/exported:1", file});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Cli({"export", "example/exported:1", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("exists"));
  ASSERT_EQ(Cli({"export", "example/exported:1", file, "--force"}).exit_code, 0);

  pb::Image img = GetImage("example/exported:1");
  r = RunCommand({"skopeo", "inspect", "oci-archive:" + file});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(img.layers(1).blob().digest()));

  ASSERT_OK(MakeDirs(tmp_.Sub("layout")));
  ASSERT_EQ(RunCommand({"tar", "-xf", file, "-C", tmp_.Sub("layout")}).exit_code, 0);
  r = RunCommand({"umoci", "unpack", "--image", tmp_.Sub("layout") + ":1", tmp_.Sub("bundle")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("bundle/rootfs/etc/motd")), "exported\n");
  // umoci's unpack of the export is exactly the tree that was committed.
  EXPECT_EQ(DescribeTree(tmp_.Sub("bundle/rootfs")), mounted);

  ASSERT_OK_AND_ASSIGN(auto other, StratadProcess::Start(tmp_.Sub("root2"), tmp_.Sub("s2.sock")));
  RunResult r2 = RunStrataCli(tmp_.Sub("s2.sock"), {"import", file});
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  ASSERT_OK_AND_ASSIGN(pb::Image again,
                       NativeClient(other->channel()).GetImage("example/exported:1"));
  EXPECT_EQ(again.manifest_digest(), img.manifest_digest());
  EXPECT_EQ(again.top_chain_id(), img.top_chain_id());
  EXPECT_EQ(again.layers(1).blob().digest(), img.layers(1).blob().digest());
}

// A disk that fills up while a commit writes its layer: a clear error, no
// half-written blob or ingest, the snapshot still active; once space is
// freed the same commit succeeds.
TEST_F(ImagesIntegrationTest, CommitOnAFullDiskFailsCleanlyAndWorksAfterwards) {
  std::string small = tmp_.Sub("small");
  ASSERT_OK(MountTmpfs(small, 48 << 20));
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(small + "/root", tmp_.Sub("small.sock")));
  auto cli = [&](std::vector<std::string> args) {
    return RunStrataCli(tmp_.Sub("small.sock"), args);
  };
  ASSERT_EQ(cli({"import", Busybox()}).exit_code, 0);
  size_t blobs_before = cli({"blobs"}).output.size();
  ASSERT_OK(MakeDirs(tmp_.Sub("m")));
  ASSERT_EQ(cli({"mount", kBusybox, tmp_.Sub("m"), "--rw", "big"}).exit_code, 0);
  RunResult r =
      RunCommand({"dd", "if=/dev/urandom", "of=" + tmp_.Sub("m/noise"), "bs=1M", "count=30"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(cli({"unmount", tmp_.Sub("m")}).exit_code, 0);

  r = cli({"commit", "big", "--name", "example/big:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("No space left"));
  EXPECT_EQ(cli({"blobs"}).output.size(), blobs_before);
  EXPECT_TRUE(ListDir(small + "/root/content/ingest")->empty());
  EXPECT_THAT(cli({"--json", "snapshots"}).output, HasSubstr("\"active\""));
  EXPECT_THAT(cli({"images"}).output, ::testing::Not(HasSubstr("example/big")));

  ASSERT_EQ(::mount(nullptr, small.c_str(), nullptr, MS_REMOUNT, "size=256m"), 0);
  r = cli({"commit", "big", "--name", "example/big:1"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(cli({"images"}).output, HasSubstr("example/big:1"));
  ASSERT_EQ(d->Stop(SIGTERM), 0);
}

// A layer pushed through Content.Write, then unpacked by a header-only pull.
TEST_F(ImagesIntegrationTest, LayersPullOfAPushedBlob) {
  TarBuilder tar;
  tar.File("pushed.txt", "pushed\n");
  std::string blob = Gzip(tar.Bytes());
  std::string digest = Sha256Of(blob).str();
  auto content = pb::Content::NewStub(daemon_->channel());
  auto layers = pb::Layers::NewStub(daemon_->channel());
  auto pull = [&]() {
    grpc::ClientContext ctx;
    pb::PullLayerResponse resp;
    auto w = layers->Pull(&ctx, &resp);
    pb::PullLayerRequest header;
    header.mutable_header()->mutable_blob()->set_media_type(
        "application/vnd.oci.image.layer.v1.tar+gzip");
    header.mutable_header()->mutable_blob()->set_digest(digest);
    header.mutable_header()->mutable_blob()->set_size(static_cast<int64_t>(blob.size()));
    header.mutable_header()->set_diff_id(Sha256Of(tar.Bytes()).str());
    w->Write(header);
    w->WritesDone();
    grpc::Status s = w->Finish();
    return std::make_pair(s, resp);
  };
  EXPECT_EQ(pull().first.error_code(), grpc::StatusCode::NOT_FOUND);  // nothing pushed yet
  {
    grpc::ClientContext ctx;
    pb::WriteContentResponse resp;
    auto w = content->Write(&ctx, &resp);
    pb::WriteContentRequest msg;
    msg.set_ref("push-1");
    msg.set_data(blob);
    msg.set_expected(digest);
    msg.set_total(static_cast<int64_t>(blob.size()));
    msg.set_commit(true);
    w->Write(msg);
    w->WritesDone();
    ASSERT_TRUE(w->Finish().ok());
  }
  auto [s, resp] = pull();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.chain_id(), Sha256Of(tar.Bytes()).str());  // a base layer: chainID = diff_id
}

// fsck finds a corrupted blob, a missing directory, an orphan directory, and
// a damaged file and an added one in an unpacked layer; --repair fixes the
// first three and says why the layer's cannot be fixed.
TEST_F(ImagesIntegrationTest, FsckFindsAndRepairs) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  RunResult r = Cli({"fsck"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("clean"));
  pb::Image img = GetImage(kBusybox);

  // 1. A blob whose bytes changed on disk.
  std::string blob =
      tmp_.Sub("root/content/blobs/sha256/") + img.layers(0).blob().digest().substr(7);
  std::string bytes = ReadFileOrDie(blob);
  bytes[bytes.size() / 2] ^= 0x55;
  WriteFileOrDie(blob, bytes);
  // 2. A snapshot whose directory vanished.
  ASSERT_OK(MakeDirs(tmp_.Sub("m")));
  ASSERT_EQ(Cli({"mount", kBusybox, tmp_.Sub("m"), "--rw", "victim"}).exit_code, 0);
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("m")}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(auto victim, NativeClient(daemon_->channel()).Mounts("victim"));
  std::string upper = UpperDirOf(victim);
  ASSERT_OK(RemoveTree(upper.substr(0, upper.size() - 2)));  // snapshots/<id>
  // 3. A directory no snapshot owns.
  ASSERT_OK(MakeDirs(tmp_.Sub("root/snapshots/zzzzzz/f")));
  // 4. A file of the unpacked layer zeroed (as a power loss leaves it).
  std::vector<MountSpec> probe = NativeSnapshot(false, "probe", img.top_chain_id());
  ASSERT_FALSE(probe.empty());
  std::string layer_dir = probe[0].source;
  WriteFileOrDie(layer_dir + "/etc/passwd",
                 std::string(ReadFileOrDie(layer_dir + "/etc/passwd").size(), '\0'));
  // 5. A file added to the unpacked layer.
  WriteFileOrDie(layer_dir + "/etc/added.sh", "#!/bin/sh\n");

  r = Cli({"fsck"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("corrupt"));
  EXPECT_THAT(r.output, HasSubstr("snapshot \"victim\": its directory is missing"));
  EXPECT_THAT(r.output, HasSubstr("snapshots/zzzzzz belongs to no snapshot"));
  EXPECT_THAT(r.output, HasSubstr("file /etc/passwd is damaged"));
  EXPECT_THAT(r.output, HasSubstr("file /etc/added.sh is not part of the layer"));
  r = Cli({"fsck", "--repair"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("repaired: blob"));
  EXPECT_THAT(r.output, HasSubstr("repaired: snapshot \"victim\""));
  EXPECT_THAT(r.output, HasSubstr("repaired: directory snapshots/zzzzzz"));
  EXPECT_THAT(r.output, HasSubstr("cannot repair"));
  // Dropping the corrupt blob left the image without it: said, with the way back.
  EXPECT_THAT(r.output, HasSubstr("image \"docker.io/library/busybox:latest\": layer 1"));
  EXPECT_THAT(r.output, HasSubstr("import or pull the image again"));
  r = Cli({"--json", "fsck"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.output, HasSubstr("/etc/passwd is damaged"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("zzzzzz")));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("victim")));
}

// du: an image built on busybox shares busybox's layer; the layer is stored
// once, and sharing saves exactly its cost. rm removes a snapshot, refuses an
// image's layer.
TEST_F(ImagesIntegrationTest, DuShowsSharingAndRmRemovesSnapshots) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_OK(MakeDirs(tmp_.Sub("m")));
  ASSERT_EQ(Cli({"mount", kBusybox, tmp_.Sub("m"), "--rw", "d"}).exit_code, 0);
  WriteFileOrDie(tmp_.Sub("m/extra"), std::string(100000, 'x'));
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("m")}).exit_code, 0);
  ASSERT_EQ(Cli({"commit", "d", "--name", "example/derived:1"}).exit_code, 0);
  RunResult r = Cli({"--json", "du"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  int64_t busybox_shared = -1, busybox_unique = -1, derived_unique = -1;
  for (const auto& img : j["images"]) {
    if (img["name"] == kBusybox) {
      busybox_shared = img["shared_bytes"];
      busybox_unique = img["unique_bytes"];
    }
    if (img["name"] == "docker.io/example/derived:1") derived_unique = img["unique_bytes"];
  }
  EXPECT_GT(busybox_shared, 1000000);   // the 2 MB busybox layer, in both images
  EXPECT_LT(busybox_unique, 64 << 10);  // only its manifest and config
  EXPECT_GT(derived_unique, 0);
  EXPECT_EQ(j["saved_bytes"].get<int64_t>(), busybox_shared);
  EXPECT_EQ(j["unshared_bytes"].get<int64_t>() - j["stored_bytes"].get<int64_t>(), busybox_shared);
  EXPECT_THAT(Cli({"du"}).output, HasSubstr("sharing saves"));
  // Everything the store holds is counted: a container's writable layer, a
  // blob no image uses, the metadata; the total is what du(1) says.
  ASSERT_EQ(Cli({"mount", kBusybox, tmp_.Sub("m"), "--rw", "live"}).exit_code, 0);
  WriteFileOrDie(tmp_.Sub("m/big"), std::string(3 << 20, 'x'));
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("m")}).exit_code, 0);
  {
    auto content = pb::Content::NewStub(daemon_->channel());
    grpc::ClientContext ctx;
    pb::WriteContentResponse resp;
    auto w = content->Write(&ctx, &resp);
    pb::WriteContentRequest msg;
    msg.set_ref("loose");
    msg.set_data(std::string(1 << 20, 'b'));
    msg.set_commit(true);
    w->Write(msg);
    w->WritesDone();
    ASSERT_TRUE(w->Finish().ok());
  }
  r = Cli({"--json", "du"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["writable_layers"].get<int64_t>(), 1);
  EXPECT_GE(j["writable_bytes"].get<int64_t>(), 3 << 20);
  EXPECT_GE(j["unreferenced_bytes"].get<int64_t>(), 1 << 20);
  EXPECT_GT(j["metadata_bytes"].get<int64_t>(), 0);
  RunResult du = RunCommand({"du", "-s", "-B1", tmp_.Sub("root")});
  ASSERT_EQ(du.exit_code, 0) << du.output;
  double real = std::stod(du.output);
  double total = static_cast<double>(j["total_bytes"].get<int64_t>());
  EXPECT_NEAR(total, real, real * 0.01) << "strata du total against du -s";
  ASSERT_EQ(Cli({"rm", "live"}).exit_code, 0);
  // The write is logged, its megabyte of data is not.
  std::string log = ReadFileOrDie(daemon_->log_path());
  EXPECT_THAT(log, HasSubstr("msg=call method=/strata.v1.Content/Write"));
  EXPECT_EQ(log.find(std::string(100, 'b')), std::string::npos);
  // The tree shows the derived image's layer under busybox's.
  std::string top = GetImage(kBusybox).top_chain_id();
  std::string derived_top = GetImage("example/derived:1").top_chain_id();
  r = Cli({"snapshots", "--tree"});
  EXPECT_THAT(r.output, HasSubstr(top + " [committed]\n  " + derived_top + " [committed]"));

  ASSERT_EQ(Cli({"mount", kBusybox, tmp_.Sub("m"), "--rw", "scratch"}).exit_code, 0);
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("m")}).exit_code, 0);
  r = Cli({"rm", "scratch"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(Cli({"snapshots"}).output, ::testing::Not(HasSubstr("scratch")));
  r = Cli({"rm", GetImage(kBusybox).top_chain_id()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("is layer 1 of image"));  // children: snapshots_integration_test
}

TEST_F(ImagesIntegrationTest, CliErrorsAreOneLineAndNonZero) {
  RunResult r = Cli({"mount", "no/such:image", tmp_.Sub("x")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("strata: error: mount no/such:image"));
  r = Cli({"import", tmp_.Sub("missing.tar")});
  EXPECT_EQ(r.exit_code, 1);
  r = Cli({"no-such-command"});
  EXPECT_EQ(r.exit_code, 2);
  RunResult down = RunStrataCli(tmp_.Sub("nothing.sock"), {"images"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.output, HasSubstr("cannot reach stratad"));
}

TEST_F(ImagesIntegrationTest, NativePrepareAboveTheTopChainIsARootfs) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  pb::Image img = GetImage(kBusybox);
  ASSERT_FALSE(img.top_chain_id().empty());
  std::vector<MountSpec> mounts = NativeSnapshot(true, "container-1", img.top_chain_id());
  ASSERT_FALSE(mounts.empty());
  ASSERT_OK(MakeDirs(tmp_.Sub("rootfs")));
  ASSERT_OK(MountAll(mounts, tmp_.Sub("rootfs")));
  RunResult r = RunCommand(
      {"chroot", tmp_.Sub("rootfs"), "/bin/sh", "-c", "echo written > /tmp/x && cat /tmp/x"});
  EXPECT_EQ(r.output, "written\n");
  ASSERT_OK(Unmount(tmp_.Sub("rootfs")));
  // The containerd key space does not see native snapshots.
  SnapshotsClient ctrd(daemon_->channel());
  ASSERT_OK_AND_ASSIGN(auto listed, ctrd.List());
  EXPECT_TRUE(listed.empty());
}

TEST_F(ImagesIntegrationTest, ImportByPathOnlyFromAllowedDirectories) {
  auto stub = pb::Images::NewStub(daemon_->channel());
  auto import_path = [&](const std::string& path) {
    grpc::ClientContext ctx;
    auto stream = stub->Import(&ctx);
    pb::ImportRequest header;
    header.mutable_header()->set_path(path);
    stream->Write(header);
    stream->WritesDone();
    pb::ImportResponse resp;
    while (stream->Read(&resp)) {
    }
    return stream->Finish();
  };
  grpc::Status s = import_path(Busybox());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  ASSERT_EQ(::symlink(Busybox().c_str(), tmp_.Sub("allowed/link.tar").c_str()), 0);
  s = import_path(tmp_.Sub("allowed/link.tar"));  // a link out of the directory does not count
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  ASSERT_EQ(RunCommand({"cp", Busybox(), tmp_.Sub("allowed/busybox.tar")}).exit_code, 0);
  s = import_path(tmp_.Sub("allowed/busybox.tar"));
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(GetImage(kBusybox).layers_size(), 1);
}

TEST_F(ImagesIntegrationTest, LayerLimitsFailTheImportCleanly) {
  ASSERT_EQ(daemon_->Stop(SIGTERM), 0);
  ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                                      {"--max-layer-entries", "100"}));
  RunResult r = Cli({"import", Busybox()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("more than the limit of 100 entries"));
  EXPECT_THAT(Cli({"images"}).output, ::testing::Not(HasSubstr("busybox")));
  EXPECT_THAT(Cli({"snapshots"}).output, ::testing::Not(HasSubstr("sha256:")));
}

TEST_F(ImagesIntegrationTest, ContentWriteResumesAndVerifies) {
  auto stub = pb::Content::NewStub(daemon_->channel());
  std::string blob(3 << 20, 'z');
  for (size_t i = 0; i < blob.size(); i += 4096) blob[i] = static_cast<char>(i / 4096);
  std::string digest = Sha256Of(blob).str();
  {  // first attempt: half the bytes, then the connection drops (no commit)
    grpc::ClientContext ctx;
    pb::WriteContentResponse resp;
    auto w = stub->Write(&ctx, &resp);
    pb::WriteContentRequest msg;
    msg.set_ref("upload-1");
    msg.set_data(blob.substr(0, blob.size() / 2));
    w->Write(msg);
    w->WritesDone();
    ASSERT_TRUE(w->Finish().ok());
  }
  ASSERT_EQ(daemon_->Stop(SIGKILL), 128 + SIGKILL);  // and the daemon restarts
  ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock")));
  stub = pb::Content::NewStub(daemon_->channel());
  int64_t offset;
  {
    grpc::ClientContext ctx;
    pb::ContentStatusRequest req;
    req.set_ref("upload-1");
    pb::ContentStatusResponse st;
    ASSERT_TRUE(stub->Status(&ctx, req, &st).ok());
    offset = st.offset();
    EXPECT_EQ(offset, static_cast<int64_t>(blob.size() / 2));
  }
  {
    grpc::ClientContext ctx;
    pb::WriteContentResponse resp;
    auto w = stub->Write(&ctx, &resp);
    pb::WriteContentRequest msg;
    msg.set_ref("upload-1");
    msg.set_offset(offset);
    msg.set_data(blob.substr(static_cast<size_t>(offset)));
    msg.set_expected(digest);
    msg.set_total(static_cast<int64_t>(blob.size()));
    msg.set_commit(true);
    w->Write(msg);
    w->WritesDone();
    grpc::Status s = w->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.digest(), digest);
  }
  {  // read back from an offset
    grpc::ClientContext ctx;
    pb::ReadContentRequest req;
    req.set_digest(digest);
    req.set_offset(1000);
    auto r = stub->Read(&ctx, req);
    std::string got;
    pb::ReadContentResponse chunk;
    while (r->Read(&chunk)) got += chunk.data();
    ASSERT_TRUE(r->Finish().ok());
    EXPECT_EQ(got, blob.substr(1000));
  }
  {  // labels: set at write, replaced by Update, shown by Info
    grpc::ClientContext ctx;
    pb::UpdateContentRequest req;
    req.set_digest(digest);
    (*req.mutable_labels())["owner"] = "test";
    pb::BlobInfo info;
    ASSERT_TRUE(stub->Update(&ctx, req, &info).ok());
    EXPECT_EQ(info.labels().at("owner"), "test");
    EXPECT_EQ(info.size(), static_cast<int64_t>(blob.size()));
  }
  {  // a wrong digest is DATA_LOSS and stores nothing
    grpc::ClientContext ctx;
    pb::WriteContentResponse resp;
    auto w = stub->Write(&ctx, &resp);
    pb::WriteContentRequest msg;
    msg.set_ref("upload-2");
    msg.set_data("some bytes");
    msg.set_expected(Sha256Of("other bytes").str());
    msg.set_commit(true);
    w->Write(msg);
    w->WritesDone();
    EXPECT_EQ(w->Finish().error_code(), grpc::StatusCode::DATA_LOSS);
    grpc::ClientContext ictx;
    pb::ContentInfoRequest ireq;
    ireq.set_digest(Sha256Of("some bytes").str());
    pb::BlobInfo info;
    EXPECT_EQ(stub->Info(&ictx, ireq, &info).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ImagesIntegrationTest, LayersPullAboveAParentChain) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  pb::Image img = GetImage(kBusybox);
  TarBuilder tar;
  tar.Dir("app").File("app/run.sh", "#!/bin/sh\necho pulled layer\n", {0755});
  std::string gz = Gzip(tar.Bytes());
  auto stub = pb::Layers::NewStub(daemon_->channel());
  auto pull = [&](const std::string& diff_id) {
    grpc::ClientContext ctx;
    pb::PullLayerResponse resp;
    auto w = stub->Pull(&ctx, &resp);
    pb::PullLayerRequest header;
    auto* h = header.mutable_header();
    h->mutable_blob()->set_media_type("application/vnd.oci.image.layer.v1.tar+gzip");
    h->mutable_blob()->set_digest(Sha256Of(gz).str());
    h->mutable_blob()->set_size(static_cast<int64_t>(gz.size()));
    h->set_diff_id(diff_id);
    h->set_parent_chain_id(img.top_chain_id());
    w->Write(header);
    pb::PullLayerRequest data;
    data.set_data(gz);
    w->Write(data);
    w->WritesDone();
    grpc::Status s = w->Finish();
    return std::make_pair(s, resp);
  };
  auto [bad, unused] = pull(Sha256Of("not the tar").str());
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::DATA_LOSS) << bad.error_message();
  {
    // The failed pull took its blob with it.
    grpc::ClientContext ctx;
    pb::ContentInfoRequest req;
    req.set_digest(Sha256Of(gz).str());
    pb::BlobInfo info;
    EXPECT_EQ(pb::Content::NewStub(daemon_->channel())->Info(&ctx, req, &info).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  auto [s, resp] = pull(Sha256Of(tar.Bytes()).str());
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<MountSpec> mounts = NativeSnapshot(false, "v", resp.snapshot_key());
  ASSERT_FALSE(mounts.empty());
  ASSERT_OK(MakeDirs(tmp_.Sub("v")));
  ASSERT_OK(MountAll(mounts, tmp_.Sub("v")));
  RunResult r = RunCommand({"chroot", tmp_.Sub("v"), "/app/run.sh"});
  EXPECT_EQ(r.output, "pulled layer\n");
}

// Bad values are usage errors (exit 2) with our prefix, JSON under --json;
// failures name their cause.
TEST_F(ImagesIntegrationTest, UsageErrorsAndMessages) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    const char* says;
  };
  ASSERT_OK(MakeDirs(tmp_.Sub("a-dir")));
  std::vector<Case> cases = {
      {{"bogus"}, 2, "unknown command \"bogus\""},
      {{}, 2, "a command is required"},
      {{"leases", "create", "--ttl", "abc"}, 2, "not a positive duration"},
      {{"leases", "create", "--label", "=v"}, 2, "not KEY=VALUE"},
      {{"gc", "--ingest-max-age", "-5m"}, 2, "not a positive duration"},
      {{"commit", "k", "--name", "x", "--compression", "bogus"}, 2, "--compression"},
      {{"export", "a", tmp_.Sub("out.tar"), "--format", "tgz"}, 2, "--format"},
      {{"rmi", ""}, 2, "must not be empty"},
      {{"rm", ""}, 2, "must not be empty"},
      {{"import", tmp_.Sub("missing.tar")}, 1, "No such file or directory"},
      {{"import", tmp_.Sub("a-dir")}, 1, "is a directory"},
      {{"unmount", tmp_.Sub("a-dir")}, 1, "not mounted"},
      {{"import", Busybox(), "--name", "../x"}, 1, "not a valid reference"},
      {{"import", Busybox(), "--name", "Upper/case:1"}, 1, "lower case"},
      {{"import", Busybox(), "--name", "a\nb"}, 1, "control character"},
      {{"import", Busybox(), "--name", std::string(300, 'a')}, 1, "longer than 255"},
  };
  for (const Case& c : cases) {
    RunResult r = Cli(c.args);
    std::string what = c.args.empty() ? "(none)" : c.args[0];
    EXPECT_EQ(r.exit_code, c.exit_code) << what << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.says)) << what;
    EXPECT_THAT(r.output, HasSubstr("strata: error: ")) << what;
    std::vector<std::string> with_json = c.args;
    with_json.push_back("--json");
    if (c.args.empty()) continue;
    RunResult j = Cli(with_json);
    EXPECT_EQ(j.exit_code, c.exit_code) << what;
    json parsed = json::parse(j.output, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << what << ": " << j.output;
    EXPECT_THAT(parsed.value("error", ""), HasSubstr(c.says)) << what;
    EXPECT_EQ(parsed.value("exit_code", 0), c.exit_code) << what;
  }
  // The rejected names left nothing behind.
  RunResult blobs = Cli({"blobs", "--json"});
  EXPECT_EQ(json::parse(blobs.output, nullptr, false).size(), 0u) << blobs.output;
  // The daemon said why each call failed, one line each.
  std::string log = ReadFileOrDie(daemon_->log_path());
  EXPECT_THAT(log, HasSubstr("msg=\"call failed\" method=/strata.v1.Images/Import "
                             "code=INVALID_ARGUMENT"));
}

// A layer an image stands on cannot be removed on its own.
TEST_F(ImagesIntegrationTest, RmRefusesAnImagesLayer) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  pb::Image img = GetImage(kBusybox);
  RunResult r = Cli({"rm", img.top_chain_id(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  json err = json::parse(r.output, nullptr, false);
  EXPECT_EQ(err.value("code", ""), "FAILED_PRECONDITION") << r.output;
  EXPECT_THAT(err.value("error", ""), HasSubstr("of image \"docker.io/library/busybox:latest\""));
  ASSERT_OK(MakeDirs(tmp_.Sub("m")));
  r = Cli({"mount", kBusybox, tmp_.Sub("m")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(tmp_.Sub("m/bin/busybox")));
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("m")}).exit_code, 0);
  EXPECT_EQ(Cli({"fsck"}).exit_code, 0);
  ASSERT_EQ(Cli({"rmi", kBusybox}).exit_code, 0);
  r = Cli({"rm", img.top_chain_id()});
  EXPECT_EQ(r.exit_code, 0) << "without the image the layer is anyone's: " << r.output;
  // Each change to the store was logged, and the refusal too.
  std::string log = ReadFileOrDie(daemon_->log_path());
  for (const char* line :
       {"msg=call method=/strata.v1.Images/Import", "msg=call method=/strata.v1.Images/Delete",
        "msg=call method=/strata.v1.Snapshots/Remove",
        "msg=\"call failed\" method=/strata.v1.Snapshots/Remove "
        "code=FAILED_PRECONDITION"}) {
    EXPECT_THAT(log, HasSubstr(line));
  }
}

// `unmount` releases only what `strata mount` mounted; `mount` refuses a mount
// point in use and a writable snapshot above another image.
TEST_F(ImagesIntegrationTest, MountAndUnmountOnlyWhatIsTheirs) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_EQ(Cli({"import", Busybox(), "--name", "example/other:1"}).exit_code, 0);
  std::string foreign = tmp_.Sub("foreign");
  ASSERT_OK(MakeDirs(foreign));
  ASSERT_OK(MountTmpfs(foreign, 1 << 20));
  RunResult r = Cli({"unmount", foreign});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not mounted by strata"));
  EXPECT_TRUE(IsMountPoint(foreign)) << "a tmpfs strata did not make was unmounted";
  r = Cli({"unmount", "/"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = Cli({"mount", kBusybox, foreign});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("already a mount point"));
  ASSERT_OK(Unmount(foreign));

  std::string mnt = tmp_.Sub("mnt");
  ASSERT_OK(MakeDirs(mnt));
  ASSERT_EQ(Cli({"mount", "example/other:1", mnt, "--rw", "work"}).exit_code, 0);
  ASSERT_EQ(Cli({"unmount", mnt}).exit_code, 0);
  // The same image: reused. Both images share their layer here, so the
  // refusal needs a snapshot above another top: make one with a commit.
  ASSERT_EQ(Cli({"mount", "example/other:1", mnt, "--rw", "work"}).exit_code, 0);
  WriteFileOrDie(mnt + "/marker", "m");
  ASSERT_EQ(Cli({"unmount", mnt}).exit_code, 0);
  ASSERT_EQ(Cli({"commit", "work", "--name", "example/changed:1"}).exit_code, 0);
  ASSERT_EQ(Cli({"mount", "example/changed:1", mnt, "--rw", "above-changed"}).exit_code, 0);
  ASSERT_EQ(Cli({"unmount", mnt}).exit_code, 0);
  r = Cli({"mount", kBusybox, mnt, "--rw", "above-changed", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  json err = json::parse(r.output, nullptr, false);
  EXPECT_EQ(err.value("code", ""), "FAILED_PRECONDITION") << r.output;
  EXPECT_THAT(err.value("error", ""), HasSubstr("example/changed:1"));
  EXPECT_FALSE(IsMountPoint(mnt));
}

}  // namespace
}  // namespace strata::testing
