// End to end with Debian's containerd and runc: containerd uses stratad as its
// proxy snapshotter for snapshot commands, image import and running a container.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/mount.h"
#include "cri/runtime/v1/image_service.grpc.pb.h"
#include "strata/v1/snapshots.grpc.pb.h"
#include "tests/containerd_process.h"
#include "tests/registry_process.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string SharedImages() {
  const char* env = std::getenv("STRATA_SHARED_IMAGES");
  return env ? env : std::string(STRATA_SOURCE_DIR) + "/../shared/images";
}

// Polls until no snapshot matches `filters` (up to 20 s).
bool EventuallyNone(SnapshotsClient& client, const std::vector<std::string>& filters) {
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<std::vector<snapshots_pb::Info>> left = client.List(filters);
    if (left.ok() && left->empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

class ContainerdE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(stratad_, StratadProcess::Start(tmp_.Sub("strata"), tmp_.Sub("s.sock")));
    ASSERT_OK_AND_ASSIGN(containerd_,
                         ContainerdProcess::Start(tmp_.Sub("ctrd"), tmp_.Sub("s.sock")));
  }

  RunResult Ctr(const std::vector<std::string>& args) { return containerd_->Ctr(args); }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> stratad_;
  std::unique_ptr<ContainerdProcess> containerd_;
};

