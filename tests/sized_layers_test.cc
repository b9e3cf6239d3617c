// Sized writable layers against a real stratad: ext4 images on real loop
// devices under real overlayfs mounts. A write past the size fails inside the
// mount with ENOSPC at the size; a fixed layer takes its space from the host
// at Prepare; bad labels are refused and leave nothing; kill -9 and a reboot
// (the mounts gone) lose nothing and leak no image, mount or loop device.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/loop_device.h"
#include "common/mount.h"
#include "common/unique_fd.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

constexpr int64_t kMiB = 1 << 20;
constexpr char kMaxSize[] = "containerd.io/snapshot/max-size";
constexpr char kDisk[] = "strata.io/snapshot/disk";

SnapshotsClient::Labels Sized(int64_t bytes, const std::string& disk = "") {
  SnapshotsClient::Labels labels{{kMaxSize, std::to_string(bytes)}};
  if (!disk.empty()) labels[kDisk] = disk;
  return labels;
}

int64_t HostFreeBytes(const std::string& path) {
  struct statfs st;
  EXPECT_EQ(::statfs(path.c_str(), &st), 0);
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_bsize);
}

// Writes 1 MiB blocks to `path` until a write fails; the bytes written and
// the errno of the failure.
std::pair<int64_t, int> FillUntilError(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  EXPECT_TRUE(fd.valid()) << path;
  std::string block(kMiB, 'x');
  int64_t written = 0;
  for (;;) {
    ssize_t n = ::write(fd.get(), block.data(), block.size());
    if (n < 0) return {written, errno};
    written += n;
    if (written > (int64_t{1} << 40)) return {written, 0};  // no limit at all
  }
}

