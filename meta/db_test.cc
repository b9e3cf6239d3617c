#include "meta/db.h"

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

TEST(DbTest, Fixed64RoundTripsAndSorts) {
  EXPECT_EQ(DecodeFixed64(EncodeFixed64(0x0102030405060708ull)), 0x0102030405060708ull);
  EXPECT_LT(EncodeFixed64(255), EncodeFixed64(256));
}

}  // namespace
}  // namespace strata::meta