TEST_F(ContainerdE2ETest, CtrSnapshotsPrepareCommitListRemove) {
  const std::vector<std::string> snap = {"snapshots", "--snapshotter", "strata"};
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = snap;
    args.insert(args.end(), extra.begin(), extra.end());
    return Ctr(args);
  };
  RunResult r = run({"prepare", "active-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run({"commit", "committed-1", "active-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run({"prepare", "child-1", "committed-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run({"ls"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("committed-1"));
  EXPECT_THAT(r.output, HasSubstr("child-1"));
  EXPECT_THAT(r.output, HasSubstr("Committed"));
  EXPECT_THAT(r.output, HasSubstr("Active"));
  // containerd refuses to remove a parent, through us.
  r = run({"rm", "committed-1"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  r = run({"rm", "child-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run({"rm", "committed-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run({"ls"});
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("committed-1")));

  // The snapshots really lived in strata. containerd removes backend
  // snapshots from its garbage collector, shortly after the metadata goes:
  // it lists ours, removes what it no longer knows, then calls Cleanup.
  SnapshotsClient client(stratad_->channel());
  EXPECT_TRUE(EventuallyNone(client, {})) << "containerd's GC did not remove the snapshots";
}

TEST_F(ContainerdE2ETest, ImportBusyboxAndRunEchoHello) {
  std::string image = SharedImages() + "/prebuilt/busybox.oci.tar";
  ASSERT_TRUE(Exists(image)) << image;
  RunResult r = Ctr({"images", "import", "--snapshotter", "strata", image});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // The unpacked layer is a committed snapshot in strata, keyed by chainID.
  SnapshotsClient client(stratad_->channel());
  ASSERT_OK_AND_ASSIGN(auto snaps, client.List({"kind==committed"}));
  bool found = false;
  for (const auto& s : snaps) {
    found |= absl::StrContains(
        s.name(), "sha256:cf7989f5a0694c3e555330009f6e865dc47688ab9d3d64d8225d3fa8bcd64517");
  }
  EXPECT_TRUE(found) << "no committed snapshot for busybox's chainID";

  // containerd owns its snapshots: strata's collector never takes them.
  RunResult gc = RunStrataCli(stratad_->socket(), {"gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.output;
  EXPECT_THAT(gc.output, ::testing::HasSubstr("removed 0 items"));

  r = Ctr({"run", "--snapshotter", "strata", "--runc-root", tmp_.Sub("runc"), "--fifo-dir",
           tmp_.Sub("fifo"), "--rm", "docker.io/library/busybox:latest", "hello", "echo", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello\n");

  // The container's snapshot goes after --rm (by containerd's GC); the image's layer stays.
  EXPECT_TRUE(EventuallyNone(client, {"kind==active"}));
  ASSERT_OK_AND_ASSIGN(auto layers, client.List({"kind==committed"}));
  EXPECT_EQ(layers.size(), 1u);
}

// containerd's own size label reaches strata through the proxy: a container
// run with a 32 MiB writable layer cannot write past it, and sees ENOSPC.
TEST_F(ContainerdE2ETest, ContainerWithMaxSizeLabelCannotFillTheHost) {
  std::string image = SharedImages() + "/prebuilt/busybox.oci.tar";
  RunResult r = Ctr({"images", "import", "--snapshotter", "strata", image});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Ctr({"run", "--snapshotter", "strata", "--snapshotter-label",
           "containerd.io/snapshot/max-size=33554432", "--runc-root", tmp_.Sub("runc"),
           "--fifo-dir", tmp_.Sub("fifo"), "--rm", "docker.io/library/busybox:latest", "sized",
           "sh", "-c", "dd if=/dev/zero of=/fill bs=1M 2>&1; ls -l /fill"});
  EXPECT_THAT(r.output, ::testing::HasSubstr("No space left on device"));
  // dd's "32+0 records out" or a byte or so less: the limit is 32 MiB.
  EXPECT_THAT(r.output, ::testing::ContainsRegex("3[12]\\+[01] records out"));
  // containerd's collector removes the container's snapshot, and with it the
  // layer's filesystem: nothing stays mounted under strata's root.
  SnapshotsClient client(stratad_->channel());
  EXPECT_TRUE(EventuallyNone(client, {"kind==active"}));
  for (int i = 0; i < 100 && !MountPointsUnder(tmp_.Sub("strata")).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(MountPointsUnder(tmp_.Sub("strata")).empty());
}

// Native snapshots are invisible to containerd, so its garbage collector
// never removes them: strata imports busybox, containerd imports the same
// archive (containerd 1.6's `ctr images import` and `ctr images pull` unpack
// through image.Unpack, which never offers the remote-snapshotter label, so
// containerd extracts its own copy into its key space), runs it, deletes it
// and collects; the native image still mounts and runs.
TEST_F(ContainerdE2ETest, ContainerdGarbageCollectionNeverTouchesNativeImages) {
  std::string image = SharedImages() + "/prebuilt/busybox.oci.tar";
  auto cli = [&](std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); };
  RunResult r = cli({"import", image});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Ctr({"images", "import", "--snapshotter", "strata", image});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Ctr({"run", "--snapshotter", "strata", "--runc-root", tmp_.Sub("runc"), "--fifo-dir",
           tmp_.Sub("fifo"), "--rm", "docker.io/library/busybox:latest", "c1", "echo", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello\n");
  r = Ctr({"images", "rm", "--sync", "docker.io/library/busybox:latest"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  SnapshotsClient ctrd(stratad_->channel());
  EXPECT_TRUE(EventuallyNone(ctrd, {}));  // containerd collected all of its own
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  r = cli({"mount", "docker.io/library/busybox:latest", tmp_.Sub("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand({"chroot", tmp_.Sub("mnt"), "/bin/sh", "-c", "echo still here"});
  EXPECT_EQ(r.output, "still here\n");
  ASSERT_EQ(cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
}

// An image committed in strata and exported (docker form) imports into
// containerd and runs there.
TEST_F(ContainerdE2ETest, ContainerdRunsAnImageCommittedAndExportedByStrata) {
  auto cli = [&](std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); };
  ASSERT_EQ(cli({"import", SharedImages() + "/prebuilt/busybox.oci.tar"}).exit_code, 0);
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  ASSERT_EQ(
      cli({"mount", "docker.io/library/busybox:latest", tmp_.Sub("mnt"), "--rw", "w"}).exit_code,
      0);
  WriteFileOrDie(tmp_.Sub("mnt/hello.sh"), "#!/bin/sh\necho hello from a strata commit\n");
  ASSERT_EQ(::chmod(tmp_.Sub("mnt/hello.sh").c_str(), 0755), 0);
  ASSERT_EQ(cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
  ASSERT_EQ(cli({"commit", "w", "--name", "example.test/committed:1"}).exit_code, 0);
  for (const char* format : {"docker", "oci"}) {
    std::string file = tmp_.Sub(std::string("export-") + format + ".tar");
    RunResult r = cli({"export", "example.test/committed:1", file, "--format", format});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = Ctr({"images", "import", "--snapshotter", "strata", file});
    ASSERT_EQ(r.exit_code, 0) << format << ": " << r.output;
    r = Ctr({"run", "--snapshotter", "strata", "--runc-root", tmp_.Sub("runc"), "--fifo-dir",
             tmp_.Sub("fifo"), "--rm", "example.test/committed:1", std::string("c-") + format,
             "/hello.sh"});
    ASSERT_EQ(r.exit_code, 0) << format << ": " << r.output;
    EXPECT_EQ(r.output, "hello from a strata commit\n") << format;
    Ctr({"images", "rm", "--sync", "example.test/committed:1"});
  }
}

// A private registry (Debian's docker-registry) on a free loopback port.
class Registry {
 public:
  explicit Registry(const std::string& dir) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::close(fd);
    WriteFileOrDie(dir + "/config.yml",
                   absl::StrCat("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ", dir,
                                "/data\nhttp:\n  addr: ", host(), "\n"));
    pid_ = Spawn({"docker-registry", "serve", dir + "/config.yml"}, dir + "/registry.log");
  }
  ~Registry() {
    ::kill(pid_, SIGTERM);
    WaitExit(pid_);
  }
  std::string host() const { return absl::StrCat("127.0.0.1:", port_); }
  bool WaitReady() const {
    for (int i = 0; i < 100; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in addr {};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      ::close(fd);
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

// Pulls `ref` through containerd's CRI image service (the pull path that
// labels extraction snapshots for remote snapshotters).
grpc::Status CriPull(const ContainerdProcess& containerd, const std::string& ref) {
  auto cri = runtime::v1::ImageService::NewStub(
      grpc::CreateChannel("unix:" + containerd.socket(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  runtime::v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  runtime::v1::PullImageResponse resp;
  return cri->PullImage(&ctx, req, &resp);
}

// strata holds busybox's layer (imported natively). containerd pulling the
// same image through its CRI plugin (the pull path that offers snapshotters
// the remote-snapshotter label; `ctr images import/pull` in containerd 1.6 do
// not) is answered ALREADY_EXISTS for the extraction snapshot, unpacks
// nothing, runs a container on strata's own layer directory, and after it
// deletes the image and collects, the native image is whole.
TEST(ContainerdRemoteSnapshotterTest, CriPullReusesTheLayerStrataHolds) {
  TempDir tmp;
  const std::string chain =
      "sha256:cf7989f5a0694c3e555330009f6e865dc47688ab9d3d64d8225d3fa8bcd64517";
  std::string image = SharedImages() + "/prebuilt/busybox.oci.tar";
  ASSERT_OK_AND_ASSIGN(auto stratad, StratadProcess::Start(tmp.Sub("strata"), tmp.Sub("s.sock")));
  auto cli = [&](std::vector<std::string> args) { return RunStrataCli(tmp.Sub("s.sock"), args); };
  RunResult r = cli({"import", image});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  ASSERT_OK(MakeDirs(tmp.Sub("registry")));
  Registry registry(tmp.Sub("registry"));
  ASSERT_TRUE(registry.WaitReady()) << ReadFileOrDie(tmp.Sub("registry/registry.log"));
  std::string ref = registry.host() + "/library/busybox:latest";
  r = RunCommand(
      {"skopeo", "copy", "--dest-tls-verify=false", "oci-archive:" + image, "docker://" + ref});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  ContainerdProcess::Options opts;
  opts.cri = true;
  opts.insecure_registry = registry.host();
  ASSERT_OK_AND_ASSIGN(auto containerd,
                       ContainerdProcess::Start(tmp.Sub("ctrd"), tmp.Sub("s.sock"), opts));
  grpc::Status pulled = CriPull(*containerd, ref);
  ASSERT_TRUE(pulled.ok()) << pulled.error_message() << "\n"
                           << ReadFileOrDie(tmp.Sub("ctrd/containerd.log"));
  // containerd's view of the layer is strata's directory: one committed
  // snapshot named by the chainID strata answered with, the same bind source
  // as a native view, and strata unpacked nothing for containerd.
  SnapshotsClient ctrd(stratad->channel());
  ASSERT_OK_AND_ASSIGN(auto committed, ctrd.List({"kind==committed"}));
  ASSERT_EQ(committed.size(), 1u);
  EXPECT_EQ(committed[0].name(), chain);
  ASSERT_OK_AND_ASSIGN(auto ctrd_view, ctrd.View("probe", chain));
  ASSERT_OK(ctrd.Remove("probe"));
  auto native = strata::v1::Snapshots::NewStub(stratad->channel());
  grpc::ClientContext ctx;
  snapshots_pb::ViewSnapshotRequest req;
  req.set_key("native-probe");
  req.set_parent(chain);
  snapshots_pb::ViewSnapshotResponse native_view;
  ASSERT_TRUE(native->View(&ctx, req, &native_view).ok());
  EXPECT_EQ(ctrd_view[0].source, native_view.mounts(0).source());
  std::string log = ReadFileOrDie(stratad->log_path());
  size_t unpacks = 0;
  for (size_t p = log.find("unpacked layers"); p != std::string::npos;
       p = log.find("unpacked layers", p + 1))
    ++unpacks;
  EXPECT_EQ(unpacks, 1u) << "only the native import unpacks";

  r = containerd->Ctr({"run", "--snapshotter", "strata", "--runc-root", tmp.Sub("runc"),
                       "--fifo-dir", tmp.Sub("fifo"), "--rm", ref, "c1", "echo", "hello"},
                      "k8s.io");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello\n");

  r = containerd->Ctr({"images", "rm", "--sync", ref}, "k8s.io");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = containerd->Ctr({"images", "ls", "-q"}, "k8s.io");
  std::vector<std::string> names = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  for (const std::string& name : names) {
    containerd->Ctr({"images", "rm", "--sync", name}, "k8s.io");
  }
  EXPECT_TRUE(EventuallyNone(ctrd, {}));
  ASSERT_OK(MakeDirs(tmp.Sub("mnt")));
  r = cli({"mount", "docker.io/library/busybox:latest", tmp.Sub("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(RunCommand({"chroot", tmp.Sub("mnt"), "/bin/sh", "-c", "echo whole"}).output,
            "whole\n");
  ASSERT_EQ(cli({"unmount", tmp.Sub("mnt")}).exit_code, 0);
}

// strata holds nothing. containerd pulls through its CRI plugin, whose
// extraction snapshots carry the cri.* labels: strata fetches and unpacks
// the image's layer through its own pipeline, answers ALREADY_EXISTS, and
// containerd downloads no layer (its content store lacks the blob; the
// registry sent the layer once, to strata) and unpacks nothing; a container
// runs on strata's layer.
TEST(ContainerdRemoteSnapshotterTest, CriPullFetchesTheLayerThroughStrata) {
  TempDir tmp;
  ASSERT_OK_AND_ASSIGN(auto registry, RegistryProcess::Start(tmp.Sub("registry")));
  ASSERT_OK(registry->PushOciArchive(SharedImages() + "/prebuilt/busybox.oci.tar",
                                     "library/busybox:latest"));
  const std::string ref = registry->host() + "/library/busybox:latest";
  ASSERT_OK_AND_ASSIGN(auto stratad,
                       StratadProcess::Start(tmp.Sub("strata"), tmp.Sub("s.sock"),
                                             {"--registry-hosts", tmp.Sub("certs.d")}));
  ContainerdProcess::Options opts;
  opts.cri = true;
  opts.insecure_registry = registry->host();
  ASSERT_OK_AND_ASSIGN(auto containerd,
                       ContainerdProcess::Start(tmp.Sub("ctrd"), tmp.Sub("s.sock"), opts));
  grpc::Status pulled = CriPull(*containerd, ref);
  ASSERT_TRUE(pulled.ok()) << pulled.error_message() << "\n"
                           << ReadFileOrDie(tmp.Sub("ctrd/containerd.log"));
  const std::string layer =
      "sha256:7ab96ef2c586a17aa3bc9b76352f7bc13c1fb25dee4e6179a5a5458b9f70faf5";
  RunResult r = containerd->Ctr({"content", "ls", "-q"}, "k8s.io");
  EXPECT_THAT(r.output, Not(HasSubstr(layer))) << "containerd downloaded the layer";
  std::string log = ReadFileOrDie(stratad->log_path());
  EXPECT_THAT(log, HasSubstr("unpacked layers"));
  int64_t layer_size = 0;
  ASSERT_OK_AND_ASSIGN(std::string blob,
                       ReadFile(tmp.Sub("strata/content/blobs/sha256/") + layer.substr(7)));
  layer_size = static_cast<int64_t>(blob.size());
  absl::SleepFor(absl::Milliseconds(300));  // the access log's last lines
  int64_t served = registry->BlobBytesServed();
  EXPECT_GE(served, layer_size);
  EXPECT_LT(served, 2 * layer_size) << "the layer was sent twice";

  r = containerd->Ctr({"run", "--snapshotter", "strata", "--runc-root", tmp.Sub("runc"),
                       "--fifo-dir", tmp.Sub("fifo"), "--rm", ref, "c1", "echo", "hello"},
                      "k8s.io");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello\n");
}

}  // namespace
}  // namespace strata::testing
