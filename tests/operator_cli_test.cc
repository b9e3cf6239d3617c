// The commands a ctr/podman user reaches for first, against a real daemon,
// their --json output parsed: STRATA_SOCKET and the config file's socket,
// version and info, tag, rmi of several names, inspect, history, prune,
// system df, listings (-q, --filter, --format, --no-trunc, short names),
// import from stdin and export to stdout, multi-image archives, shell
// completion and --help for every argument.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/oci_builder.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kBusybox[] = "docker.io/library/busybox:latest";

std::string Busybox() { return SharedImagesDir() + "/prebuilt/busybox.oci.tar"; }
std::string EdgeCases() { return SharedImagesDir() + "/prebuilt/edge-cases.oci.tar"; }

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class OperatorCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(daemon_, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock")));
  }
  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }
  json Json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    RunResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output, nullptr, false);
  }
  // Runs a shell command line with the CLI as $S (socket given by env).
  RunResult Shell(const std::string& script) {
    return RunCommand({"sh", "-c",
                       absl::StrCat("S=", StrataCliPath(),
                                    "; export STRATA_SOCKET=", tmp_.Sub("s.sock"), "; ", script)});
  }
  std::string ImportName(const std::string& archive) {
    json imported = Json({"import", archive});
    return imported.is_array() && !imported.empty() ? imported[0].value("name", "") : "";
  }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> daemon_;
};