class SizedLayersTest : public ::testing::Test {
 protected:
  void SetUp() override { StartDaemon(); }
  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) (void)Unmount(*it);
    // The layers' own mounts outlive the daemon; a test leaves no loop device.
    daemon_.reset();
    for (const std::string& m : MountPointsUnder(root_)) (void)Unmount(m);
  }

  // Moves the store to a tmpfs of its own, so the free space measured is
  // this store's alone (other tests run beside this one and write too).
  void UseOwnFilesystem() {
    std::string fs = t_.Sub("own-fs");
    ASSERT_OK(MountTmpfs(fs, uint64_t{2} << 30));
    root_ = fs + "/root";
    StartDaemon();
  }

  void StartDaemon(const std::vector<std::string>& args = {}) {
    daemon_.reset();
    ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(root_, t_.Sub("s.sock"), args));
    client_ = std::make_unique<SnapshotsClient>(daemon_->channel());
  }

  // busybox imported as "bb", and an empty directory `*mount_point` to mount it at.
  void ImportBusyboxAsBb(std::string* mount_point) {
    RunResult imported =
        RunStrataCli(daemon_->socket(),
                     {"import", SharedImagesDir() + "/prebuilt/busybox.oci.tar", "--name", "bb"});
    ASSERT_EQ(imported.exit_code, 0) << imported.output;
    *mount_point = t_.Sub("m");
    ASSERT_OK(MakeDirs(*mount_point));
  }

  // A committed base with one file, for overlays to stand on.
  void MakeBase() {
    ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("base-work", ""));
    WriteFileOrDie(UpperDirOf(mounts) + "/lower.txt", "from the lower layer");
    ASSERT_OK(client_->Commit("base", "base-work"));
  }

  std::string MountAt(const std::vector<MountSpec>& mounts, const std::string& name) {
    std::string dir = t_.Sub(name);
    EXPECT_OK(MakeDirs(dir));
    EXPECT_OK(MountAll(mounts, dir));
    mounted_.push_back(dir);
    return dir;
  }
  void UnmountLast() {
    ASSERT_OK(Unmount(mounted_.back()));
    mounted_.pop_back();
  }

  // Images of sized layers in the store.
  std::vector<std::string> Images() {
    std::vector<std::string> out;
    if (!PathExists(root_ + "/disks")) return out;
    auto names = ListDir(root_ + "/disks");
    EXPECT_OK(names.status());
    for (const std::string& n : *names) {
      if (absl::EndsWith(n, ".img")) out.push_back(n);
    }
    return out;
  }
  // Loop devices bound to files of this store.
  int LoopDevicesOfStore() {
    int n = 0;
    for (const LoopBinding& b : ListLoopDevices()) {
      if (absl::StartsWith(b.backing_file, root_ + "/")) ++n;
    }
    return n;
  }
  int MountsInStore() { return static_cast<int>(MountPointsUnder(root_).size()); }
  // Snapshot directories that are btrfs subvolumes (inode 256).
  int Subvolumes() {
    int n = 0;
    auto names = ListDir(root_ + "/snapshots");
    EXPECT_OK(names.status());
    for (const std::string& name : *names) {
      struct stat st;
      if (::stat((root_ + "/snapshots/" + name).c_str(), &st) == 0 && st.st_ino == 256) ++n;
    }
    return n;
  }

  // Sized Prepares, Commits and Removes, the daemon killed at a random
  // moment, `rounds` times; after each restart every image or subvolume left
  // belongs to a snapshot, every image is mounted once, and fsck is clean.
  void CrashRounds(int rounds) {
    std::mt19937 rng(EnvInt("STRATA_CRASH_SEED", 1234));
    for (int round = 0; round < rounds; ++round) {
      SCOPED_TRACE(absl::StrCat("round ", round));
      std::atomic<bool> stop{false};
      std::thread workload([&, round] {
        SnapshotsClient c(daemon_->channel());
        for (int i = 0; !stop.load(); ++i) {
          std::string key = absl::StrCat("r", round, "-", i);
          auto labels = Sized(16 * kMiB + (i % 3) * kMiB, i % 2 ? "fixed" : "dynamic");
          if (!c.Prepare(key, "", labels).ok()) return;
          if (i % 3 == 0) {
            if (!c.Commit(key + "-c", key).ok()) return;
            key += "-c";
          }
          if (i % 2 == 0 && !c.Remove(key).ok()) return;
        }
      });
      ::usleep(std::uniform_int_distribution<int>(20'000, 300'000)(rng));
      daemon_->Stop(SIGKILL);
      stop = true;
      workload.join();
      StartDaemon();
      // Every snapshot here is sized: prepared sized or committed from one.
      ASSERT_OK_AND_ASSIGN(auto all, client_->List());
      int images = static_cast<int>(Images().size());
      EXPECT_EQ(images + Subvolumes(), static_cast<int>(all.size()));
      EXPECT_EQ(LoopDevicesOfStore(), images);
      EXPECT_EQ(MountsInStore(), images);
      RunResult fsck = RunStrataCli(daemon_->socket(), {"fsck"});
      EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
    }
    // And removing them all gives everything back.
    ASSERT_OK_AND_ASSIGN(auto all, client_->List());
    for (const auto& info : all) ASSERT_OK(client_->Remove(info.name()));
    for (int i = 0; i < 300 && (!Images().empty() || Subvolumes() > 0); ++i) ::usleep(10000);
    EXPECT_TRUE(Images().empty());
    EXPECT_EQ(Subvolumes(), 0);
    EXPECT_EQ(LoopDevicesOfStore(), 0);
    EXPECT_EQ(MountsInStore(), 0);
  }

  TempDir t_;
  std::string root_ = t_.Sub("root");
  std::unique_ptr<StratadProcess> daemon_;
  std::unique_ptr<SnapshotsClient> client_;
  std::vector<std::string> mounted_;
};

