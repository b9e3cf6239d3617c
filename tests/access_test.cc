// No request field can make stratad write (or read) outside its root: keys,
// refs, names and lease ids that look like paths are names, never paths.
// (Import by path is limited to --import-dir: images_integration_test.)
#include <ftw.h>

#include <set>

#include "absl/strings/match.h"
#include "tests/native_client.h"
#include "tests/oci_builder.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::testing {
namespace {

std::set<std::string>* g_found = nullptr;

// Every path below `dir` whose name contains the probe marker.
std::set<std::string> EscapesUnder(const std::string& dir) {
  std::set<std::string> found;
  g_found = &found;
  ::nftw(
      dir.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) {
        if (absl::StrContains(path, "zqescapezq")) g_found->insert(path);
        return 0;
      },
      64, FTW_PHYS);
  return found;
}

TEST(AccessTest, PathLikeRequestFieldsStayNames) {
  TempDir tmp;
  auto daemon = StratadProcess::Start(tmp.Sub("root"), tmp.Sub("s.sock"));
  ASSERT_OK(daemon);
  NativeClient native((*daemon)->channel());
  SnapshotsClient ctrd((*daemon)->channel());
  const std::vector<std::string> hostile = {"../zqescapezq1", "../../zqescapezq2",
                                            "/tmp/zqescapezq3", "a/../../../zqescapezq4",
                                            "./zqescapezq5/.."};
  for (const std::string& name : hostile) {
    // Snapshot keys in both key spaces, as keys and as parents.
    (void)native.Prepare(name, "");
    (void)native.Commit(name + "-c", name);
    (void)native.View(name + "-v", name + "-c");
    (void)ctrd.Prepare(name, "");
    (void)ctrd.Commit(name + "-c", name);
    // Ingest refs.
    (void)native.WriteBlob(name, "escape data");
    // Image names.
    std::string archive = BuildOciArchive({{"x", {OneFileLayer("f", "escape")}}});
    (void)native.Import(archive, name);
    (void)native.DeleteImage(name);
    // Lease ids are refused outright.
    EXPECT_THAT(native.CreateLease(name).status(), StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
  }
  // The calls did their work (the names are valid keys)...
  EXPECT_OK(native.Stat("../zqescapezq1-c"));
  EXPECT_OK(ctrd.Stat("/tmp/zqescapezq3-c").status());
  // ...and everything went where it belongs, named by ids and hashes: no file or
  // directory anywhere took a requested name.
  EXPECT_TRUE(EscapesUnder(tmp.path()).empty());
  EXPECT_TRUE(EscapesUnder("/tmp").empty());
  ASSERT_OK_AND_ASSIGN(strata::v1::CheckResponse check, native.Check());
  EXPECT_TRUE(check.problems().empty());
}

}  // namespace
}  // namespace strata::testing
