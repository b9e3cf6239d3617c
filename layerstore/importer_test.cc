// Imports real images from ../shared/images through the whole core (content
// store, importer, unpacker, snapshotter), mounts the top layer with the
// kernel's overlayfs and compares the merged tree with the expectation.
#include "layerstore/importer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "common/fs.h"
#include "common/mount.h"
#include "common/status_util.h"
#include "layerstore/call_scope.h"
#include "layerstore/fsck.h"
#include "tests/oci_builder.h"
#include "tests/store_test.h"
#include "tests/tar_builder.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::CompareTreeWithExpectation;
using ::strata::testing::Exists;
using ::strata::testing::Gzip;
using ::strata::testing::SharedImagesDir;
using ::strata::testing::StatusIs;
using ::strata::testing::TarBuilder;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

class ImporterTest : public ::strata::testing::StoreTest {
 protected:
  absl::StatusOr<std::vector<ImportedImage>> ImportFile(const std::string& path,
                                                        const std::string& name = "") {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return absl::NotFoundError(path);
    FdSource src(fd.get());
    ImportOptions options;
    options.name = name;
    return importer_->Import(&src, options);
  }
  absl::StatusOr<std::vector<ImportedImage>> ImportBytes(const std::string& bytes,
                                                         const std::string& name = "") {
    MemorySource src(bytes.data(), bytes.size());
    ImportOptions options;
    options.name = name;
    return importer_->Import(&src, options);
  }
  // As the daemon runs an import: under a call scope, rolled back on failure.
  absl::StatusOr<std::vector<ImportedImage>> ImportAsACall(const std::string& bytes) {
    STRATA_ASSIGN_OR_RETURN(CallScope call, CallScope::Begin(leases_, gc_, ""));
    MemorySource src(bytes.data(), bytes.size());
    ImportOptions options;
    options.lease = call.lease();
    return call.Finish(importer_->Import(&src, options));
  }
  std::set<std::string> BlobDigests() {
    std::set<std::string> out;
    EXPECT_OK(content_->Walk([&](const BlobInfo& b) {
      out.insert(b.digest.str());
      return true;
    }));
    return out;
  }

  void ExpectTree(const std::string& root, const std::string& expected) {
    std::vector<std::string> diffs = CompareTreeWithExpectation(root, expected);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs[0];
  }

  // Directories holding an unpacked layer (pooled empty ones come and go).
  std::vector<std::string> LayerDirs() {
    snapshots_->WaitForBackgroundWork();
    std::vector<std::string> out;
    absl::StatusOr<std::vector<std::string>> names = ListDir(tmp_.Sub("root/snapshots"));
    if (!names.ok()) return out;
    for (const std::string& d : *names) {
      if (Exists(tmp_.Sub("root/snapshots/" + d + "/sums"))) out.push_back(d);
    }
    return out;
  }
};

TEST_F(ImporterTest, BusyboxOciArchive) {
  ASSERT_OK_AND_ASSIGN(auto imported, ImportFile(SharedImagesDir() + "/prebuilt/busybox.oci.tar"));
  ASSERT_EQ(imported.size(), 1u);
  EXPECT_EQ(imported[0].info.name, "docker.io/library/busybox:latest");
  ASSERT_EQ(imported[0].chain_ids.size(), 1u);
  EXPECT_EQ(imported[0].chain_ids[0].str(),
            "sha256:cf7989f5a0694c3e555330009f6e865dc47688ab9d3d64d8225d3fa8bcd64517");
  ExpectTree(MountImage("docker.io/library/busybox:latest"),
             SharedImagesDir() + "/prebuilt/busybox.expected.json");
}

TEST_F(ImporterTest, BusyboxDockerArchiveGivesTheSameLayer) {
  ASSERT_OK_AND_ASSIGN(auto imported,
                       ImportFile(SharedImagesDir() + "/prebuilt/busybox.docker.tar"));
  ASSERT_EQ(imported.size(), 1u);
  EXPECT_EQ(imported[0].info.name, "docker.io/library/busybox:latest");
  EXPECT_EQ(imported[0].info.target.media_type, media_type::kDockerManifest);
  ExpectTree(MountImage("docker.io/library/busybox:latest"),
             SharedImagesDir() + "/prebuilt/busybox.expected.json");
  // Only the image's own blobs are kept: layer, config and the manifest made
  // for it; not the legacy <id>/json and <id>/VERSION members.
  EXPECT_EQ(BlobDigests().size(), 3u);
  std::set<std::string> types;
  ASSERT_OK(content_->Walk([&](const BlobInfo& b) {
    types.insert(b.media_type);
    return true;
  }));
  EXPECT_EQ(types, (std::set<std::string>{media_type::kDockerLayer, media_type::kDockerConfig,
                                          media_type::kDockerManifest}))
      << "every stored blob says what it is";
  // The OCI form of the same image reuses the unpacked layer.
  size_t dirs = LayerDirs().size();
  ASSERT_OK(
      ImportFile(SharedImagesDir() + "/prebuilt/busybox.oci.tar", "example/busybox:oci").status());
  EXPECT_EQ(LayerDirs().size(), dirs);
}

