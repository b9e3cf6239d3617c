#include "layerstore/content_store.h"

#include "common/fs.h"
#include "tests/test_util.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::Exists;
using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;
using ::strata::testing::WriteFileOrDie;
using Code = absl::StatusCode;

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    db_.reset();
    auto db = meta::Db::Open({tmp_.Sub("meta")});
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto store = ContentStore::Open(db_.get(), tmp_.Sub("root"));
    ASSERT_OK(store);
    store_ = std::move(*store);
  }
  std::vector<std::string> IngestNames() { return *ListDir(tmp_.Sub("root/content/ingest")); }

  TempDir tmp_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<ContentStore> store_;
};

TEST_F(ContentStoreTest, WriteCommitInfoAndRead) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("ref-1"));
  ASSERT_OK(w->Write("hello ", 6));
  ASSERT_OK(w->Write("world", 5));
  Digest want = Sha256Of("hello world");
  ASSERT_OK_AND_ASSIGN(BlobInfo info, w->Commit(11, want, {{"k", "v"}}, "text/plain"));
  EXPECT_EQ(info.digest, want);
  ASSERT_OK_AND_ASSIGN(BlobInfo got, store_->Info(want));
  EXPECT_EQ(got.size, 11);
  EXPECT_EQ(got.labels.at("k"), "v");
  EXPECT_EQ(got.media_type, "text/plain");
  ASSERT_OK_AND_ASSIGN(std::string part, store_->ReadAt(want, 6, 100));
  EXPECT_EQ(part, "world");
  EXPECT_TRUE(IngestNames().empty());
  ASSERT_OK_AND_ASSIGN(std::string all, ReadFile(store_->BlobPath(want)));
  EXPECT_EQ(Sha256Of(all), want);
}

TEST_F(ContentStoreTest, DigestMismatchIsDataLossAndStoresNothing) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("bad"));
  ASSERT_OK(w->Write("abc", 3));
  EXPECT_THAT(w->Commit(3, Sha256Of("xyz")), StatusIs(Code::kDataLoss));
  w.reset();
  EXPECT_FALSE(store_->Has(Sha256Of("abc")));
  EXPECT_TRUE(IngestNames().empty());
  EXPECT_TRUE(ListDir(tmp_.Sub("root/content/blobs/sha256"))->empty());
}

TEST_F(ContentStoreTest, ShortIngestIsFailedPreconditionAndResumable) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("short"));
  ASSERT_OK(w->Write("abc", 3));
  EXPECT_THAT(w->Commit(6, Sha256Of("abcdef")), StatusIs(Code::kFailedPrecondition));
  w.reset();
  ASSERT_OK_AND_ASSIGN(IngestStatus st, store_->Status("short"));
  EXPECT_EQ(st.offset, 3);
}

TEST_F(ContentStoreTest, ResumesAfterRestartAtOffset) {
  {
    ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("resume"));
    ASSERT_OK(w->Write("first half, ", 12));
  }          // connection dropped
  Reopen();  // daemon restarted
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("resume"));
  EXPECT_EQ(w->offset(), 12);
  ASSERT_OK(w->Truncate(6));  // client resumes from what it knows
  ASSERT_OK(w->Write("half, second half", 17));
  std::string whole = "first half, second half";
  ASSERT_OK_AND_ASSIGN(BlobInfo info, w->Commit(23, Sha256Of(whole)));
  EXPECT_EQ(*store_->ReadAt(info.digest, 0, 100), whole);
  EXPECT_THAT(w->Truncate(99), StatusIs(Code::kFailedPrecondition));
}

TEST_F(ContentStoreTest, TruncatePastEndIsOutOfRange) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("r"));
  ASSERT_OK(w->Write("ab", 2));
  EXPECT_THAT(w->Truncate(3), StatusIs(Code::kOutOfRange));
}

TEST_F(ContentStoreTest, OneWriterPerRef) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("busy"));
  EXPECT_THAT(store_->OpenWriter("busy"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(store_->Abort("busy"), StatusIs(Code::kUnavailable));
  w.reset();
  ASSERT_OK(store_->OpenWriter("busy").status());
  EXPECT_THAT(store_->OpenWriter(""), StatusIs(Code::kInvalidArgument));
}

TEST_F(ContentStoreTest, CommitOfStoredBlobIsAlreadyExists) {
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("dup"));
    ASSERT_OK(w->Write("same", 4));
    auto s = w->Commit(4, Sha256Of("same"));
    if (i == 0) {
      ASSERT_OK(s);
    } else {
      EXPECT_THAT(s, StatusIs(Code::kAlreadyExists));
    }
  }
  EXPECT_TRUE(IngestNames().empty());
}

TEST_F(ContentStoreTest, DeleteRemovesRecordAndFile) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("d"));
  ASSERT_OK(w->Write("gone", 4));
  ASSERT_OK_AND_ASSIGN(BlobInfo info, w->Commit(-1, Digest()));
  ASSERT_OK(store_->Delete(info.digest));
  EXPECT_FALSE(Exists(store_->BlobPath(info.digest)));
  EXPECT_THAT(store_->Info(info.digest), StatusIs(Code::kNotFound));
  EXPECT_THAT(store_->Delete(info.digest), StatusIs(Code::kNotFound));
  EXPECT_THAT(store_->OpenBlob(info.digest), StatusIs(Code::kNotFound));
}

TEST_F(ContentStoreTest, BlobFileWithoutRecordIsRemovedAtOpen) {
  std::string stray = tmp_.Sub("root/content/blobs/sha256/") + Sha256Of("x").hex();
  WriteFileOrDie(stray, "x");
  Reopen();
  EXPECT_FALSE(Exists(stray));
  EXPECT_EQ(store_->orphan_blobs_removed(), 1);
}

TEST_F(ContentStoreTest, WalkListsAndLabelsUpdate) {
  for (const char* s : {"a", "b", "c"}) {
    ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter(s));
    ASSERT_OK(w->Write(s, 1));
    ASSERT_OK(w->Commit(1, Sha256Of(s)).status());
  }
  int n = 0;
  ASSERT_OK(store_->Walk([&](const BlobInfo&) {
    ++n;
    return true;
  }));
  EXPECT_EQ(n, 3);
  ASSERT_OK_AND_ASSIGN(BlobInfo info, store_->SetLabels(Sha256Of("a"), {{"x", "1"}}));
  EXPECT_EQ(info.labels.size(), 1u);
  EXPECT_THAT(store_->SetLabels(Sha256Of("zz"), {}), StatusIs(Code::kNotFound));
}

TEST_F(ContentStoreTest, IngestsAreListedAndAborted) {
  {
    ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("pending/ref with spaces"));
    ASSERT_OK(w->Write("12345", 5));
  }
  std::vector<IngestStatus> seen;
  ASSERT_OK(store_->ListIngests([&](const IngestStatus& s) { seen.push_back(s); }));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].ref, "pending/ref with spaces");
  EXPECT_EQ(seen[0].offset, 5);
  ASSERT_OK(store_->Abort("pending/ref with spaces"));
  EXPECT_TRUE(IngestNames().empty());
  EXPECT_THAT(store_->Abort("pending/ref with spaces"), StatusIs(Code::kNotFound));
}

}  // namespace
}  // namespace strata::layerstore
