#include "meta/db.h"

#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/test_util.h"

namespace strata::meta {
namespace {

using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;

TEST(DbTest, CommittedWritesAreVisibleAndSurviveReopen) {
  TempDir t;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
    WriteTxn txn(db.get());
    txn.Put(Family::kSnapshots, "a", "1");
    txn.Put(Family::kChildren, "a", "other-family");
    ASSERT_OK(txn.Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
  ASSERT_OK_AND_ASSIGN(auto v, db->Get(Family::kSnapshots, "a"));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "1");
  ASSERT_OK_AND_ASSIGN(auto missing, db->Get(Family::kBlobs, "a"));
  EXPECT_FALSE(missing.has_value());
}

TEST(DbTest, AbandonedTxnWritesNothing) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
  {
    WriteTxn txn(db.get());
    txn.Put(Family::kSnapshots, "a", "1");
  }
  ASSERT_OK_AND_ASSIGN(auto v, db->Get(Family::kSnapshots, "a"));
  EXPECT_FALSE(v.has_value());
}

TEST(DbTest, SecondOpenIsRefusedWhileLocked) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
  EXPECT_THAT(Db::Open({t.Sub("meta")}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(DbTest, ScanStopsAtPrefixEnd) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
  WriteTxn txn(db.get());
  for (const char* k : {"a1", "b1", "b2", "c1"}) txn.Put(Family::kSnapshots, k, k);
  ASSERT_OK(txn.Commit());
  std::vector<std::string> seen;
  ASSERT_OK(db->Scan(Family::kSnapshots, "b", [&](absl::string_view k, absl::string_view) {
    seen.emplace_back(k);
    return true;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"b1", "b2"}));
}

// Many threads committing at once all succeed and every write is there:
// group commit must not drop or reorder anyone's batch.
TEST(DbTest, ConcurrentCommitsAllLand) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 200; ++i) {
        WriteTxn txn(db.get());
        txn.Put(Family::kSnapshots, absl::StrCat(th, "/", i), "v");
        if (!txn.Commit().ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  int count = 0;
  ASSERT_OK(db->Scan(Family::kSnapshots, "", [&](absl::string_view, absl::string_view) {
    ++count;
    return true;
  }));
  EXPECT_EQ(count, 8 * 200);
}

// A batch committed without waiting is visible at once and survives a
// reopen; it is durable once awaited, or once a later Commit syncs.
TEST(DbTest, CommitLaterIsVisibleAtOnceAndDurableWhenAwaitedOrOvertaken) {
  TempDir t;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
    WriteTxn first(db.get());
    first.Put(Family::kSnapshots, "a", "1");
    ASSERT_OK_AND_ASSIGN(uint64_t a, first.CommitLater());
    ASSERT_OK_AND_ASSIGN(auto v, db->Get(Family::kSnapshots, "a"));
    EXPECT_EQ(v, "1");
    EXPECT_FALSE(db->IsDurable(a));
    ASSERT_OK(db->AwaitDurable(a, absl::ZeroDuration()));
    EXPECT_TRUE(db->IsDurable(a));

    WriteTxn second(db.get());
    second.Put(Family::kSnapshots, "b", "2");
    ASSERT_OK_AND_ASSIGN(uint64_t b, second.CommitLater());
    EXPECT_FALSE(db->IsDurable(b));
    WriteTxn third(db.get());
    third.Put(Family::kSnapshots, "c", "3");
    ASSERT_OK(third.Commit());  // durability is in commit order
    EXPECT_TRUE(db->IsDurable(b));
  }
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_OK_AND_ASSIGN(auto v, db->Get(Family::kSnapshots, key));
    EXPECT_TRUE(v.has_value()) << key;
  }
}

