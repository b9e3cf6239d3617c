#include "absl/strings/match.h"
#include "snapshotter/space_backend.h"
#include "tests/test_util.h"

namespace strata::snapshotter {
namespace {

using testing::StatusIs;

TEST(SizeRequestTest, NoSizeLabelIsNoRequest) {
  ASSERT_OK_AND_ASSIGN(auto request, SizeRequestFromLabels({{"other", "1"}}));
  EXPECT_FALSE(request.has_value());
}

TEST(SizeRequestTest, SizeAloneIsDynamic) {
  ASSERT_OK_AND_ASSIGN(auto request, SizeRequestFromLabels({{kMaxSizeLabel, "67108864"}}));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->bytes, 67108864);
  EXPECT_EQ(request->kind, DiskKind::kDynamic);
}

TEST(SizeRequestTest, FixedAndDynamicKinds) {
  ASSERT_OK_AND_ASSIGN(auto fixed,
                       SizeRequestFromLabels({{kMaxSizeLabel, "1024"}, {kDiskLabel, "fixed"}}));
  EXPECT_EQ(fixed->kind, DiskKind::kFixed);
  ASSERT_OK_AND_ASSIGN(auto dynamic,
                       SizeRequestFromLabels({{kMaxSizeLabel, "1024"}, {kDiskLabel, "dynamic"}}));
  EXPECT_EQ(dynamic->kind, DiskKind::kDynamic);
}

TEST(SizeRequestTest, MalformedLabelsAreInvalidArgument) {
  for (const char* bad :
       {"", "0", "-1", "+5", " 5", "5 ", "1.5", "1e9", "0x10", "abc", "99999999999999999999"}) {
    EXPECT_THAT(SizeRequestFromLabels({{kMaxSizeLabel, bad}}),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "\"" << bad << "\"";
  }
  EXPECT_THAT(SizeRequestFromLabels({{kMaxSizeLabel, "1024"}, {kDiskLabel, "Fixed"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto kind_alone = SizeRequestFromLabels({{kDiskLabel, "fixed"}});
  EXPECT_THAT(kind_alone, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(absl::StrContains(kind_alone.status().message(), kMaxSizeLabel));
}

}  // namespace
}  // namespace strata::snapshotter
