#include "common/status_util.h"

#include "common/errno_status.h"
#include "tests/test_util.h"

namespace strata {
namespace {

using ::strata::testing::StatusIs;

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  STRATA_ASSIGN_OR_RETURN(int h, Half(x));
  STRATA_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusUtilTest, AssignOrReturnPropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusUtilTest, AnnotatePrefixesAndKeepsCode) {
  absl::Status s = Annotate(absl::NotFoundError("x"), "open y");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "open y: x");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "ctx").ok());
}

TEST(StatusUtilTest, ErrnoMapsByMeaning) {
  EXPECT_THAT(ErrnoToStatus(ENOENT, "a"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ErrnoToStatus(EEXIST, "a"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ErrnoToStatus(ENOSPC, "a"), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(ErrnoToStatus(EROFS, "a"), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace strata
