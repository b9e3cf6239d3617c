#include "layerstore/digest.h"

#include "tests/test_util.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::StatusIs;

TEST(DigestTest, ParsesOnlyWellFormedSha256) {
  std::string good = "sha256:" + std::string(64, 'a');
  ASSERT_OK_AND_ASSIGN(Digest d, Digest::Parse(good));
  EXPECT_EQ(d.str(), good);
  for (const std::string& bad :
       {std::string("sha512:") + std::string(128, 'a'), "sha256:" + std::string(63, 'a'),
        "sha256:" + std::string(64, 'A'), "sha256:../../etc/passwd" + std::string(40, 'a'),
        std::string(""), std::string("sha256:")}) {
    EXPECT_THAT(Digest::Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(DigestTest, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Of("").hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.Update("ab", 2);
  h.Update("c", 1);
  EXPECT_EQ(h.Finish().hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, ChainIdFollowsTheOciRule) {
  Digest a = Sha256Of("a"), b = Sha256Of("b"), c = Sha256Of("c");
  std::vector<Digest> chain = ChainIds({a, b, c});
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0], a);
  EXPECT_EQ(chain[1], Sha256Of(a.str() + " " + b.str()));
  EXPECT_EQ(chain[2], Sha256Of(chain[1].str() + " " + c.str()));
}

}  // namespace
}  // namespace strata::layerstore