TEST_F(OperatorCliTest, SocketComesFromFlagThenEnvThenConfig) {
  WriteFileOrDie(tmp_.Sub("config.toml"), absl::StrCat("socket = \"", tmp_.Sub("s.sock"), "\"\n"));
  // The config file's socket, when nothing else names one.
  RunResult r = RunCommand({"env", "-u", "STRATA_SOCKET",
                            "STRATA_CONFIG=" + tmp_.Sub("config.toml"), StrataCliPath(), "info"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // STRATA_SOCKET beats the config file; --socket beats both.
  r = RunCommand({"env", "STRATA_SOCKET=/nonexistent.sock",
                  "STRATA_CONFIG=" + tmp_.Sub("config.toml"), StrataCliPath(), "info"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("cannot reach stratad at /nonexistent.sock"));
  r = RunCommand({"env", "STRATA_SOCKET=/nonexistent.sock", StrataCliPath(), "--socket",
                  tmp_.Sub("s.sock"), "info"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(OperatorCliTest, VersionAndInfo) {
  json v = Json({"version"});
  EXPECT_EQ(v["client"]["version"], v["server"]["version"]);
  EXPECT_FALSE(v["client"].value("version", "").empty());
  RunResult r = RunCommand({StrataCliPath(), "--socket", tmp_.Sub("none.sock"), "version"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("client: "));
  EXPECT_THAT(r.output, HasSubstr("cannot reach stratad"));

  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  ASSERT_EQ(Cli({"mount", "busybox", tmp_.Sub("mnt"), "--rw", "c1"}).exit_code, 0);
  json info = Json({"info"});
  EXPECT_EQ(info["version"], v["server"]["version"]);
  EXPECT_EQ(info["root"], tmp_.Sub("root"));
  EXPECT_EQ(info["socket"], tmp_.Sub("s.sock"));
  EXPECT_EQ(info["pid"], daemon_->pid());
  EXPECT_EQ(info["counts"]["images"], 1);
  EXPECT_EQ(info["counts"]["active_snapshots"], 1);
  EXPECT_EQ(info["counts"]["layers"], 1);
  EXPECT_EQ(info["counts"]["blobs"], 3);  // layer, config, manifest
  EXPECT_GT(info["counts"]["layer_bytes"].get<int64_t>(), 1 << 20);
  EXPECT_GT(info["filesystem_bytes"].get<int64_t>(), info["filesystem_free_bytes"].get<int64_t>());
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
}

TEST_F(OperatorCliTest, TagAndRmiOfSeveralNames) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  // Short names, as docker users write them.
  json tagged = Json({"tag", "busybox", "mybox:1"});
  EXPECT_EQ(tagged["name"], "docker.io/library/mybox:1");
  EXPECT_EQ(Json({"tag", "busybox:latest", "example.test/box:2"})["name"], "example.test/box:2");
  EXPECT_EQ(Cli({"images", "-q"}).output,
            "docker.io/library/busybox:latest\ndocker.io/library/mybox:1\nexample.test/box:2\n");
  // The table shows names as docker does; --no-trunc in full.
  RunResult r = Cli({"images"});
  EXPECT_THAT(r.output, HasSubstr("\nbusybox:latest "));
  EXPECT_THAT(r.output, HasSubstr("\nmybox:1 "));
  EXPECT_THAT(Cli({"images", "--no-trunc"}).output, HasSubstr("docker.io/library/mybox:1 "));

  r = Cli({"--json", "tag", "nosuch", "x:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.output, nullptr, false).value("code", ""), "NOT_FOUND");
  r = Cli({"--json", "tag", "busybox", "Bad Name"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.output, nullptr, false).value("code", ""), "INVALID_ARGUMENT");
  // rmi goes on past a name it cannot delete, and fails at the end.
  r = Cli({"rmi", "mybox:1", "nosuch", "example.test/box:2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("deleted mybox:1"));
  EXPECT_THAT(r.output, HasSubstr("image \"nosuch\" not found"));
  EXPECT_EQ(Cli({"images", "-q"}).output, std::string(kBusybox) + "\n");
  EXPECT_THAT(Json({"rmi", "busybox"})["deleted"], ElementsAre("busybox"));
  EXPECT_EQ(Cli({"images", "-q"}).output, "");
}

// One naming rule for every name stored, however it came in (import,
// commit, squash, tag), and every name looked up; a digest in a name must be
// the image's; a reference filter without a tag matches every tag.
TEST_F(OperatorCliTest, EveryNameIsNormalisedOnceAndDigestsMustMatch) {
  ASSERT_EQ(Cli({"import", Busybox(), "--name", "mybb:x"}).exit_code, 0);
  EXPECT_EQ(Cli({"images", "-q"}).output, "docker.io/library/mybb:x\n");
  EXPECT_EQ(Json({"inspect", "docker.io/library/mybb:x"})["name"], "docker.io/library/mybb:x");
  EXPECT_EQ(Json({"inspect", "mybb:x"})["name"], "docker.io/library/mybb:x");
  // Tagging a name onto itself, in either spelling, is one row.
  ASSERT_EQ(Cli({"tag", "mybb:x", "mybb:x"}).exit_code, 0);
  ASSERT_EQ(Cli({"tag", "mybb:x", "docker.io/library/mybb:x"}).exit_code, 0);
  EXPECT_EQ(Lines(Cli({"images", "-q"}).output).size(), 1u);
  ASSERT_EQ(Cli({"tag", "mybb:x", "mybb:y"}).exit_code, 0);
  // A repository without a tag matches every tag of it, as docker's filter.
  EXPECT_EQ(Lines(Cli({"images", "-q", "--filter", "reference=mybb"}).output).size(), 2u);
  EXPECT_EQ(Lines(Cli({"images", "-q", "--filter", "reference=mybb:y"}).output).size(), 1u);
  EXPECT_EQ(Cli({"images", "-q", "--filter", "reference=mybb:z"}).output, "");

  // A digest in a name that is not the image's is refused; its own is fine.
  std::string zero = "foo:1@sha256:" + std::string(64, '0');
  RunResult r = Cli({"--json", "tag", "mybb:x", zero});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.output, nullptr, false).value("code", ""), "INVALID_ARGUMENT");
  EXPECT_THAT(r.output, HasSubstr("carries digest"));
  std::string digest = Json({"images"})[0]["target"]["digest"];
  ASSERT_EQ(Cli({"tag", "mybb:x", "foo:1@" + digest}).exit_code, 0) << r.output;
  EXPECT_THAT(Cli({"images", "-q"}).output, HasSubstr("docker.io/library/foo:1@" + digest));

  // Commit names are normalised too.
  std::string m = tmp_.Sub("m");
  ASSERT_OK(MakeDirs(m));
  ASSERT_EQ(Cli({"mount", "mybb:x", m, "--rw", "c"}).exit_code, 0);
  ASSERT_EQ(Cli({"unmount", m}).exit_code, 0);
  r = Cli({"commit", "c", "--name", "mine:1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(Cli({"images", "-q"}).output, HasSubstr("docker.io/library/mine:1\n"));
}

TEST_F(OperatorCliTest, InspectAndHistory) {
  std::string edge = ImportName(EdgeCases());
  ASSERT_FALSE(edge.empty());
  json img = Json({"images", "--filter", "reference=" + edge})[0];
  json inspect = Json({"inspect", edge});
  EXPECT_EQ(inspect["name"], edge);
  EXPECT_EQ(inspect["id"], img["config"]);
  EXPECT_EQ(inspect["digest"], img["target"]["digest"]);
  ASSERT_EQ(inspect["layers"].size(), img["layers"].size());
  int64_t size = 0, disk = 0;
  for (size_t i = 0; i < inspect["layers"].size(); ++i) {
    EXPECT_EQ(inspect["layers"][i]["digest"], img["layers"][i]["digest"]);
    EXPECT_EQ(inspect["layers"][i]["size"], img["layers"][i]["size"]);
    // A layer of directories and whiteouts takes no block on a tmpfs.
    EXPECT_GE(inspect["layers"][i]["disk_size"].get<int64_t>(), 0);
    disk += inspect["layers"][i]["disk_size"].get<int64_t>();
    size += img["layers"][i]["size"].get<int64_t>();
  }
  EXPECT_GT(disk, 0);
  EXPECT_EQ(inspect["size"], size);
  EXPECT_TRUE(inspect["config"].contains("env"));
  EXPECT_TRUE(inspect["config"]["labels"].is_object());
  // busybox's config says what runs.
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  json bb = Json({"inspect", "busybox"});
  EXPECT_EQ(bb["config"]["cmd"], json({"sh"}));
  EXPECT_THAT(bb["config"]["env"][0].get<std::string>(), HasSubstr("PATH="));
  EXPECT_EQ(bb["os"], "linux");

  // History: newest first; entries that made layers carry them, in order.
  json history = Json({"history", edge});
  std::vector<std::string> layers;
  for (const json& h : history) {
    if (!h["empty_layer"].get<bool>()) layers.insert(layers.begin(), h["layer"]);
  }
  ASSERT_EQ(layers.size(), img["layers"].size());
  for (size_t i = 0; i < layers.size(); ++i) EXPECT_EQ(layers[i], img["layers"][i]["digest"]);
  EXPECT_EQ(Lines(Cli({"history", "busybox", "-q"}).output).size(),
            Json({"history", "busybox"}).size());
  // Every time shown alike, to the second, whatever precision configs use.
  for (const std::string& line :
       Lines(Cli({"history", "busybox", "--format", "{{.Created}}"}).output)) {
    EXPECT_TRUE(line.size() == 20 && line[10] == 'T' && line.back() == 'Z' &&
                line.find('.') == std::string::npos)
        << line;
  }
  // images shows when the image was built, as docker does (its config's
  // "created"), not when it came here.
  std::string built = bb["created"];
  EXPECT_EQ(Cli({"images", "--filter", "reference=busybox", "--format", "{{.Created}}"})
                .output.substr(0, 19),
            built.substr(0, 19));
  RunResult r = Cli({"inspect", "nosuch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not found"));
}

TEST_F(OperatorCliTest, ListingsFilterFormatAndQuiet) {
  std::string edge = ImportName(EdgeCases());
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  EXPECT_EQ(Cli({"images", "-q", "--filter", "reference=*busybox*"}).output,
            std::string(kBusybox) + "\n");
  // The short name matches too; two values of one key are either.
  EXPECT_EQ(Lines(Cli({"images", "-q", "--filter", "reference=busybox:latest", "--filter",
                       "reference=" + edge})
                      .output)
                .size(),
            2u);
  // Different keys are both.
  EXPECT_EQ(
      Cli({"images", "-q", "--filter", "reference=busybox:latest", "--filter", "layers=9"}).output,
      "");
  json bb = Json({"images", "--filter", "name=busybox:latest"});
  ASSERT_EQ(bb.size(), 1u);
  std::string config = bb[0]["config"];
  EXPECT_EQ(
      Cli({"images", "--filter", "name=busybox:latest", "--format", "{{.Name}} {{.ID}}"}).output,
      absl::StrCat(kBusybox, " ", config, "\n"));
  RunResult table =
      Cli({"images", "--filter", "name=busybox:latest", "--format", "table {{.Name}}\\t{{.ID}}"});
  EXPECT_THAT(table.output, HasSubstr("NAME"));
  EXPECT_THAT(table.output, HasSubstr(config.substr(7, 12)));
  EXPECT_THAT(table.output, Not(HasSubstr(config)));
  // Default tables shorten digests; --no-trunc does not.
  EXPECT_THAT(Cli({"images"}).output, Not(HasSubstr(config)));
  EXPECT_THAT(Cli({"images", "--no-trunc"}).output, HasSubstr(config));

  // Blobs: --format fields against --json.
  json blobs = Json({"blobs"});
  std::set<std::string> from_json, from_format;
  for (const json& b : blobs)
    from_json.insert(absl::StrCat(b["digest"].get<std::string>(), " ", b["size"].get<int64_t>()));
  for (const std::string& line :
       Lines(Cli({"blobs", "--format", "{{.Digest}} {{.Bytes}}"}).output)) {
    from_format.insert(line);
  }
  EXPECT_EQ(from_format, from_json);
  EXPECT_EQ(Lines(Cli({"blobs", "-q", "--filter", "media-type=*config*"}).output).size(), 2u);
  // Snapshots and leases.
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  ASSERT_EQ(Cli({"mount", "busybox", tmp_.Sub("mnt"), "--rw", "c1"}).exit_code, 0);
  EXPECT_EQ(Cli({"snapshots", "-q", "--filter", "kind=active"}).output, "c1\n");
  ASSERT_EQ(Cli({"leases", "create", "--id", "l1", "--label", "who=ci"}).exit_code, 0);
  ASSERT_EQ(Cli({"leases", "create", "--id", "l2"}).exit_code, 0);
  EXPECT_EQ(Cli({"leases", "-q", "--filter", "label=who=ci"}).output, "l1\n");
  EXPECT_EQ(Cli({"leases", "-q", "--filter", "label=who"}).output, "l1\n");
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);

  // A filter or format that names no field: a usage error, one line.
  RunResult r = Cli({"images", "--filter", "colour=red"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--filter colour=red: no field \"colour\""));
  r = Cli({"images", "--format", "{{.Colour}}"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--format: no field .Colour"));
  EXPECT_EQ(Lines(r.output).size(), 1u);
}

TEST_F(OperatorCliTest, PruneKeepsWhatContainersUseAndDfAgrees) {
  std::string edge = ImportName(EdgeCases());
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  ASSERT_EQ(Cli({"mount", "busybox", tmp_.Sub("mnt"), "--rw", "c1"}).exit_code, 0);
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);  // c1 stays: a container

  json df = Json({"system", "df"});
  ASSERT_EQ(df.size(), 4u);
  EXPECT_EQ(df[0]["type"], "Images");
  EXPECT_EQ(df[0]["total"], 2);
  EXPECT_EQ(df[0]["active"], 1);
  EXPECT_EQ(df[1]["type"], "Containers");
  EXPECT_EQ(df[1]["total"], 1);
  EXPECT_GT(df[0]["reclaimable"].get<int64_t>(), 0);

  // Without --all only digest-only names go: there are none.
  json none = Json({"prune"});
  EXPECT_TRUE(none["images"].empty());
  json dry = Json({"prune", "--all", "--dry-run"});
  EXPECT_THAT(dry["images"], ElementsAre(edge));
  EXPECT_EQ(dry["bytes"], df[0]["reclaimable"]);
  EXPECT_EQ(Lines(Cli({"images", "-q"}).output).size(), 2u);  // a dry run deletes nothing
  json pruned = Json({"prune", "--all"});
  EXPECT_THAT(pruned["images"], ElementsAre(edge));
  EXPECT_GT(pruned["gc"]["bytes"].get<int64_t>(), 0);
  EXPECT_EQ(pruned["gc"]["bytes"], dry["bytes"]);  // exactly what the dry run said
  EXPECT_EQ(Cli({"images", "-q"}).output, std::string(kBusybox) + "\n");
  df = Json({"system", "df"});
  EXPECT_EQ(df[0]["total"], 1);
  EXPECT_EQ(df[0]["reclaimable"], 0);

  // A digest-only name is what plain prune removes, once no container uses it.
  ASSERT_EQ(Cli({"rm", "c1"}).exit_code, 0);
  json bb = Json({"images"})[0];
  std::string by_digest = "example.test/pinned@" + bb["target"]["digest"].get<std::string>();
  ASSERT_EQ(Cli({"tag", "busybox", by_digest}).exit_code, 0);
  EXPECT_THAT(Json({"prune"})["images"], ElementsAre(by_digest));
  EXPECT_EQ(Cli({"images", "-q"}).output, std::string(kBusybox) + "\n");

  // Two names sharing every layer, no container: neither has a byte of its
  // own, yet deleting both frees the whole image, and that is what is said.
  ASSERT_EQ(Cli({"tag", "busybox", "other:1"}).exit_code, 0);
  df = Json({"system", "df"});
  dry = Json({"prune", "--all", "--dry-run"});
  EXPECT_EQ(dry["images"].size(), 2u);
  EXPECT_GT(dry["bytes"].get<int64_t>(), 1 << 20);  // busybox's layer, unpacked and as a blob
  EXPECT_EQ(df[0]["reclaimable"], dry["bytes"]);
  pruned = Json({"prune", "--all"});
  EXPECT_EQ(pruned["gc"]["bytes"], dry["bytes"]);
  EXPECT_EQ(Cli({"images", "-q"}).output, "");
}

TEST_F(OperatorCliTest, ImportFromStdinExportToStdout) {
  RunResult r = Shell(absl::StrCat("$S import - --name example.test/piped:1 < ", Busybox()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("imported example.test/piped:1"));
  r = Shell(absl::StrCat("$S export example.test/piped:1 - > ", tmp_.Sub("out.tar")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(Cli({"export", "example.test/piped:1", tmp_.Sub("file.tar")}).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("out.tar")), ReadFileOrDie(tmp_.Sub("file.tar")));
  // What went out comes back in through a pipe, under another name.
  r = Shell("$S export example.test/piped:1 - | $S import - --name example.test/again:1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Json({"inspect", "example.test/again:1"})["digest"],
            Json({"inspect", "example.test/piped:1"})["digest"]);
  // Exporting what is not there writes nothing and fails.
  r = Shell(absl::StrCat("$S export nosuch - > ", tmp_.Sub("none.tar")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("none.tar")), "");
}

TEST_F(OperatorCliTest, ArchiveWithSeveralImagesImportsThemAll) {
  WriteFileOrDie(tmp_.Sub("multi.tar"),
                 BuildOciArchive({{"example.test/one:1", {OneFileLayer("one", "1")}},
                                  {"example.test/two:1", {OneFileLayer("two", "2")}},
                                  {"example.test/three:1", {OneFileLayer("three", "3")}}}));
  RunResult r = Shell(absl::StrCat("$S --json import - < ", tmp_.Sub("multi.tar")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output, nullptr, false).size(), 3u);
  EXPECT_EQ(Cli({"images", "-q"}).output,
            "example.test/one:1\nexample.test/three:1\nexample.test/two:1\n");
  // --name with several images is refused, and nothing is imported.
  r = Cli({"import", tmp_.Sub("multi.tar"), "--name", "x/y:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("several images"));
}

TEST_F(OperatorCliTest, CompletionComesFromTheCommandTree) {
  RunResult bash = Cli({"completion", "bash"});
  ASSERT_EQ(bash.exit_code, 0);
  WriteFileOrDie(tmp_.Sub("strata.bash"), bash.output);
  auto complete = [&](const std::string& words, int cword) {
    return RunCommand({"bash", "-c",
                       absl::StrCat("export STRATA_SOCKET=", tmp_.Sub("s.sock"), "; PATH=",
                                    BinaryDir(), "/cli:$PATH; source ", tmp_.Sub("strata.bash"),
                                    "; COMP_WORDS=(", words, "); COMP_CWORD=", cword,
                                    "; _strata; printf '%s\\n' \"${COMPREPLY[@]}\"")})
        .output;
  };
  EXPECT_EQ(complete("strata lea", 1), "leases\n");
  EXPECT_EQ(complete("strata leases cr", 2), "create\n");
  EXPECT_THAT(complete("strata images --", 2), HasSubstr("--no-trunc\n"));
  EXPECT_THAT(complete("strata prune --", 2), HasSubstr("--dry-run\n"));
  EXPECT_THAT(complete("strata system ''", 2), HasSubstr("df\n"));
  // Arguments that name an image complete from the store.
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  EXPECT_EQ(complete("strata inspect docker", 2), std::string(kBusybox) + "\n");
  // After a flag (no value) the next word is an argument again, never a file.
  WriteFileOrDie("./docker-file-here", "");
  EXPECT_EQ(complete("strata rmi --json docker", 3), std::string(kBusybox) + "\n");
  std::remove("./docker-file-here");
  // The images listed are those of the daemon the line names.
  ASSERT_OK_AND_ASSIGN(auto other, StratadProcess::Start(tmp_.Sub("o"), tmp_.Sub("o.sock")));
  ASSERT_EQ(
      RunStrataCli(tmp_.Sub("o.sock"), {"import", EdgeCases(), "--name", "only:there"}).exit_code,
      0);
  EXPECT_EQ(complete("strata --socket " + tmp_.Sub("o.sock") + " inspect docker.io/library/o", 4),
            "docker.io/library/only:there\n");

  RunResult zsh = Cli({"completion", "zsh"});
  ASSERT_EQ(zsh.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(zsh.output, "#compdef strata\n"));
  for (const char* fn :
       {"_strata()", "_strata_leases_create()", "_strata_system_df()", "_strata_import()"}) {
    EXPECT_THAT(zsh.output, HasSubstr(fn));
  }
  WriteFileOrDie(tmp_.Sub("_strata"), zsh.output);
  RunResult parsed = RunCommand({"zsh", "-n", tmp_.Sub("_strata")});
  EXPECT_EQ(parsed.exit_code, 0) << parsed.output;
  EXPECT_EQ(Cli({"completion", "fish"}).exit_code, 2);
}

// The Quick start from a fresh clone: the project makes its own small image
// (scripts/make-example-image.sh, from Debian's busybox-static), which
// imports, runs, and goes to a local registry and back.
TEST_F(OperatorCliTest, QuickStartNeedsNothingButTheClone) {
  std::string archive = tmp_.Sub("busybox.oci.tar");
  RunResult r = RunCommand(
      {"bash", std::string(STRATA_SOURCE_DIR) + "/scripts/make-example-image.sh", archive});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Cli({"import", archive});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Cli({"images", "-q"}).output, "example.test/busybox:1\n");
  std::string c = tmp_.Sub("c");
  ASSERT_OK(MakeDirs(c));
  ASSERT_EQ(Cli({"mount", "example.test/busybox:1", c, "--rw", "work"}).exit_code, 0);
  r = RunCommand(
      {"chroot", c, "/bin/sh", "-c", "echo hello > /root/hello.txt && cat /root/hello.txt"});
  EXPECT_EQ(r.output, "hello\n");
  ASSERT_EQ(Cli({"unmount", c}).exit_code, 0);
  ASSERT_EQ(Cli({"commit", "work", "--name", "example.test/hello:1"}).exit_code, 0);

  ASSERT_OK_AND_ASSIGN(auto registry, RegistryProcess::Start(tmp_.Sub("registry")));
  std::string ref = registry->host() + "/hello:1";
  r = Cli({"push", "example.test/hello:1", ref});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(Cli({"rmi", "example.test/hello:1"}).exit_code, 0);
  r = Cli({"pull", ref});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(Cli({"mount", ref, c}).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(c + "/root/hello.txt"), "hello\n");
  ASSERT_EQ(Cli({"unmount", c}).exit_code, 0);
}

// strata(1) and stratad(8) come from the command tree and the settings
// table: every command and every daemon flag is in them, and man renders
// them without a warning.
TEST_F(OperatorCliTest, ManPagesComeFromTheCommandTreeAndTheSettings) {
  auto render = [&](const std::string& page, const std::string& file) {
    WriteFileOrDie(tmp_.Sub(file), page);
    RunResult r =
        RunCommand({"env", "LC_ALL=C", "MANWIDTH=100", "man", "--warnings", "-l", tmp_.Sub(file)});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, Not(HasSubstr("warning"))) << r.output;
    return r.output;
  };
  RunResult cli = Cli({"man-page"});
  ASSERT_EQ(cli.exit_code, 0);
  std::string text = render(cli.output, "strata.1");
  for (const char* command : {"strata import", "strata pull", "strata mount", "strata rm",
                              "strata leases create", "strata system df", "strata prune"}) {
    EXPECT_THAT(text, HasSubstr(command)) << command;
  }
  EXPECT_THAT(text, HasSubstr("--force"));
  RunResult daemon = RunStratad({"--print-man-page"});
  ASSERT_EQ(daemon.exit_code, 0);
  text = render(daemon.output, "stratad.8");
  // Every flag of the settings table (the template names each).
  std::string tmpl = RunStratad({"--print-config-template"}).output;
  int flags = 0;
  for (size_t at = tmpl.find("(flag "); at != std::string::npos; at = tmpl.find("(flag ", at + 1)) {
    std::string flag = tmpl.substr(at + 6, tmpl.find_first_of(";)", at) - at - 6);
    EXPECT_THAT(text, HasSubstr(flag)) << flag;
    ++flags;
  }
  EXPECT_EQ(flags, 20);  // every setting (the table has 20)
}

// Every command's --help describes each of its arguments, positional ones too.
TEST_F(OperatorCliTest, HelpDescribesEveryArgument) {
  RunResult zsh = Cli({"completion", "zsh"});
  // The command paths, from the generated functions' names.
  std::vector<std::vector<std::string>> paths;
  for (absl::string_view line : absl::StrSplit(zsh.output, '\n')) {
    if (!absl::StartsWith(line, "_strata_") || !absl::EndsWith(line, "() {")) continue;
    std::string name(line.substr(8, line.size() - 8 - 4));
    if (name == "image_names") continue;
    paths.push_back(absl::StrSplit(name, '_'));
  }
  ASSERT_GT(paths.size(), 25u);
  for (std::vector<std::string> path : paths) {
    path.push_back("--help");
    RunResult r = Cli(path);
    std::string where = absl::StrJoin(path, " ");
    EXPECT_EQ(r.exit_code, 0) << where;
    // Each entry of the POSITIONALS and OPTIONS sections: "  NAME TYPE ..."
    // in the first 30 columns, its description after them (or, for a long
    // name, on the next line).
    std::vector<std::string> lines = absl::StrSplit(r.output, '\n');
    bool in_section = false;
    int entries = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      if (line == "Positionals:" || line == "Options:") in_section = true;
      if (!in_section || line.size() < 3 || line.substr(0, 2) != "  " || line[2] == ' ') continue;
      ++entries;
      bool described = line.size() > 30 && line.find_first_not_of(' ', 30) != std::string::npos;
      bool next_line = i + 1 < lines.size() && absl::StartsWith(lines[i + 1], std::string(30, ' '));
      EXPECT_TRUE(described || next_line) << where << ": " << line;
    }
    EXPECT_GT(entries, 0) << where;
  }
}

// Usage errors are one "strata: error:" line naming the bad option or
// value, exit 2; errors name the command that failed and say what is wrong.
TEST_F(OperatorCliTest, UsageErrorsNameWhatIsWrong) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"--bogus"}, "unknown option \"--bogus\""},
           {{"images", "--bogus"}, "unknown option \"--bogus\""},
           {{"pull", "busybox", "--platform", "foo"}, "\"foo\" is not os/arch"},
           {{"--socket", "", "images"}, "--socket"},
           {{"nosuchcommand"}, "unknown command \"nosuchcommand\""},
       }) {
    RunResult r = RunCommand([&] {
      std::vector<std::string> argv = {StrataCliPath()};
      argv.insert(argv.end(), c.args.begin(), c.args.end());
      return argv;
    }());
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(c.args, " ") << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("strata: error: ")) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(r.output, HasSubstr(c.says)) << absl::StrJoin(c.args, " ");
    EXPECT_EQ(Lines(r.output).size(), 1u) << r.output;
  }
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  RunResult r = Cli({"history", "nosuch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("history nosuch"));
  r = Cli({"tag", "busybox", "\xc3\xbcn\xc3\xaf:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("outside ASCII"));
  // Sizes as strata prints them are taken: the failure is the image's, not
  // the size's.
  std::string m = tmp_.Sub("m");
  ASSERT_OK(MakeDirs(m));
  r = Cli({"mount", "nosuch", m, "--rw", "k", "--size", "64MiB"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not found"));
  r = Cli({"mount", "nosuch", m, "--rw", "k", "--size", "64XB"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // squash of a one-layer image has nothing to merge.
  r = Cli({"squash", "busybox", "--name", "bb:flat"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("nothing to merge"));
}

// A container's data is never removed or shared by mistake: a mounted
// snapshot is not removed (unless --force, which unmounts it first), a
// writable one is not mounted at two places, nor committed while mounted;
// a view may be mounted many times.
TEST_F(OperatorCliTest, MountedSnapshotsAreNotRemovedNorMountedTwice) {
  ASSERT_EQ(Cli({"import", Busybox()}).exit_code, 0);
  std::string a = tmp_.Sub("a"), b = tmp_.Sub("b"), v1 = tmp_.Sub("v1"), v2 = tmp_.Sub("v2");
  for (const std::string& d : {a, b, v1, v2}) ASSERT_OK(MakeDirs(d));
  RunResult r = Cli({"mount", "busybox", a, "--rw", "work"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  WriteFileOrDie(a + "/keep.txt", "precious\n");

  r = Cli({"--json", "rm", "work"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.output, nullptr, false).value("code", ""), "FAILED_PRECONDITION");
  EXPECT_THAT(r.output, HasSubstr("mounted at " + a));
  EXPECT_EQ(ReadFileOrDie(a + "/keep.txt"), "precious\n");

  r = Cli({"mount", "busybox", b, "--rw", "work"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("mounted at " + a));
  EXPECT_FALSE(IsMountPoint(b));

  r = Cli({"commit", "work", "--name", "example.test/work:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("mounted at " + a));

  // Views: one image mounted read-only at two places, each its own snapshot.
  ASSERT_EQ(Cli({"mount", "busybox", v1}).exit_code, 0);
  ASSERT_EQ(Cli({"mount", "busybox", v2}).exit_code, 0);
  EXPECT_TRUE(PathExists(v2 + "/bin/busybox"));
  json views = Json({"snapshots", "--filter", "kind=view"});
  ASSERT_EQ(views.size(), 2u) << views.dump();
  std::string view_key = views[0].value("name", "");
  r = Cli({"rm", view_key});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("mounted at"));
  ASSERT_EQ(Cli({"unmount", v1}).exit_code, 0);
  ASSERT_EQ(Cli({"unmount", v2}).exit_code, 0);

  // Unmounted, the snapshot mounts elsewhere with its data, and --force
  // removes it mounted.
  ASSERT_EQ(Cli({"unmount", a}).exit_code, 0);
  r = Cli({"mount", "busybox", b, "--rw", "work"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFileOrDie(b + "/keep.txt"), "precious\n");
  r = Cli({"rm", "--force", "work"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(IsMountPoint(b));
  EXPECT_EQ(Json({"snapshots", "--filter", "kind=active"}).size(), 0u);
}

}  // namespace
}  // namespace strata::testing