TEST_F(ImporterTest, EdgeCases) {
  ASSERT_OK_AND_ASSIGN(auto imported,
                       ImportFile(SharedImagesDir() + "/prebuilt/edge-cases.oci.tar"));
  ASSERT_EQ(imported.size(), 1u);
  EXPECT_EQ(imported[0].chain_ids.size(), 6u);
  std::string root = MountImage(imported[0].info.name);
  ExpectTree(root, SharedImagesDir() + "/prebuilt/edge-cases.expected.json");
  struct stat st;
  ASSERT_EQ(::stat((root + "/sparse/holey.bin").c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "64 MiB of zeros should be holes";
}

// The comparison is not vacuous: an empty tree, or one changed file, is caught.
TEST_F(ImporterTest, ComparatorSeesDifferences) {
  std::string expected = SharedImagesDir() + "/prebuilt/busybox.expected.json";
  ASSERT_OK(MakeDirs(tmp_.Sub("empty")));
  EXPECT_GE(CompareTreeWithExpectation(tmp_.Sub("empty"), expected).size(), 280u);
  ASSERT_OK(ImportFile(SharedImagesDir() + "/prebuilt/busybox.oci.tar").status());
  ASSERT_OK_AND_ASSIGN(auto img, images_->Resolve("docker.io/library/busybox:latest"));
  auto mounts =
      snapshots_->Prepare(snapshotter::KeySpace::kNative, "rw", img.top_chain().str(), {});
  ASSERT_OK(mounts);
  std::string dir = tmp_.Sub("rw");
  ASSERT_OK(MakeDirs(dir));
  ASSERT_OK(MountAll(*mounts, dir));
  mounted_.emplace_back(dir, snapshotter::KeySpace::kNative);
  ASSERT_EQ(::chmod((dir + "/etc/passwd").c_str(), 0600), 0);
  ::strata::testing::WriteFileOrDie(dir + "/etc/hostname", "changed\n");
  std::vector<std::string> diffs = CompareTreeWithExpectation(dir, expected);
  EXPECT_THAT(diffs, ::testing::Contains(HasSubstr("/etc/passwd: mode 0600")));
  EXPECT_THAT(diffs, ::testing::Contains(HasSubstr("/etc/hostname: sha256")));
}

TEST_F(ImporterTest, NameOverrideAndReimportIsIdempotent) {
  std::string path = SharedImagesDir() + "/prebuilt/busybox.oci.tar";
  ASSERT_OK(ImportFile(path, "mine:1").status());
  ASSERT_OK(ImportFile(path, "mine:1").status());
  ASSERT_OK_AND_ASSIGN(ImageInfo info, images_->Get("mine:1"));
  EXPECT_EQ(info.target.media_type, media_type::kOciManifest);
}

// A layer only containerd's key space still uses (its native snapshot was
// removed) becomes a native snapshot again when the image is imported again,
// without being unpacked a second time.
TEST_F(ImporterTest, ReimportMakesAContainerdOnlyLayerNativeAgain) {
  std::string path = SharedImagesDir() + "/prebuilt/busybox.oci.tar";
  ASSERT_OK_AND_ASSIGN(auto imported, ImportFile(path, "mine:1"));
  std::string top = imported[0].chain_ids.back().str();
  ASSERT_OK(snapshots_->AdoptLayerChain(snapshotter::KeySpace::kContainerd, top));
  ASSERT_OK(snapshots_->Remove(snapshotter::KeySpace::kNative, top));
  ASSERT_THAT(snapshots_->Stat(snapshotter::KeySpace::kNative, top).status(),
              StatusIs(Code::kNotFound));
  ASSERT_OK_AND_ASSIGN(snapshotter::Snapshotter::LayerInfo before, snapshots_->GetLayer(top));

  ASSERT_OK(ImportFile(path, "mine:1").status());
  EXPECT_OK(snapshots_->Stat(snapshotter::KeySpace::kNative, top).status());
  ASSERT_OK_AND_ASSIGN(snapshotter::Snapshotter::LayerInfo after, snapshots_->GetLayer(top));
  EXPECT_EQ(after.dir_id, before.dir_id) << "unpacked again";
  EXPECT_EQ(after.refs, 2);
}

// An OCI layout archive built by hand, to break in each test.
struct FakeImage {
  std::string layer_tar;
  std::string layer_blob;  // gzip of layer_tar
  std::string config;
  std::string manifest;
  std::string index;

  FakeImage() {
    TarBuilder t;
    t.File("hello.txt", "hello\n");
    layer_tar = t.Bytes();
    layer_blob = Gzip(layer_tar);
    config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
             Sha256Of(layer_tar).str() + R"("]}})";
    Rebuild();
  }
  void Rebuild(const std::string& layer_type = media_type::kOciLayerGzip) {
    manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
        Sha256Of(config).str() + R"(","size":)" + std::to_string(config.size()) +
        R"(},"layers":[{"mediaType":")" + layer_type + R"(","digest":")" +
        Sha256Of(layer_blob).str() + R"(","size":)" + std::to_string(layer_blob.size()) + "}]}";
    index =
        R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
        Sha256Of(manifest).str() + R"(","size":)" + std::to_string(manifest.size()) +
        R"(,"annotations":{"io.containerd.image.name":"example.test/fake:1"}}]})";
  }
  // Writes the image's layer (unless left out), config and manifest blobs.
  void AddBlobs(TarBuilder& t, bool with_layer = true) const {
    if (with_layer) t.File("blobs/sha256/" + Sha256Of(layer_blob).hex(), layer_blob);
    t.File("blobs/sha256/" + Sha256Of(config).hex(), config);
    t.File("blobs/sha256/" + Sha256Of(manifest).hex(), manifest);
  }
  std::string Archive(bool with_layer = true) const {
    TarBuilder t;
    t.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    AddBlobs(t, with_layer);
    t.File("index.json", index);
    return t.Bytes();
  }
};

