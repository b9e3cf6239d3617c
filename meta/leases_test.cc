#include "meta/leases.h"

#include "tests/test_util.h"

namespace strata::meta {
namespace {

using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;
using Code = absl::StatusCode;

class LeasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, Db::Open({tmp_.Sub("meta")}));
    leases_ = std::make_unique<Leases>(db_.get());
  }
  int Count() {
    int n = 0;
    EXPECT_OK(leases_->List([&](const LeaseInfo&) { ++n; }));
    return n;
  }
  TempDir tmp_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<Leases> leases_;
};

TEST_F(LeasesTest, CreateGetListDelete) {
  ASSERT_OK_AND_ASSIGN(LeaseInfo l, leases_->Create("a", std::nullopt, {{"k", "v"}}));
  EXPECT_EQ(l.id, "a");
  EXPECT_FALSE(l.expires);
  ASSERT_OK_AND_ASSIGN(LeaseInfo generated, leases_->Create("", absl::Now() + absl::Hours(1), {}));
  EXPECT_FALSE(generated.id.empty());
  ASSERT_TRUE(generated.expires.has_value());
  EXPECT_THAT(leases_->Create("a", std::nullopt, {}).status(), StatusIs(Code::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(LeaseInfo got, leases_->Get("a"));
  EXPECT_EQ(got.labels.at("k"), "v");
  EXPECT_EQ(Count(), 2);
  ASSERT_OK(leases_->Delete("a"));
  EXPECT_THAT(leases_->Delete("a"), StatusIs(Code::kNotFound));
  EXPECT_EQ(Count(), 1);
}

TEST_F(LeasesTest, IdsFollowContainerdsRule) {
  for (const std::string& bad :
       {std::string("../x"), std::string("-lead"), std::string("has space"), std::string("a\0b", 3),
        std::string("x/y")}) {
    EXPECT_THAT(leases_->Create(bad, std::nullopt, {}).status(), StatusIs(Code::kInvalidArgument))
        << bad;
  }
  EXPECT_THAT(leases_->Create(std::string(77, 'a'), std::nullopt, {}).status(),
              StatusIs(Code::kInvalidArgument));
  EXPECT_OK(leases_->Create("ok.id_1-2", std::nullopt, {}).status());
}

TEST_F(LeasesTest, RefsNeedALiveLeaseAndGoWithIt) {
  ASSERT_OK(leases_->Create("l", std::nullopt, {}).status());
  ASSERT_OK(leases_->Create("old", absl::Now() - absl::Seconds(1), {}).status());
  {
    WriteTxn txn(db_.get());
    ASSERT_OK(StageLeaseRef(txn, "l", LeaseResource::kBlob, "abc"));
    ASSERT_OK(StageLeaseRef(txn, "", LeaseResource::kBlob, "ignored"));
    EXPECT_THAT(StageLeaseRef(txn, "none", LeaseResource::kBlob, "x"), StatusIs(Code::kNotFound));
    EXPECT_THAT(StageLeaseRef(txn, "old", LeaseResource::kBlob, "x"),
                StatusIs(Code::kFailedPrecondition));
    ASSERT_OK(txn.Commit());
  }
  std::vector<std::string> held;
  ASSERT_OK(leases_->Resources("l", [&](LeaseResource kind, absl::string_view r) {
    held.push_back(std::string(1, static_cast<char>(kind)) + std::string(r));
  }));
  EXPECT_EQ(held, std::vector<std::string>{"babc"});
  ASSERT_OK(leases_->Delete("l"));
  held.clear();
  ASSERT_OK(leases_->Resources(
      "l", [&](LeaseResource, absl::string_view r) { held.push_back(std::string(r)); }));
  EXPECT_TRUE(held.empty());
}

TEST_F(LeasesTest, CreatedStaysCreatedAndTransferHandsEverythingOver) {
  ASSERT_OK(leases_->Create("call", std::nullopt, {}, /*temporary=*/true).status());
  ASSERT_OK(leases_->Create("client", std::nullopt, {}).status());
  {
    WriteTxn txn(db_.get());
    ASSERT_OK(StageLeaseRef(txn, "call", LeaseResource::kBlob, "new", LeaseHold::kCreated));
    ASSERT_OK(StageLeaseRef(txn, "call", LeaseResource::kBlob, "old"));
    ASSERT_OK(txn.Commit());
  }
  {
    // Relying on what the call made later does not turn it into "relied on".
    WriteTxn txn(db_.get());
    ASSERT_OK(StageLeaseRef(txn, "call", LeaseResource::kBlob, "new"));
    ASSERT_OK(txn.Commit());
  }
  std::vector<std::string> created;
  ASSERT_OK(leases_->Created(
      "call", [&](LeaseResource, absl::string_view r) { created.push_back(std::string(r)); }));
  EXPECT_EQ(created, std::vector<std::string>{"new"});

  EXPECT_THAT(leases_->Transfer("call", "missing"), StatusIs(Code::kNotFound));
  ASSERT_OK(leases_->Transfer("call", "client"));
  EXPECT_THAT(leases_->Get("call").status(), StatusIs(Code::kNotFound));
  std::vector<std::string> held;
  ASSERT_OK(leases_->Resources(
      "client", [&](LeaseResource, absl::string_view r) { held.push_back(std::string(r)); }));
  EXPECT_EQ(held, (std::vector<std::string>{"new", "old"}));
  created.clear();
  ASSERT_OK(leases_->Created(
      "client", [&](LeaseResource, absl::string_view r) { created.push_back(std::string(r)); }));
  EXPECT_TRUE(created.empty()) << "a client's lease never undoes a finished call";
}

TEST_F(LeasesTest, TemporaryListsOnlyTemporaryLeases) {
  ASSERT_OK(leases_->Create("keep", std::nullopt, {}).status());
  ASSERT_OK(leases_->Create("t1", std::nullopt, {}, /*temporary=*/true).status());
  ASSERT_OK(leases_->Create("t2", std::nullopt, {}, /*temporary=*/true).status());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> temporary, leases_->Temporary());
  EXPECT_EQ(temporary, (std::vector<std::string>{"t1", "t2"}));
}

}  // namespace
}  // namespace strata::meta
