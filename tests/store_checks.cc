#include "tests/store_checks.h"

#include <vector>

#include "common/fs.h"
#include "tests/test_util.h"

namespace strata::testing {

void ExpectNothingHalfMade(NativeClient& c, const std::string& root,
                           const std::string& client_ref_prefix, const std::string& context) {
  absl::StatusOr<std::vector<std::string>> staging = ListDir(root + "/tmp");
  ASSERT_OK(staging) << context;
  EXPECT_TRUE(staging->empty()) << context << ": " << staging->size() << " staging entries left";
  const std::string ingest_dir = root + "/content/ingest";
  absl::StatusOr<std::vector<std::string>> ingests = ListDir(ingest_dir);
  ASSERT_OK(ingests) << context;
  for (const std::string& d : *ingests) {
    std::string ref = ReadFileOrDie(ingest_dir + "/" + d + "/ref");
    EXPECT_EQ(ref.rfind(client_ref_prefix, 0), 0u) << context << ": a dead ingest is left: " << ref;
  }
  absl::StatusOr<strata::v1::CheckResponse> check = c.Check();
  ASSERT_OK(check) << context;
  for (const auto& p : check->problems()) ADD_FAILURE() << context << ": fsck: " << p.what();
}

}  // namespace strata::testing