TEST_F(SizedLayersTest, DynamicLayerStopsWritesAtItsSize) {
  RunResult info = RunStrataCli(daemon_->socket(), {"info"});
  EXPECT_THAT(info.output, ::testing::HasSubstr("sized layers:  ext4-loop"));
  ASSERT_NO_FATAL_FAILURE(UseOwnFilesystem());
  MakeBase();
  const int64_t size = 64 * kMiB;
  int64_t host_before = HostFreeBytes(root_);
  ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("c", "base", Sized(size)));
  ASSERT_EQ(mounts.at(0).type, "overlay");
  // Dynamic: the host gives only the filesystem's metadata up front.
  EXPECT_LT(host_before - HostFreeBytes(root_), 16 * kMiB);
  std::string m = MountAt(mounts, "m");
  EXPECT_EQ(ReadFileOrDie(m + "/lower.txt"), "from the lower layer");

  auto [written, err] = FillUntilError(m + "/fill");
  EXPECT_TRUE(err == ENOSPC || err == EDQUOT) << "errno " << err;
  EXPECT_GE(written, size - kMiB);
  EXPECT_LE(written, size + kMiB);
  std::printf("dynamic %lld-byte layer: ENOSPC after %lld bytes\n", static_cast<long long>(size),
              static_cast<long long>(written));
  // The filesystem holding the store is untouched: its own files still take writes.
  WriteFileOrDie(root_ + "/../host-file", std::string(kMiB, 'h'));
  // Usage comes from the layer's filesystem: what the container wrote.
  ASSERT_OK_AND_ASSIGN(auto usage, client_->Usage("c"));
  EXPECT_GE(usage.size(), written);
  EXPECT_LE(usage.size(), written + kMiB);
  // Deleting gives the space back inside the layer.
  ASSERT_EQ(::unlink((m + "/fill").c_str()), 0);
  WriteFileOrDie(m + "/after.txt", std::string(10 * kMiB, 'a'));

  UnmountLast();
  ASSERT_OK(client_->Commit("c-committed", "c"));
  ASSERT_OK_AND_ASSIGN(auto committed_usage, client_->Usage("c-committed"));
  EXPECT_GE(committed_usage.size(), 10 * kMiB);
  EXPECT_LE(committed_usage.size(), 11 * kMiB);
  // The committed layer is a parent like any other.
  ASSERT_OK_AND_ASSIGN(auto view, client_->View("v", "c-committed"));
  std::string v = MountAt(view, "v");
  EXPECT_EQ(ReadFileOrDie(v + "/after.txt").size(), static_cast<size_t>(10 * kMiB));
  EXPECT_EQ(ReadFileOrDie(v + "/lower.txt"), "from the lower layer");
  UnmountLast();

  ASSERT_EQ(Images().size(), 1u);
  ASSERT_OK(client_->Remove("v"));
  ASSERT_OK(client_->Remove("c-committed"));
  // Removal goes on in the background; Cleanup waits for nothing, so poll.
  for (int i = 0; i < 200 && !Images().empty(); ++i) ::usleep(10000);
  EXPECT_TRUE(Images().empty());
  EXPECT_EQ(LoopDevicesOfStore(), 0);
  EXPECT_EQ(MountsInStore(), 0);
}

TEST_F(SizedLayersTest, FixedLayerReservesItsSpaceAtPrepare) {
  ASSERT_NO_FATAL_FAILURE(UseOwnFilesystem());
  const int64_t size = 512 * kMiB;
  // Metadata writes first: RocksDB preallocates its log as it starts writing.
  ASSERT_OK(client_->Prepare("warm-up", "").status());
  ASSERT_OK(client_->Remove("warm-up"));
  int64_t before = HostFreeBytes(root_);
  ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("fixed", "", Sized(size, "fixed")));
  int64_t reserved = before - HostFreeBytes(root_);
  std::printf("fixed %lld-byte layer: host free space fell %lld bytes at Prepare\n",
              static_cast<long long>(size), static_cast<long long>(reserved));
  EXPECT_GE(reserved, size);
  // And writing it takes nothing more from the host.
  std::string m = MountAt(mounts, "m");
  int64_t before_fill = HostFreeBytes(root_);
  auto [written, err] = FillUntilError(m + "/fill");
  EXPECT_EQ(err, ENOSPC);
  EXPECT_GE(written, size - kMiB);
  EXPECT_LE(written, size + kMiB);
  EXPECT_LT(before_fill - HostFreeBytes(root_), 32 * kMiB);
  UnmountLast();
  ASSERT_OK(client_->Remove("fixed"));
  for (int i = 0; i < 200 && !Images().empty(); ++i) ::usleep(10000);
  EXPECT_TRUE(Images().empty());
  // ext4 hands freed blocks back at its next journal commit (5 s at most).
  for (int i = 0; i < 100 && HostFreeBytes(root_) < before - 64 * kMiB; ++i) ::usleep(100000);
  EXPECT_GT(HostFreeBytes(root_), before - 64 * kMiB);
}

