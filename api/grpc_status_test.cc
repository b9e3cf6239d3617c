#include "api/grpc_status.h"

#include "tests/test_util.h"

namespace strata::api {
namespace {

TEST(GrpcStatusTest, StorePathsLeaveMessages) {
  EXPECT_EQ(WithoutStorePaths("open /var/lib/strata/snapshots/3/f/etc: Permission denied",
                              "/var/lib/strata"),
            "open (a file in the store): Permission denied");
  EXPECT_EQ(WithoutStorePaths("rename \"/r/tmp/x\" and /r/content/a, /r", "/r"),
            "rename \"(a file in the store)\" and (a file in the store), (a file in the store)");
  EXPECT_EQ(WithoutStorePaths("/rx/file stays; so does /var/lib/strata", "/r"),
            "/rx/file stays; so does /var/lib/strata");
  EXPECT_EQ(WithoutStorePaths("no root set: /r/a", ""), "no root set: /r/a");
}

TEST(GrpcStatusTest, CodesMapOneToOne) {
  SetStoreRootForMessages("/store");
  grpc::Status s = ToGrpc(absl::DataLossError("blob /store/content/blobs/sha256/ab is corrupt"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(s.error_message(), "blob (a file in the store) is corrupt");
  SetStoreRootForMessages("");
  EXPECT_TRUE(ToGrpc(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace strata::api