// A patient waiter rides along with another writer's sync instead of
// waiting out its patience; with nobody else writing it syncs by itself.
TEST(DbTest, AwaitDurableRidesAlongWithAnotherWritersSync) {
  TempDir t;
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("meta")}));
  WriteTxn later(db.get());
  later.Put(Family::kSnapshots, "later", "1");
  ASSERT_OK_AND_ASSIGN(uint64_t ticket, later.CommitLater());
  absl::Time start = absl::Now();
  std::thread waiter([&] { EXPECT_OK(db->AwaitDurable(ticket, absl::Seconds(60))); });
  WriteTxn other(db.get());
  other.Put(Family::kSnapshots, "other", "2");
  ASSERT_OK(other.Commit());
  waiter.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));

  WriteTxn alone(db.get());
  alone.Put(Family::kSnapshots, "alone", "3");
  ASSERT_OK_AND_ASSIGN(uint64_t lone, alone.CommitLater());
  start = absl::Now();
  ASSERT_OK(db->AwaitDurable(lone, absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  EXPECT_TRUE(db->IsDurable(lone));
}

// RocksDB stops accepting writes after its log hits ENOSPC and does not
// recover by itself; Db must, once space is back, without losing anything.
TEST(DbTest, WritesWorkAgainAfterDiskFullOnceSpaceIsFreed) {
  TempDir t;
  ASSERT_OK(strata::testing::MountTmpfs(t.Sub("fs"), 8 << 20));
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("fs/meta")}));
  {
    WriteTxn txn(db.get());
    txn.Put(Family::kImages, "before", "1");
    ASSERT_OK(txn.Commit());
  }
  ASSERT_OK(strata::testing::FillFileSystem(t.Sub("fs/filler")));

  // Values bigger than any slack RocksDB's log file may still have, and
  // incompressible, so that flushing them cannot free space either.
  const std::string big = strata::testing::RandomBytes(256 << 10, 1);
  // A reopen after a failure may free a little (the torn tail of the log), so
  // a later write can still fit; but with the disk kept full, writes end up
  // failing every time, and only ever as RESOURCE_EXHAUSTED.
  std::vector<std::string> acknowledged, refused;
  int failures_in_a_row = 0;
  for (int i = 0; i < 64 && failures_in_a_row < 3; ++i) {
    WriteTxn txn(db.get());
    std::string key = absl::StrCat("full-", i);
    txn.Put(Family::kImages, key, big);
    absl::Status s = txn.Commit();
    if (s.ok()) {
      acknowledged.push_back(key);
      failures_in_a_row = 0;
    } else {
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted));
      refused.push_back(key);
      ++failures_in_a_row;
    }
  }
  ASSERT_EQ(failures_in_a_row, 3);
  ASSERT_OK_AND_ASSIGN(auto before, db->Get(Family::kImages, "before"));
  EXPECT_EQ(before, "1");

  ASSERT_EQ(::unlink(t.Sub("fs/filler").c_str()), 0);
  {
    WriteTxn txn(db.get());
    txn.Put(Family::kImages, "after", "2");
    ASSERT_OK(txn.Commit());
  }
  EXPECT_GE(db->reopen_count(), 1u);
  // Everything acknowledged, before and after, is there, also after a restart.
  db.reset();
  ASSERT_OK_AND_ASSIGN(db, Db::Open({t.Sub("fs/meta")}));
  for (const char* key : {"before", "after"}) {
    ASSERT_OK_AND_ASSIGN(auto v, db->Get(Family::kImages, key));
    EXPECT_TRUE(v.has_value()) << key;
  }
  for (const std::string& key : acknowledged) {
    ASSERT_OK_AND_ASSIGN(auto v, db->Get(Family::kImages, key));
    EXPECT_EQ(v, big) << key;
  }
  for (const std::string& key : refused) {
    ASSERT_OK_AND_ASSIGN(auto v, db->Get(Family::kImages, key));
    EXPECT_FALSE(v.has_value()) << key << " was refused but is there";
  }
}

// Readers keep their instance while a reopen waits for them; a scan that runs
// across a write failure and reopen still completes.
TEST(DbTest, ReadersRunThroughAReopen) {
  TempDir t;
  ASSERT_OK(strata::testing::MountTmpfs(t.Sub("fs"), 8 << 20));
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open({t.Sub("fs/meta")}));
  {
    WriteTxn txn(db.get());
    for (int i = 0; i < 100; ++i) txn.Put(Family::kBlobs, absl::StrCat("k", 1000 + i), "x");
    ASSERT_OK(txn.Commit());
  }
  ASSERT_OK(strata::testing::FillFileSystem(t.Sub("fs/filler")));
  const std::string big = strata::testing::RandomBytes(256 << 10, 1);
  absl::Status failed;
  for (int i = 0; i < 64 && failed.ok(); ++i) {
    WriteTxn txn(db.get());
    txn.Put(Family::kImages, absl::StrCat("full-", i), big);
    failed = txn.Commit();
  }
  ASSERT_FALSE(failed.ok());
  ASSERT_EQ(::unlink(t.Sub("fs/filler").c_str()), 0);

  std::atomic<bool> stop{false};
  std::atomic<int> scans{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        int n = 0;
        absl::Status s = db->Scan(Family::kBlobs, "k", [&](absl::string_view, absl::string_view) {
          ++n;
          return true;
        });
        EXPECT_OK(s);
        EXPECT_EQ(n, 100);
        scans.fetch_add(1);
      }
    });
  }
  {
    WriteTxn txn(db.get());
    txn.Put(Family::kImages, "after", "2");
    EXPECT_OK(txn.Commit());
  }
  while (scans.load() < 100) std::this_thread::yield();
  stop = true;
  for (std::thread& th : readers) th.join();
  EXPECT_EQ(db->reopen_count(), 1u);
}

TEST(DbTest, Fixed64RoundTripsAndSorts) {
  EXPECT_EQ(DecodeFixed64(EncodeFixed64(0x0102030405060708ull)), 0x0102030405060708ull);
  EXPECT_LT(EncodeFixed64(255), EncodeFixed64(256));
}

}  // namespace
}  // namespace strata::meta
