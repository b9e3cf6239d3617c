#include "layerstore/growing_file.h"

#include <string>
#include <thread>

#include "layerstore/content_store.h"
#include "tests/test_util.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;

class GrowingFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, meta::Db::Open({tmp_.Sub("meta")}));
    ASSERT_OK_AND_ASSIGN(store_, ContentStore::Open(db_.get(), tmp_.Sub("root")));
  }
  static std::string ReadAll(ByteSource* in, absl::Status* error) {
    std::string out;
    char buf[7];  // small reads: many waits
    while (true) {
      absl::StatusOr<size_t> n = in->Read(buf, sizeof(buf));
      if (!n.ok()) {
        *error = n.status();
        return out;
      }
      if (*n == 0) return out;
      out.append(buf, *n);
    }
  }

  TempDir tmp_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<ContentStore> store_;
};

// A reader started before the first byte reads the whole blob as it is
// written, and its descriptor still reads after Commit moves the file.
TEST_F(GrowingFileTest, ReaderFollowsTheWriterToTheEnd) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("ref"));
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, w->OpenReader());
  auto file = std::make_shared<GrowingFile>(std::move(fd), 0);
  std::string want;
  for (int i = 0; i < 2000; ++i) want += std::to_string(i) + ",";
  absl::Status read_error;
  std::string got;
  std::thread reader([&] {
    GrowingFileSource source(file);
    got = ReadAll(&source, &read_error);
  });
  for (size_t at = 0; at < want.size(); at += 333) {
    size_t n = std::min<size_t>(333, want.size() - at);
    ASSERT_OK(w->Write(want.data() + at, n));
    file->Grew(w->offset());
    absl::SleepFor(absl::Microseconds(200));
  }
  ASSERT_OK(w->Commit(static_cast<int64_t>(want.size()), Sha256Of(want)).status());
  file->Finish(absl::OkStatus());
  reader.join();
  EXPECT_OK(read_error);
  EXPECT_EQ(got, want);
}

// A download that starts over (the registry ignored Range) shrinks the file;
// the reader, already past the new end, waits for the bytes to come back.
TEST_F(GrowingFileTest, ReaderWaitsThroughAStartOver) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("ref"));
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, w->OpenReader());
  auto file = std::make_shared<GrowingFile>(std::move(fd), 0);
  const std::string want = "0123456789abcdefghij";
  ASSERT_OK(w->Write(want.data(), 12));
  file->Grew(12);
  GrowingFileSource source(file);
  char buf[32];
  ASSERT_OK_AND_ASSIGN(size_t n, source.Read(buf, 10));
  ASSERT_EQ(n, 10u);
  file->Grew(0);
  ASSERT_OK(w->Truncate(0));
  absl::Status read_error;
  std::string rest;
  std::thread reader([&] { rest = ReadAll(&source, &read_error); });
  absl::SleepFor(absl::Milliseconds(20));
  ASSERT_OK(w->Write(want.data(), want.size()));
  file->Grew(static_cast<int64_t>(want.size()));
  file->Finish(absl::OkStatus());
  reader.join();
  EXPECT_OK(read_error);
  EXPECT_EQ(std::string(buf, 10) + rest, want);
}

// A failed download fails its readers with the writer's error, once they
// reach what was written.
TEST_F(GrowingFileTest, WritersErrorReachesReaders) {
  ASSERT_OK_AND_ASSIGN(auto w, store_->OpenWriter("ref"));
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, w->OpenReader());
  auto file = std::make_shared<GrowingFile>(std::move(fd), 0);
  ASSERT_OK(w->Write("abc", 3));
  file->Grew(3);
  file->Finish(absl::UnavailableError("connection dropped"));
  GrowingFileSource source(file);
  absl::Status read_error;
  ReadAll(&source, &read_error);
  EXPECT_THAT(read_error, StatusIs(absl::StatusCode::kUnavailable));
  bool finished = false;
  EXPECT_THAT(file->WaitForChange(3, absl::Seconds(5), &finished),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace strata::layerstore