TEST_F(SizedLayersTest, BadSizeLabelsAreInvalidArgumentAndLeaveNothing) {
  std::vector<SnapshotsClient::Labels> bad = {
      {{kMaxSize, "abc"}},
      {{kMaxSize, "-1"}},
      {{kMaxSize, "0"}},
      {{kMaxSize, "+5"}},
      {{kMaxSize, "1.5"}},
      {{kMaxSize, " 64"}},
      {{kMaxSize, "4096"}},  // under the backend's minimum
      {{kMaxSize, "99999999999999999999999"}},
      {{kMaxSize, "67108864"}, {kDisk, "huge"}},
      {{kDisk, "fixed"}},  // a kind without a size
  };
  for (const auto& labels : bad) {
    SCOPED_TRACE(labels.begin()->second);
    EXPECT_THAT(client_->Prepare("bad", "", labels), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(client_->Stat("bad"), StatusIs(absl::StatusCode::kNotFound));
  }
  EXPECT_TRUE(Images().empty());
  EXPECT_EQ(MountsInStore(), 0);
  // A size on a view is ignored, as containerd ignores it.
  ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("w", ""));
  ASSERT_OK(client_->Commit("base", "w"));
  ASSERT_OK(client_->View("view", "base", Sized(64 * kMiB)).status());
  EXPECT_TRUE(Images().empty());
  // A size on a commit's labels is only a label.
  ASSERT_OK(client_->Prepare("w2", "").status());
  ASSERT_OK(client_->Commit("c2", "w2", Sized(64 * kMiB)));
  EXPECT_TRUE(Images().empty());
}

