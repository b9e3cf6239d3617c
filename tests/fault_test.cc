// Fault injection against a real stratad whose root is a small tmpfs: the
// disk fills up during an import, a container commit, a client ingest and a
// metadata write; the root turns read-only under the running daemon; the
// metadata directory is unwritable at start-up and during a reopen.
//
// Each time: the failing call gets a clear status (RESOURCE_EXHAUSTED for a
// full disk, FAILED_PRECONDITION for a read-only one), the daemon keeps
// serving other calls, nothing acknowledged is lost, nothing half-made stays
// behind (no staging entry, no daemon ingest, fsck clean, the space comes
// back), and the same calls succeed once space or write access is back.
#include <sys/statvfs.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/native_client.h"
#include "tests/oci_builder.h"
#include "tests/store_checks.h"
#include "tests/stratad_process.h"
#include "tests/tar_builder.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

// Smaller than the 70 MiB RocksDB preallocates for its log when it can: a
// bigger disk would hold a log with room reserved, and metadata writes would
// only fail after tens of MiB of records.
constexpr uint64_t kDiskBytes = 64 << 20;
constexpr char kBusybox[] = "docker.io/library/busybox:latest";

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(MountTmpfs(fs(), kDiskBytes));
    StartDaemon();
    NativeClient c(daemon_->channel());
    ASSERT_OK(c.Import(ReadFileOrDie(SharedImagesDir() + "/prebuilt/busybox.oci.tar")));
    // Made while there is space; ExpectServing mounts it whatever happens later.
    ASSERT_OK(c.View("view-busybox", c.GetImage(kBusybox)->top_chain_id()));
  }

  void StartDaemon() {
    auto p = StratadProcess::Start(root(), tmp_.Sub("s.sock"));
    ASSERT_OK(p);
    daemon_ = std::move(*p);
  }

  std::string fs() const { return tmp_.Sub("fs"); }
  std::string root() const { return tmp_.Sub("fs/root"); }
  std::string filler() const { return tmp_.Sub("fs/filler"); }

  // Fills the disk, then gives back `free_bytes` of it.
  void FillLeaving(uint64_t free_bytes) {
    absl::StatusOr<uint64_t> written = FillFileSystem(filler());
    ASSERT_OK(written);
    ASSERT_GT(*written, free_bytes);
    ASSERT_EQ(::truncate(filler().c_str(), static_cast<off_t>(*written - free_bytes)), 0);
  }
  void FreeSpace() { ASSERT_EQ(::unlink(filler().c_str()), 0); }

  // The daemon still serves: busybox is listed, and a view of it mounts whole.
  void ExpectServing(NativeClient& c, const std::string& tag) {
    absl::StatusOr<std::vector<strata::v1::Image>> images = c.ListImages();
    ASSERT_OK(images) << tag;
    bool found = false;
    for (const auto& img : *images) found |= img.name() == kBusybox;
    EXPECT_TRUE(found) << tag;
    absl::StatusOr<strata::v1::Image> img = c.GetImage(kBusybox);
    ASSERT_OK(img) << tag;
    // Mounts only reads: it answers on a full or read-only disk too.
    absl::StatusOr<std::vector<MountSpec>> mounts = c.Mounts("view-busybox");
    ASSERT_OK(mounts) << tag;
    std::string dir = tmp_.Sub("mnt-" + tag);
    ASSERT_OK(MakeDirs(dir));
    ASSERT_OK(MountAll(*mounts, dir));
    EXPECT_TRUE(Exists(dir + "/bin/busybox")) << tag;
    ASSERT_OK(Unmount(dir));
  }

  void ExpectNothingLeftBehind(NativeClient& c, const std::string& tag) {
    ExpectNothingHalfMade(c, root(), "client-", tag);
  }

  // With no byte free, metadata writes (a lease: one small record each) end
  // up refused; the log's last page (4 KiB on tmpfs) may hold some first,
  // how many depends on where earlier writes left its end.
  void ExpectMetadataWritesRefused(NativeClient& c) {
    FillLeaving(0);
    absl::Status refused;
    for (int i = 0; i < 1000 && refused.ok(); ++i) {
      refused = c.CreateLease(absl::StrCat("full-", i)).status();
    }
    EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> daemon_;
};

