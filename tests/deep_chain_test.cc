// A chain of 500 committed layers, in a store that has already made and
// removed 10,000 snapshots (so ids are no longer small), must mount and read
// correctly through the kernel's overlayfs: every layer's file visible, every
// whiteout honoured. The mount option string of 500 lowerdirs only fits one
// page because directory names are short (snapshotter/layout.h).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::testing {
namespace {

constexpr int kChurn = 10000;
constexpr int kDepth = 500;
constexpr int kDeleteEvery = 50;  // layer i (i % 50 == 49) deletes layer i-20's file and dir

bool Deletes(int i) { return i % kDeleteEvery == kDeleteEvery - 1; }

// Commits `depth` layers, each adding f-<i> and d-<i>/x, and every 50th
// deleting an earlier layer's through a real overlay mount (so the kernel
// writes the whiteouts); `parent` ends as the top layer's name.
void BuildChain(SnapshotsClient& client, TempDir& t, int depth, std::set<int>* deleted,
                std::string* parent) {
  for (int i = 0; i < depth; ++i) {
    std::string work = absl::StrCat("work-", i);
    ASSERT_OK_AND_ASSIGN(auto mounts, client.Prepare(work, *parent));
    std::string root = UpperDirOf(mounts);
    if (Deletes(i)) {
      root = t.Sub("mnt-work");
      ASSERT_OK(MakeDirs(root));
      ASSERT_OK(MountAll(mounts, root));
      int victim = i - 20;
      ASSERT_EQ(::unlink(absl::StrCat(root, "/f-", victim).c_str()), 0);  // victim + 20 == i
      ASSERT_OK(RemoveTree(absl::StrCat(root, "/d-", victim)));
      deleted->insert(victim);
    }
    WriteFileOrDie(absl::StrCat(root, "/f-", i), absl::StrCat("layer ", i));
    ASSERT_EQ(::mkdir(absl::StrCat(root, "/d-", i).c_str(), 0755), 0);
    WriteFileOrDie(absl::StrCat(root, "/d-", i, "/x"), "x");
    if (Deletes(i)) {
      ASSERT_OK(Unmount(root));
    }
    std::string name = absl::StrCat("layer-", i);
    ASSERT_OK(client.Commit(name, work));
    *parent = name;
  }
}

// Every layer's file below `depth` is in the tree at `dir`, but the deleted ones.
void ExpectChainTree(const std::string& dir, int depth, const std::set<int>& deleted) {
  int visible = 0, hidden = 0;  // hidden: deleted by a layer within `depth`
  for (int i = 0; i < depth; ++i) {
    std::string f = absl::StrCat(dir, "/f-", i);
    if (deleted.count(i) && i + 20 < depth) {  // layer i + 20 deleted it
      EXPECT_FALSE(Exists(f)) << f;
      EXPECT_FALSE(Exists(absl::StrCat(dir, "/d-", i))) << i;
      ++hidden;
    } else {
      EXPECT_EQ(ReadFileOrDie(f), absl::StrCat("layer ", i));
      EXPECT_TRUE(Exists(absl::StrCat(dir, "/d-", i, "/x"))) << i;
      ++visible;
    }
  }
  EXPECT_EQ(visible + hidden, depth);
}

// A writable container above `parent` (the top of a `depth`-layer chain)
// changes the lowest layer's file and still reads the top one's.
void ExpectContainerWritesAbove(SnapshotsClient& client, TempDir& t, const std::string& parent,
                                int depth) {
  ASSERT_OK_AND_ASSIGN(auto active, client.Prepare("container", parent));
  std::string c = t.Sub("mnt-container");
  ASSERT_OK(MakeDirs(c));
  ASSERT_OK(MountAll(active, c));
  WriteFileOrDie(c + "/f-0", "changed by container");
  EXPECT_EQ(ReadFileOrDie(c + "/f-0"), "changed by container");
  EXPECT_EQ(ReadFileOrDie(absl::StrCat(c, "/f-", depth - 1)), absl::StrCat("layer ", depth - 1));
  ASSERT_OK(Unmount(c));
}

TEST(DeepChainTest, FiveHundredLayersInALongLivedStore) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto daemon, StratadProcess::Start(t.Sub("root"), t.Sub("s.sock")));

  std::atomic<int> churn_errors{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      SnapshotsClient c(daemon->channel());
      for (int i = th; i < kChurn; i += 8) {
        std::string key = absl::StrCat("churn-", i);
        if (!c.Prepare(key, "").ok() || !c.Remove(key).ok()) churn_errors++;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(churn_errors.load(), 0);

  SnapshotsClient client(daemon->channel());
  std::set<int> deleted;
  std::string parent;
  ASSERT_NO_FATAL_FAILURE(BuildChain(client, t, kDepth, &deleted, &parent));
  ASSERT_OK_AND_ASSIGN(auto view, client.View("top-view", parent));
  ASSERT_EQ(view.at(0).type, "overlay");
  // Proof the test exercises the long path: absolute lowerdirs overflow a page.
  EXPECT_GT(MountData(view[0].options).size(), 4096u);
  std::string v = t.Sub("mnt-view");
  ASSERT_OK(MakeDirs(v));
  ASSERT_OK(MountAll(view, v));
  ExpectChainTree(v, kDepth, deleted);
  ASSERT_OK(Unmount(v));

  // A writable container on top of all 500.
  ExpectContainerWritesAbove(client, t, parent, kDepth);
}

TEST(DeepChainTest, AThousandLayersMountByFlatteningTheLowest) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto daemon, StratadProcess::Start(t.Sub("root"), t.Sub("s.sock")));
  SnapshotsClient client(daemon->channel());
  constexpr int kThousand = 1000;
  std::set<int> deleted;
  std::string parent;
  ASSERT_NO_FATAL_FAILURE(BuildChain(client, t, kThousand, &deleted, &parent));

  // Views at 600, 700 and 1,000 layers: each within the kernel's 500.
  for (int depth : {600, 700, kThousand}) {
    SCOPED_TRACE(absl::StrCat("depth ", depth));
    std::string key = absl::StrCat("view-", depth);
    ASSERT_OK_AND_ASSIGN(auto view, client.View(key, absl::StrCat("layer-", depth - 1)));
    std::string v = t.Sub(key);
    ASSERT_OK(MakeDirs(v));
    ASSERT_OK(MountAll(view, v));
    ExpectChainTree(v, depth, deleted);
    ASSERT_OK(Unmount(v));
  }
  // 600 and 700 share the lowest 256 layers merged; 1,000 needs 512.
  int merged = 0;
  ASSERT_OK_AND_ASSIGN(auto dirs, ListDir(t.Sub("root") + "/snapshots"));
  for (const std::string& d : dirs)
    merged += Exists(absl::StrCat(t.Sub("root"), "/snapshots/", d, "/m"));
  EXPECT_EQ(merged, 2);

  // A container on top writes above all of it.
  ExpectContainerWritesAbove(client, t, parent, kThousand);
}

}  // namespace
}  // namespace strata::testing
