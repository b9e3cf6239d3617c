#include "layerstore/tar_extractor.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/fs.h"
#include "tests/tar_builder.h"
#include "tests/test_util.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::Exists;
using ::strata::testing::Gzip;
using ::strata::testing::ReadFileOrDie;
using ::strata::testing::StatusIs;
using ::strata::testing::TarBuilder;
using ::strata::testing::TempDir;
using ::testing::HasSubstr;
using Code = absl::StatusCode;
using Meta = TarBuilder::Meta;

class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(MakeDirs(tmp_.Sub("layer")));
    ASSERT_OK(MakeDirs(tmp_.Sub("outside")));
  }
  absl::StatusOr<ExtractResult> Extract(TarBuilder& tar, ExtractLimits limits = {}) {
    const std::string& bytes = tar.Bytes();
    MemorySource src(bytes.data(), bytes.size());
    return ExtractLayer(&src, tmp_.Sub("layer"), limits);
  }
  std::string L(const std::string& p) { return tmp_.Sub("layer/" + p); }
  struct stat Lstat(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(L(p).c_str(), &st), 0) << p;
    return st;
  }
  std::string Xattr(const std::string& p, const char* name) {
    char buf[256];
    ssize_t n = ::lgetxattr(L(p).c_str(), name, buf, sizeof(buf));
    return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
  }
  bool IsWhiteout(const std::string& p) {
    struct stat st = Lstat(p);
    return S_ISCHR(st.st_mode) && st.st_rdev == 0;
  }
  // Nothing may ever appear outside the layer.
  void TearDown() override { EXPECT_TRUE(ListDir(tmp_.Sub("outside"))->empty()); }

  TempDir tmp_;
};