TEST_F(ImporterTest, FsckReportsAnImageWhoseLayerWentMissing) {
  FakeImage img;
  ASSERT_OK_AND_ASSIGN(auto imported, ImportBytes(img.Archive()));
  ASSERT_OK_AND_ASSIGN(FsckReport clean, CheckStore(content_, *images_, snapshots_, false));
  EXPECT_TRUE(clean.clean());
  EXPECT_EQ(clean.images, 1);
  // As `strata rm` of the layer did before it was refused.
  ASSERT_OK(snapshots_->Remove(snapshotter::KeySpace::kNative, imported[0].chain_ids[0].str()));
  ASSERT_OK_AND_ASSIGN(FsckReport r, CheckStore(content_, *images_, snapshots_, true));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_THAT(r.problems[0].what, HasSubstr("image \"example.test/fake:1\": layer 1"));
  EXPECT_THAT(r.problems[0].what, HasSubstr("is not unpacked"));
  EXPECT_FALSE(r.problems[0].repaired);
  EXPECT_THAT(r.problems[0].note, HasSubstr("import or pull the image again"));
}

TEST_F(ImporterTest, FakeImageImports) {
  FakeImage img;
  ASSERT_OK(ImportBytes(img.Archive()).status());
  EXPECT_EQ(::strata::testing::ReadFileOrDie(MountImage("example.test/fake:1") + "/hello.txt"),
            "hello\n");
}