TEST_F(SizedLayersTest, WithoutABackendASizeIsRefusedNeverIgnored) {
  StartDaemon({"--sized-backend", "none"});
  auto prepared = client_->Prepare("c", "", Sized(64 * kMiB));
  EXPECT_THAT(prepared, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(absl::StrContains(prepared.status().message(), "sized layers")) << prepared.status();
  EXPECT_OK(client_->Prepare("unsized", "").status());
  EXPECT_TRUE(Images().empty());
  RunResult info = RunStrataCli(daemon_->socket(), {"info"});
  EXPECT_THAT(info.output,
              ::testing::HasSubstr("sized layers:  none (sized layers are turned off"));
}

TEST_F(SizedLayersTest, Kill9AndRebootKeepTheLayerAndItsFiles) {
  ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("c", "", Sized(32 * kMiB)));
  WriteFileOrDie(UpperDirOf(mounts) + "/kept.txt", "written before the crash");
  EXPECT_EQ(daemon_->Stop(SIGKILL), 128 + SIGKILL);
  StartDaemon();
  ASSERT_OK_AND_ASSIGN(mounts, client_->Mounts("c"));
  EXPECT_EQ(ReadFileOrDie(UpperDirOf(mounts) + "/kept.txt"), "written before the crash");

  // A reboot: the daemon gone and every mount with it.
  EXPECT_EQ(daemon_->Stop(SIGTERM), 0);
  for (const std::string& m : MountPointsUnder(root_)) ASSERT_OK(Unmount(m));
  ASSERT_EQ(LoopDevicesOfStore(), 0);
  StartDaemon();
  ASSERT_OK_AND_ASSIGN(mounts, client_->Mounts("c"));
  EXPECT_EQ(ReadFileOrDie(UpperDirOf(mounts) + "/kept.txt"), "written before the crash");
  // Still limited after being mounted again.
  auto [written, err] = FillUntilError(UpperDirOf(mounts) + "/fill");
  EXPECT_EQ(err, ENOSPC);
  EXPECT_LE(written, 32 * kMiB + kMiB);
  RunResult fsck = RunStrataCli(daemon_->socket(), {"fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
}

// fsck finds what went wrong behind the daemon's back: a sized layer someone
// unmounted (its directory would look empty) and an image no record owns;
// --repair mounts the one again (files intact) and removes the other.
TEST_F(SizedLayersTest, FsckFindsAndRepairsSizedLayerProblems) {
  ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("c", "", Sized(32 * kMiB)));
  std::string upper = UpperDirOf(mounts);
  WriteFileOrDie(upper + "/kept.txt", "kept");
  std::string dir = upper.substr(0, upper.size() - 2);  // snapshots/<id>
  ASSERT_OK(Unmount(dir));
  ASSERT_TRUE(CopyFileSparse(root_ + "/disks/templates/33554432.img", root_ + "/disks/zz-d.img",
                             /*sync=*/false)
                  .ok());
  RunResult fsck = RunStrataCli(daemon_->socket(), {"fsck"});
  EXPECT_EQ(fsck.exit_code, 3) << fsck.output;
  EXPECT_TRUE(absl::StrContains(fsck.output, "is not mounted")) << fsck.output;
  EXPECT_TRUE(absl::StrContains(fsck.output, "snapshots/zz belongs to no snapshot")) << fsck.output;
  RunResult repair = RunStrataCli(daemon_->socket(), {"fsck", "--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_EQ(ReadFileOrDie(upper + "/kept.txt"), "kept");
  EXPECT_EQ(Images().size(), 1u);
  EXPECT_EQ(RunStrataCli(daemon_->socket(), {"fsck"}).exit_code, 0);
}

TEST_F(SizedLayersTest, Kill9DuringSizedPrepareCommitRemoveLeaksNothing) {
  CrashRounds(EnvInt("STRATA_SIZED_CRASH_ROUNDS", 8));
}

TEST_F(SizedLayersTest, CliMountsASizedLayerThatDdCannotOverfill) {
  std::string socket = daemon_->socket();
  std::string m;
  ASSERT_NO_FATAL_FAILURE(ImportBusyboxAsBb(&m));
  RunResult bad = RunStrataCli(socket, {"mount", "bb", m, "--rw", "k", "--size", "12X"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(bad.output, "12X")) << bad.output;
  RunResult mounted =
      RunStrataCli(socket, {"mount", "bb", m, "--rw", "k", "--size", "32M", "--disk", "fixed"});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.output;
  mounted_.push_back(m);
  RunResult dd = RunCommand({"dd", "if=/dev/zero", "of=" + m + "/fill", "bs=1M"});
  EXPECT_NE(dd.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(dd.output, "No space left on device")) << dd.output;
  struct stat st;
  ASSERT_EQ(::stat((m + "/fill").c_str(), &st), 0);
  EXPECT_GE(st.st_size, 31 * kMiB);
  EXPECT_LE(st.st_size, 33 * kMiB);
  EXPECT_TRUE(Exists(m + "/bin/busybox"));
  RunResult unmounted = RunStrataCli(socket, {"unmount", m});
  ASSERT_EQ(unmounted.exit_code, 0) << unmounted.output;
  mounted_.pop_back();
  // Mounting it again: with its own size (or none) it is reused; another
  // size is refused rather than silently ignored.
  RunResult other = RunStrataCli(socket, {"mount", "bb", m, "--rw", "k", "--size", "64M"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(other.output, "exists with another size")) << other.output;
  RunResult again = RunStrataCli(socket, {"mount", "bb", m, "--rw", "k", "--size", "32M"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  ASSERT_EQ(RunStrataCli(socket, {"unmount", m}).exit_code, 0);
  RunResult removed = RunStrataCli(socket, {"rm", "k"});
  EXPECT_EQ(removed.exit_code, 0) << removed.output;
}

// `commit --squash` of a sized container: its upper directory lives on the
// layer's own filesystem, so the merge copies across filesystems. It makes
// the image, with the container's file, and only then removes the container.
TEST_F(SizedLayersTest, CommitSquashOfASizedContainerCopiesAcrossFilesystems) {
  std::string socket = daemon_->socket();
  std::string m;
  ASSERT_NO_FATAL_FAILURE(ImportBusyboxAsBb(&m));
  RunResult mounted = RunStrataCli(socket, {"mount", "bb", m, "--rw", "sz2", "--size", "32M"});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.output;
  mounted_.push_back(m);
  WriteFileOrDie(m + "/keep.txt", "kept across filesystems\n");
  ASSERT_EQ(RunStrataCli(socket, {"unmount", m}).exit_code, 0);
  mounted_.pop_back();
  RunResult squashed =
      RunStrataCli(socket, {"commit", "sz2", "--name", "example.test/sz2:1", "--squash"});
  ASSERT_EQ(squashed.exit_code, 0) << squashed.output;
  ASSERT_EQ(RunStrataCli(socket, {"mount", "example.test/sz2:1", m}).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(m + "/keep.txt"), "kept across filesystems\n");
  EXPECT_TRUE(Exists(m + "/bin/busybox"));
  ASSERT_EQ(RunStrataCli(socket, {"unmount", m}).exit_code, 0);
  // The container went once its changes were in the image.
  RunResult gone = RunStrataCli(socket, {"rm", "sz2"});
  EXPECT_EQ(gone.exit_code, 1) << gone.output;
  EXPECT_TRUE(absl::StrContains(gone.output, "does not exist")) << gone.output;
}

// The same store on btrfs: sized layers become subvolumes with a qgroup
// limit (fixed ones still ext4 images: btrfs cannot reserve space).
class SizedLayersOnBtrfsTest : public SizedLayersTest {
 protected:
  void SetUp() override {
    std::string image = t_.Sub("btrfs.img");
    btrfs_ = t_.Sub("btrfs");
    ASSERT_EQ(RunCommand({"truncate", "-s", "3G", image}).exit_code, 0);
    RunResult mkfs = RunCommand({"mkfs.btrfs", "-q", image});
    ASSERT_EQ(mkfs.exit_code, 0) << mkfs.output;
    ASSERT_OK(MakeDirs(btrfs_));
    RunResult mount = RunCommand({"mount", "-o", "loop", image, btrfs_});
    ASSERT_EQ(mount.exit_code, 0) << mount.output;
    root_ = btrfs_ + "/root";
    StartDaemon();
  }
  void TearDown() override {
    SizedLayersTest::TearDown();
    if (!btrfs_.empty()) (void)Unmount(btrfs_);
  }

  std::string btrfs_;
};

TEST_F(SizedLayersOnBtrfsTest, DynamicLayerIsASubvolumeStoppedAtItsSize) {
  RunResult info = RunStrataCli(daemon_->socket(), {"info"});
  EXPECT_THAT(info.output, ::testing::HasSubstr("sized layers:  btrfs-qgroup, ext4-loop"));
  MakeBase();
  const int64_t size = 64 * kMiB;
  ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("c", "base", Sized(size)));
  EXPECT_EQ(Subvolumes(), 1);
  EXPECT_TRUE(Images().empty());
  std::string m = MountAt(mounts, "m");
  EXPECT_EQ(ReadFileOrDie(m + "/lower.txt"), "from the lower layer");
  auto [written, err] = FillUntilError(m + "/fill");
  EXPECT_TRUE(err == EDQUOT || err == ENOSPC) << "errno " << err;
  EXPECT_GE(written, size - kMiB);
  EXPECT_LE(written, size);
  std::printf("btrfs-qgroup %lld-byte layer: errno %d after %lld bytes\n",
              static_cast<long long>(size), err, static_cast<long long>(written));
  ASSERT_OK_AND_ASSIGN(auto usage, client_->Usage("c"));
  EXPECT_GE(usage.size(), written - kMiB);
  EXPECT_LE(usage.size(), written + kMiB);
  EXPECT_GE(usage.inodes(), 1);
  UnmountLast();
  ASSERT_OK(client_->Commit("c-committed", "c"));
  ASSERT_OK_AND_ASSIGN(auto view, client_->View("v", "c-committed"));
  std::string v = MountAt(view, "v");
  EXPECT_EQ(ReadFileOrDie(v + "/lower.txt"), "from the lower layer");
  UnmountLast();
  ASSERT_OK(client_->Remove("v"));
  ASSERT_OK(client_->Remove("c-committed"));
  for (int i = 0; i < 200 && Subvolumes() > 0; ++i) ::usleep(10000);
  EXPECT_EQ(Subvolumes(), 0);
}

TEST_F(SizedLayersOnBtrfsTest, FixedLayersGoToExt4Images) {
  ASSERT_OK_AND_ASSIGN(auto mounts, client_->Prepare("f", "", Sized(32 * kMiB, "fixed")));
  EXPECT_EQ(Images().size(), 1u);
  EXPECT_EQ(Subvolumes(), 0);
  auto [written, err] = FillUntilError(UpperDirOf(mounts) + "/fill");
  EXPECT_EQ(err, ENOSPC);
  EXPECT_GE(written, 31 * kMiB);
}

TEST_F(SizedLayersOnBtrfsTest, Kill9DuringSizedPrepareCommitRemoveLeaksNothing) {
  CrashRounds(EnvInt("STRATA_SIZED_CRASH_ROUNDS", 8) / 2);
}

}  // namespace
}  // namespace strata::testing