TEST_F(ExtractTest, EveryFileTypeWithMetadata) {
  TarBuilder tar;
  tar.Dir("etc", {0755, 0, 0, 1000})
      .File("etc/passwd", "root:x:0:0\n", {0644, 0, 0, 1111})
      .File("usr/bin/su", "su", {04755, 0, 0})
      .File("shadow", "s", {0640, 0, 42})
      .Dir("sticky", {01777})
      .Dir("setgid", {02775, 0, 100})
      .File("owned", "o", {0600, 3000000, 3000001})
      .Symlink("link", "../etc/passwd")
      .Hardlink("passwd-link", "etc/passwd")
      .Device("null", false, 1, 3, {0666})
      .Device("sda", true, 8, 0, {0660, 0, 6})
      .Fifo("fifo")
      .File(
          "cap", "c",
          {0755,
           0,
           0,
           1,
           {{"security.capability",
             std::string(
                 "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                 20)}}})
      .File("userx", "u", {0644, 0, 0, 1, {{"user.comment", "hi"}}})
      .File(std::string(150, 'n') + "/" + std::string(120, 'm'), "long");
  ASSERT_OK_AND_ASSIGN(ExtractResult r, Extract(tar));
  EXPECT_EQ(ReadFileOrDie(L("etc/passwd")), "root:x:0:0\n");
  EXPECT_EQ(Lstat("etc").st_mtime, 1000);
  EXPECT_EQ(Lstat("etc/passwd").st_mtime, 1111);
  EXPECT_EQ(Lstat("usr/bin/su").st_mode & 07777, 04755u);
  EXPECT_EQ(Lstat("shadow").st_gid, 42u);
  EXPECT_EQ(Lstat("sticky").st_mode & 07777, 01777u);
  EXPECT_EQ(Lstat("setgid").st_mode & 07777, 02775u);
  EXPECT_EQ(Lstat("owned").st_uid, 3000000u);
  EXPECT_EQ(Lstat("owned").st_gid, 3000001u);
  char target[64] = {};
  ASSERT_GT(::readlink(L("link").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "../etc/passwd");
  EXPECT_EQ(Lstat("passwd-link").st_ino, Lstat("etc/passwd").st_ino);
  EXPECT_TRUE(S_ISCHR(Lstat("null").st_mode));
  EXPECT_EQ(major(Lstat("null").st_rdev), 1u);
  EXPECT_EQ(minor(Lstat("null").st_rdev), 3u);
  EXPECT_TRUE(S_ISBLK(Lstat("sda").st_mode));
  EXPECT_TRUE(S_ISFIFO(Lstat("fifo").st_mode));
  EXPECT_EQ(Xattr("cap", "security.capability").size(), 20u);
  EXPECT_EQ(Xattr("userx", "user.comment"), "hi");
  EXPECT_EQ(ReadFileOrDie(L(std::string(150, 'n') + "/" + std::string(120, 'm'))), "long");
  EXPECT_EQ(r.files.size(), 7u);  // regular files, hard link not counted twice
}

TEST_F(ExtractTest, WhiteoutsBecomeOverlayForm) {
  TarBuilder tar;
  tar.File("dir/.wh.deleted", "")
      .Dir("opq")
      .File("opq/+early", "e")
      .File("opq/.wh..wh..opq", "")
      .File("opq/late", "l")
      .File(".wh.gone-dir", "")
      .File("recreated", "file after its whiteout")
      .File(".wh.recreated", "")  // the layer's own file stays
      .File(".wh.newdir", "")
      .Dir("newdir")
      .File("newdir/x", "x")
      .Dir("olddir")
      .File(".wh.olddir", "");  // a dir of this layer with its whiteout: opaque
  ASSERT_OK(Extract(tar).status());
  EXPECT_TRUE(IsWhiteout("dir/deleted"));
  EXPECT_TRUE(IsWhiteout("gone-dir"));
  EXPECT_EQ(Xattr("opq", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(ReadFileOrDie(L("opq/+early")), "e");
  EXPECT_EQ(ReadFileOrDie(L("recreated")), "file after its whiteout");
  EXPECT_EQ(Xattr("newdir", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(Xattr("olddir", "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(Exists(L(".wh.recreated")));
  EXPECT_FALSE(Exists(L("opq/.wh..wh..opq")));
}

TEST_F(ExtractTest, LaterEntryReplacesEarlierOfOtherType) {
  TarBuilder tar;
  tar.Dir("x").File("x/child", "c").File("x", "now a file").Symlink("y", "t").Dir("y");
  ASSERT_OK(Extract(tar).status());
  EXPECT_EQ(ReadFileOrDie(L("x")), "now a file");
  EXPECT_TRUE(S_ISDIR(Lstat("y").st_mode));
}

TEST_F(ExtractTest, ZeroRunsBecomeHoles) {
  TarBuilder tar;
  tar.SparseLookingFile("holey", 64 << 20, "MIDDLE", 32 << 20);
  ASSERT_OK_AND_ASSIGN(ExtractResult r, Extract(tar));
  struct stat st = Lstat("holey");
  EXPECT_EQ(st.st_size, 64 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);  // a few KiB on disk, not 64 MiB
  EXPECT_LT(r.written_bytes, 8192);
  std::string all = ReadFileOrDie(L("holey"));
  EXPECT_EQ(all.substr(32 << 20, 6), "MIDDLE");
}

TEST_F(ExtractTest, HostilePathsAreRefused) {
  struct Case {
    const char* what;
    std::function<void(TarBuilder&)> build;
    const char* message;
  };
  std::string outside = tmp_.Sub("outside");
  std::vector<Case> cases = {
      {"dotdot", [](TarBuilder& t) { t.File("../escape", "x"); }, "escapes"},
      {"nested dotdot", [](TarBuilder& t) { t.File("a/../../escape", "x"); }, "escapes"},
      {"absolute", [](TarBuilder& t) { t.File("/escape", "x"); }, "absolute"},
      {"symlink parent",
       [&](TarBuilder& t) { t.Symlink("evil", outside).File("evil/escape", "x"); }, "symlink"},
      {"relative symlink parent",
       [](TarBuilder& t) { t.Symlink("evil", "../outside").File("evil/escape", "x"); }, "symlink"},
      {"deep symlink parent",
       [&](TarBuilder& t) { t.Dir("a").Symlink("a/b", outside).File("a/b/c/escape", "x"); },
       "symlink"},
      {"hardlink outside", [](TarBuilder& t) { t.Hardlink("h", "../outside/x"); }, "leaves"},
      {"hardlink absolute", [](TarBuilder& t) { t.Hardlink("h", "/etc/passwd"); }, "leaves"},
      {"hardlink through symlink",
       [&](TarBuilder& t) { t.Symlink("s", outside).Hardlink("h", "s/x"); }, "not an earlier"},
      {"hardlink missing", [](TarBuilder& t) { t.Hardlink("h", "nope"); }, "not an earlier"},
      {"whiteout dotdot", [](TarBuilder& t) { t.File("a/../../.wh.x", ""); }, "escapes"},
      {"whiteout of dotdot", [](TarBuilder& t) { t.File("a/.wh...", ""); }, "invalid"},
      {"file as parent", [](TarBuilder& t) { t.File("f", "x").File("f/g", "y"); },
       "not a directory"},
  };
  for (const Case& c : cases) {
    ASSERT_OK(RemoveTree(tmp_.Sub("layer")));
    ASSERT_OK(MakeDirs(tmp_.Sub("layer")));
    TarBuilder tar;
    c.build(tar);
    absl::StatusOr<ExtractResult> r = Extract(tar);
    EXPECT_THAT(r, StatusIs(Code::kInvalidArgument)) << c.what;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message)) << c.what;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("entry \"")) << c.what;
  }
}

TEST_F(ExtractTest, OverlayXattrsFromALayerAreDropped) {
  TarBuilder tar;
  tar.Dir("d",
          {0755, 0, 0, 1, {{"trusted.overlay.redirect", "/etc"}, {"trusted.overlay.opaque", "y"}}});
  ASSERT_OK(Extract(tar).status());
  EXPECT_EQ(Xattr("d", "trusted.overlay.redirect"), "<none>");
  EXPECT_EQ(Xattr("d", "trusted.overlay.opaque"), "<none>");
}

TEST_F(ExtractTest, LimitsFailCleanly) {
  {
    TarBuilder tar;
    for (int i = 0; i < 20; ++i) tar.File("f" + std::to_string(i), "x");
    ExtractLimits limits;
    limits.max_entries = 10;
    EXPECT_THAT(Extract(tar, limits), StatusIs(Code::kResourceExhausted));
  }
  {
    ASSERT_OK(RemoveTree(tmp_.Sub("layer")));
    ASSERT_OK(MakeDirs(tmp_.Sub("layer")));
    TarBuilder tar;
    tar.File("big", std::string(1 << 20, 'x'));
    ExtractLimits limits;
    limits.max_written_bytes = 100000;
    EXPECT_THAT(Extract(tar, limits), StatusIs(Code::kResourceExhausted));
    limits = {};
    limits.max_stream_bytes = 100000;
    ASSERT_OK(RemoveTree(tmp_.Sub("layer")));
    ASSERT_OK(MakeDirs(tmp_.Sub("layer")));
    EXPECT_THAT(Extract(tar, limits), StatusIs(Code::kResourceExhausted));
  }
}

// One ustar entry written by hand (TarBuilder's libarchive would not write a
// NUL inside a PAX record): header, then data padded to 512 bytes.
std::string RawTarEntry(char type, const std::string& name, const std::string& data,
                        const std::string& link = "") {
  std::string h(512, '\0');
  h.replace(0, std::min<size_t>(name.size(), 99), name.substr(0, 99));
  std::memcpy(&h[100], "0000644", 7);
  std::memcpy(&h[108], "0000000", 7);
  std::memcpy(&h[116], "0000000", 7);
  std::snprintf(&h[124], 12, "%011o", static_cast<unsigned>(data.size()));
  std::memcpy(&h[136], "00000000000", 11);
  h[156] = type;
  h.replace(157, std::min<size_t>(link.size(), 99), link.substr(0, 99));
  std::memcpy(&h[257],
              "ustar\0"
              "00",
              8);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  std::string padded = data;
  padded.resize((data.size() + 511) / 512 * 512, '\0');
  return h + padded;
}

std::string PaxRecord(const std::string& key, const std::string& value) {
  std::string body = " " + key + "=" + value + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  return std::to_string(len) + body;
}

TEST_F(ExtractTest, NulInsideAPaxOrGnuNameIsRefused) {
  const std::string end(1024, '\0');
  struct Case {
    const char* what;
    std::string tar;
    const char* message;
  };
  std::vector<Case> cases = {
      {"PAX path",
       RawTarEntry('x', "pax", PaxRecord("path", std::string("a\0../../x", 9))) +
           RawTarEntry('0', "placeholder", "data") + end,
       "PAX path record"},
      {"PAX linkpath",
       RawTarEntry('x', "pax", PaxRecord("linkpath", std::string("t\0/etc/passwd", 13))) +
           RawTarEntry('2', "link", "", "t") + end,
       "PAX linkpath record"},
      {"GNU long name",
       RawTarEntry('L', "././@LongLink", std::string("long\0hidden\0", 13)) +
           RawTarEntry('0', "short", "data") + end,
       "GNU long name"},
  };
  for (const Case& c : cases) {
    ASSERT_OK(RemoveTree(tmp_.Sub("layer")));
    ASSERT_OK(MakeDirs(tmp_.Sub("layer")));
    MemorySource src(c.tar.data(), c.tar.size());
    absl::StatusOr<ExtractResult> r = ExtractLayer(&src, tmp_.Sub("layer"), {});
    EXPECT_THAT(r, StatusIs(Code::kInvalidArgument)) << c.what;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message)) << c.what;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("NUL")) << c.what;
  }
  // The same hand-made records without the NUL are read as usual.
  ASSERT_OK(RemoveTree(tmp_.Sub("layer")));
  ASSERT_OK(MakeDirs(tmp_.Sub("layer")));
  std::string fine = RawTarEntry('x', "pax", PaxRecord("path", "long-name-from-pax")) +
                     RawTarEntry('0', "placeholder", "data") + end;
  MemorySource src(fine.data(), fine.size());
  ASSERT_OK(ExtractLayer(&src, tmp_.Sub("layer"), {}).status());
  EXPECT_EQ(ReadFileOrDie(L("long-name-from-pax")), "data");
}

TEST_F(ExtractTest, CorruptAndTruncatedStreamsAreErrors) {
  TarBuilder tar;
  tar.File("a", std::string(100000, 'a'));
  std::string gz = Gzip(tar.Bytes());
  for (std::string bad : {gz.substr(0, gz.size() / 2), gz.substr(0, 10) + std::string(200, 'x')}) {
    ASSERT_OK(RemoveTree(tmp_.Sub("layer")));
    ASSERT_OK(MakeDirs(tmp_.Sub("layer")));
    MemorySource src(bad.data(), bad.size());
    ASSERT_OK_AND_ASSIGN(auto gunzip, NewDecompressor(Compression::kGzip, &src));
    EXPECT_THAT(ExtractLayer(gunzip.get(), tmp_.Sub("layer"), {}), StatusIs(Code::kDataLoss));
  }
  std::string junk(5000, 'j');
  MemorySource src(junk.data(), junk.size());
  EXPECT_FALSE(ExtractLayer(&src, tmp_.Sub("layer"), {}).ok());
}

TEST_F(ExtractTest, FileSumsRecordSizeAndCrc) {
  TarBuilder tar;
  tar.File("a", "hello");
  ASSERT_OK_AND_ASSIGN(ExtractResult r, Extract(tar));
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].path, "a");
  EXPECT_EQ(r.files[0].size, 5);
  EXPECT_EQ(r.files[0].crc32, 0x3610a686u);  // crc32("hello")
}

}  // namespace
}  // namespace strata::layerstore