// A multi-platform image: index.json -> a nested index -> one manifest per
// platform. The host's platform is unpacked; the other's blobs are kept as
// content, not unpacked.
TEST_F(ImporterTest, MultiPlatformIndexUnpacksTheHostPlatform) {
  FakeImage host;     // hello.txt
  FakeImage foreign;  // a different layer for arm64
  {
    TarBuilder t;
    t.File("arm.txt", "arm\n");
    foreign.layer_tar = t.Bytes();
    foreign.layer_blob = Gzip(foreign.layer_tar);
    foreign.config =
        R"({"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
        Sha256Of(foreign.layer_tar).str() + R"("]}})";
    foreign.Rebuild();
  }
  Platform me = HostPlatform();
  auto entry = [](const FakeImage& i, const std::string& os, const std::string& arch) {
    return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
           Sha256Of(i.manifest).str() + R"(","size":)" + std::to_string(i.manifest.size()) +
           R"(,"platform":{"os":")" + os + R"(","architecture":")" + arch + R"("}})";
  };
  std::string nested =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      entry(foreign, "linux", me.architecture == "arm64" ? "s390x" : "arm64") + "," +
      entry(host, me.os, me.architecture) + "]}";
  std::string index =
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" +
      Sha256Of(nested).str() + R"(","size":)" + std::to_string(nested.size()) +
      R"(,"annotations":{"io.containerd.image.name":"example.test/multi:1"}}]})";
  TarBuilder t;
  t.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  host.AddBlobs(t);
  foreign.AddBlobs(t);
  t.File("blobs/sha256/" + Sha256Of(nested).hex(), nested);
  t.File("index.json", index);
  ASSERT_OK_AND_ASSIGN(auto imported, ImportBytes(t.Bytes()));
  ASSERT_EQ(imported.size(), 1u);
  EXPECT_EQ(imported[0].info.target.media_type, media_type::kOciIndex);
  EXPECT_EQ(imported[0].info.manifest, Sha256Of(host.manifest));
  std::string root = MountImage("example.test/multi:1");
  EXPECT_TRUE(Exists(root + "/hello.txt"));
  EXPECT_FALSE(Exists(root + "/arm.txt"));
  EXPECT_TRUE(content_->Has(Sha256Of(foreign.layer_blob)));                    // kept as content
  EXPECT_FALSE(snapshots_->GetLayer(Sha256Of(foreign.layer_tar).str()).ok());  // not unpacked
  // Its blob was unpacked speculatively while the archive arrived; unclaimed,
  // that directory is gone: only the host's layer remains.
  EXPECT_EQ(LayerDirs().size(), 1u);
}

TEST_F(ImporterTest, IndexWithoutTheHostPlatformIsAnError) {
  FakeImage only;
  std::string index =
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      Sha256Of(only.manifest).str() + R"(","size":)" + std::to_string(only.manifest.size()) +
      R"(,"platform":{"os":"windows","architecture":"amd64"},"annotations":{"io.containerd.image.name":"x:1"}}]})";
  only.index = index;
  EXPECT_THAT(ImportBytes(only.Archive()), StatusIs(Code::kNotFound));
}

// A whiteout that hides nothing below it must not show in the container's
// view: overlayfs filters whiteouts only in directories it merges.
TEST_F(ImporterTest, WhiteoutsThatHideNothingNeverShow) {
  TarBuilder l1, l2, l3;
  l1.File("d/f", "f\n").File("k/keep", "k\n").File("k/gone", "g\n").File("o/x", "x\n");
  l1.Symlink("s", "/etc");
  // d deleted, then made anew above with a whiteout of its old file; a new
  // directory with a whiteout of nothing; a directory over a lower symlink;
  // an opaque directory that also whites out a lower file; and, as the
  // control, a whiteout in a merged directory, which must keep hiding.
  l2.File(".wh.d", "").File("n/.wh.x", "").File("s/.wh.passwd", "");
  l2.File("o/.wh..wh..opq", "").File("o/.wh.x", "").File("o/y", "y\n").File("k/.wh.gone", "");
  l3.File("d/.wh.f", "").File("d/new", "new\n");
  std::string archive = ::strata::testing::BuildOciArchive(
      {{"example/whiteouts:1", {l1.Bytes(), l2.Bytes(), l3.Bytes()}}});
  ASSERT_OK(ImportBytes(archive).status());
  std::string root = MountImage("example/whiteouts:1");
  auto listing = [&](const std::string& dir) {
    std::set<std::string> names;
    absl::StatusOr<std::vector<std::string>> entries = ListDir(root + "/" + dir);
    EXPECT_OK(entries.status()) << dir;
    if (!entries.ok()) return names;
    for (const std::string& e : *entries) {
      EXPECT_TRUE(Exists(root + "/" + dir + "/" + e)) << dir << "/" << e << " is listed but absent";
      names.insert(e);
    }
    return names;
  };
  EXPECT_EQ(listing("d"), (std::set<std::string>{"new"}));
  EXPECT_EQ(listing("n"), (std::set<std::string>{}));
  EXPECT_EQ(listing("s"), (std::set<std::string>{}));
  EXPECT_EQ(listing("o"), (std::set<std::string>{"y"}));
  EXPECT_EQ(listing("k"), (std::set<std::string>{"keep"}));
  EXPECT_FALSE(Exists(root + "/k/gone"));
  EXPECT_FALSE(Exists(root + "/o/x"));
}

