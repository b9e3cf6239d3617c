#include "snapshotter/layout.h"

#include "tests/test_util.h"

namespace strata::snapshotter {
namespace {

TEST(LayoutTest, IdNamesAreShortBase36AndRoundTrip) {
  EXPECT_EQ(Layout::IdName(0), "0");
  EXPECT_EQ(Layout::IdName(35), "z");
  EXPECT_EQ(Layout::IdName(36), "10");
  EXPECT_EQ(Layout::IdName(46655), "zzz");
  for (uint64_t id : {1ull, 36ull, 10000ull, 123456789ull}) {
    EXPECT_EQ(Layout::ParseIdName(Layout::IdName(id)), id);
  }
}

TEST(LayoutTest, ParseRejectsForeignNames) {
  EXPECT_FALSE(Layout::ParseIdName("").has_value());
  EXPECT_FALSE(Layout::ParseIdName("01").has_value());
  EXPECT_FALSE(Layout::ParseIdName("A").has_value());
  EXPECT_FALSE(Layout::ParseIdName("new-1").has_value());
}

TEST(LayoutTest, PathsAreUnderRoot) {
  Layout l("/r");
  EXPECT_EQ(l.FilesDir(36), "/r/snapshots/10/f");
  EXPECT_EQ(l.WorkDir(36), "/r/snapshots/10/w");
  EXPECT_EQ(l.TmpDir(), "/r/tmp");
}

}  // namespace
}  // namespace strata::snapshotter
