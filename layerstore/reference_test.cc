#include "layerstore/reference.h"

#include "tests/test_util.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::StatusIs;
using Code = absl::StatusCode;

TEST(ReferenceTest, AcceptsWhatDockerAccepts) {
  for (const char* ok :
       {"busybox", "busybox:latest", "docker.io/library/busybox:1.36", "localhost:5000/a/b",
        "host.example:5000/team/app_v2.x-y:Tag_1.2-rc", "a__b/c--d/e.f",
        "registry.test/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "app:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "[::1]:5000/app:1", "Registry.Example/app"}) {
    EXPECT_OK(ValidateImageName(ok)) << ok;
  }
}

TEST(ReferenceTest, RefusesWhatDockerRefuses) {
  std::string long_name(256, 'a');
  std::string long_tag = "app:" + std::string(129, 't');
  for (const std::string& bad :
       {std::string(""), std::string("../x"), std::string("a/../b"), std::string("line\nbreak"),
        std::string("Upper/case"), std::string("app:"), std::string("app::tag"),
        std::string("/abs"), std::string("trailing/"), std::string("a b"), std::string("-lead"),
        std::string("a@sha256:short"), std::string("app:bad tag"), long_name, long_tag,
        std::string("nul\0x", 5)}) {
    EXPECT_THAT(ValidateImageName(bad), StatusIs(Code::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(std::string(ValidateImageName("Upper/case").message()),
              ::testing::HasSubstr("lower"));
  EXPECT_OK(ValidateImageName(std::string(255, 'a')));
  // Each refusal says what is wrong with the name.
  EXPECT_THAT(std::string(ValidateImageName("\xc3\xbcn\xc3\xaf:1").message()),
              ::testing::HasSubstr("outside ASCII"));
  EXPECT_THAT(std::string(ValidateImageName("a b").message()),
              ::testing::HasSubstr("space or control"));
}

}  // namespace
}  // namespace strata::layerstore