TEST_F(ImporterTest, BadArchivesFailCleanlyAndRecordNothing) {
  struct Case {
    const char* what;
    std::function<std::string()> archive;
    Code code;
    const char* message;
  };
  std::vector<Case> cases = {
      {"missing layer blob", [] { return FakeImage().Archive(false); }, Code::kInvalidArgument,
       "missing"},
      {"diff_id mismatch",
       [] {
         FakeImage i;
         i.config = R"({"rootfs":{"diff_ids":["sha256:)" + std::string(64, '0') + R"("]}})";
         i.Rebuild();
         return i.Archive();
       },
       Code::kDataLoss, "diff_id"},
      {"corrupt gzip",
       [] {
         FakeImage i;
         i.layer_blob = i.layer_blob.substr(0, i.layer_blob.size() / 2);
         i.Rebuild();
         return i.Archive();
       },
       Code::kDataLoss, "gzip"},
      {"blob digest mismatch",
       [] {
         FakeImage i;
         TarBuilder t;
         t.File("oci-layout", "{}")
             .File("blobs/sha256/" + std::string(64, 'a'), "not that")
             .File("index.json", i.index);
         return t.Bytes();
       },
       Code::kDataLoss, "blobs/sha256/aaaa"},
      {"malformed index",
       [] {
         TarBuilder t;
         t.File("index.json", "{not json");
         return t.Bytes();
       },
       Code::kInvalidArgument, "malformed JSON"},
      {"malformed manifest",
       [] {
         FakeImage i;
         i.manifest = "[1,2";
         i.Rebuild();
         i.manifest = "[1,2";
         i.index =
             R"({"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
             Sha256Of(i.manifest).str() +
             R"(","size":4,"annotations":{"io.containerd.image.name":"x:1"}}]})";
         return i.Archive();
       },
       Code::kInvalidArgument, "malformed JSON"},
      {"unknown layer media type",
       [] {
         FakeImage i;
         i.Rebuild("application/x-rar");
         return i.Archive();
       },
       Code::kInvalidArgument, "unsupported layer media type"},
      {"not a tar", [] { return std::string(3000, 'x'); }, Code::kInvalidArgument, "tar"},
      {"no index",
       [] {
         TarBuilder t;
         t.File("foo", "bar");
         return t.Bytes();
       },
       Code::kInvalidArgument, "neither index.json"},
      {"second image fails after the first is unpacked",
       [] {
         FakeImage good;
         FakeImage bad;
         TarBuilder layer;
         layer.File("other.txt", "other\n");
         bad.layer_tar = layer.Bytes();
         bad.layer_blob = Gzip(bad.layer_tar);
         bad.config = R"({"rootfs":{"diff_ids":["sha256:)" + std::string(64, '1') + R"("]}})";
         bad.Rebuild();
         auto entry = [](const std::string& manifest, const std::string& name) {
           return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                  Sha256Of(manifest).str() + R"(","size":)" + std::to_string(manifest.size()) +
                  R"(,"annotations":{"io.containerd.image.name":")" + name + R"("}})";
         };
         TarBuilder t;
         t.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
         good.AddBlobs(t);
         bad.AddBlobs(t);
         t.File("index.json", R"({"schemaVersion":2,"manifests":[)" +
                                  entry(good.manifest, "x/good:1") + "," +
                                  entry(bad.manifest, "x/bad:1") + "]}");
         return t.Bytes();
       },
       Code::kDataLoss, "diff_id"},
  };
  // A blob stored before the imports, and named by most of them, stays.
  ASSERT_OK(content_->Put(FakeImage().config, media_type::kOciConfig, "").status());
  std::set<std::string> before = BlobDigests();
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<ImportedImage>> r = ImportAsACall(c.archive());
    EXPECT_THAT(r, StatusIs(c.code)) << c.what;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message)) << c.what;
    EXPECT_EQ(BlobDigests(), before) << c.what << ": the failed import left blobs";
  }
  int images = 0;
  ASSERT_OK(images_->List([&](const ImageInfo&) {
    ++images;
    return true;
  }));
  EXPECT_EQ(images, 0);
  snapshots_->WaitForBackgroundWork();
  int layers = 0;
  ASSERT_OK(snapshots_->Walk(snapshotter::KeySpace::kNative, {}, [&](const snapshotter::Info&) {
    ++layers;
    return true;
  }));
  EXPECT_EQ(layers, 0);
  EXPECT_TRUE(ListDir(tmp_.Sub("root/tmp"))->empty());
  EXPECT_TRUE(ListDir(tmp_.Sub("root/content/ingest"))->empty());
}

}  // namespace
}  // namespace strata::layerstore