TEST_F(FaultTest, DiskFullFailsCleanlyAndRecoversOnceSpaceIsFreed) {
  NativeClient c(daemon_->channel());
  // A container with 4 MiB of changes, made while there is space.
  absl::StatusOr<std::vector<MountSpec>> rw =
      c.Prepare("container", c.GetImage(kBusybox)->top_chain_id());
  ASSERT_OK(rw);
  std::string mnt = tmp_.Sub("container-mnt");
  ASSERT_OK(MakeDirs(mnt));
  ASSERT_OK(MountAll(*rw, mnt));
  const std::string changes = RandomBytes(4 << 20, 1);
  WriteFileOrDie(mnt + "/changes.bin", changes);
  ASSERT_OK(Unmount(mnt));

  // 3 MiB free: less than any of the three needs.
  FillLeaving(3 << 20);
  const uint64_t free_before = FreeBytes(fs());
  const std::string layer = RandomBytes(8 << 20, 2);
  TarBuilder big_layer;
  big_layer.File("big.bin", layer);
  const std::string archive = BuildOciArchive({{"big:1", {big_layer.Bytes()}}});

  EXPECT_THAT(c.Import(archive), StatusIs(absl::StatusCode::kResourceExhausted));
  ExpectServing(c, "after import");
  EXPECT_THAT(c.CommitImage("container", "committed:1", kBusybox),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ExpectServing(c, "after commit");
  // The failed calls gave their space back (less a little metadata log).
  EXPECT_GE(FreeBytes(fs()) + (256 << 10), free_before) << "space leaked by failed calls";
  const std::string blob = RandomBytes(8 << 20, 3);
  EXPECT_THAT(c.WriteBlob("client-blob", blob), StatusIs(absl::StatusCode::kResourceExhausted));
  ExpectServing(c, "after ingest");
  // (The client's ingest keeps what it wrote, for resuming, as containerd's does.)
  ExpectNothingLeftBehind(c, "disk full");

  // Metadata writes themselves are refused, and reads go on.
  ExpectMetadataWritesRefused(c);
  ExpectServing(c, "metadata full");

  FreeSpace();
  // Everything works again, without a restart.
  ASSERT_OK(c.CreateLease("after"));
  ASSERT_OK(c.Import(archive));
  ASSERT_OK(c.CommitImage("container", "committed:1", kBusybox));
  absl::StatusOr<std::string> digest = c.WriteBlob("client-blob", blob);
  ASSERT_OK(digest);
  ExpectServing(c, "space freed");
  ASSERT_OK_AND_ASSIGN(strata::v1::Image committed, c.GetImage("committed:1"));
  ASSERT_OK(c.View("view-committed", committed.top_chain_id()));
  ASSERT_OK_AND_ASSIGN(std::vector<MountSpec> view, c.Mounts("view-committed"));
  ASSERT_OK(MountAll(view, mnt));
  EXPECT_EQ(ReadFileOrDie(mnt + "/changes.bin"), changes);
  ASSERT_OK(Unmount(mnt));
  ExpectNothingLeftBehind(c, "space freed");

  // And it all survives a restart.
  daemon_->Stop(SIGTERM);
  StartDaemon();
  NativeClient again(daemon_->channel());
  EXPECT_OK(again.GetImage("big:1"));
  EXPECT_OK(again.GetImage("committed:1"));
  ExpectServing(again, "restarted");
}

TEST_F(FaultTest, ReadOnlyRootRefusesWritesAndServesReads) {
  NativeClient c(daemon_->channel());
  ASSERT_OK(MakeReadOnly(root()));
  const std::string archive = BuildOciArchive({{"small:1", {OneFileLayer("hello.txt", "hello")}}});
  EXPECT_THAT(c.Import(archive), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(c.WriteBlob("client-ro", "data"), StatusIs(absl::StatusCode::kFailedPrecondition));
  ExpectServing(c, "read-only");

  ASSERT_OK(Unmount(root()));
  ASSERT_OK(c.Import(archive));
  ASSERT_OK(c.WriteBlob("client-ro", "data"));
  ExpectNothingLeftBehind(c, "writable again");
}

TEST_F(FaultTest, UnwritableMetadataDirectory) {
  NativeClient c(daemon_->channel());

  // At run time: a metadata write fails (full disk), and the reopen that
  // would clear the error cannot create its files either. Reads go on from a
  // read-only instance; writes are refused until both are fixed.
  ExpectMetadataWritesRefused(c);
  ASSERT_OK(MakeReadOnly(root() + "/meta"));
  FreeSpace();
  EXPECT_THAT(c.CreateLease("ro-meta").status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  ExpectServing(c, "metadata read-only");
  ASSERT_OK(Unmount(root() + "/meta"));
  ASSERT_OK(c.CreateLease("writable-again"));
  ExpectServing(c, "metadata writable again");

  // At start-up: a clear message and a failing exit, not a crash; and once
  // the directory is writable the daemon starts with everything there.
  daemon_->Stop(SIGTERM);
  ASSERT_OK(MakeReadOnly(root() + "/meta"));
  RunResult r = RunStratad({"--root", root(), "--socket", tmp_.Sub("s.sock")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("meta"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Read-only file system"), std::string::npos) << r.output;
  ASSERT_OK(Unmount(root() + "/meta"));
  StartDaemon();
  NativeClient again(daemon_->channel());
  ExpectServing(again, "restarted");
  ExpectNothingLeftBehind(again, "restarted");
}

}  // namespace
}  // namespace strata::testing
