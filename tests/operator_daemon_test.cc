// stratad as an operator runs it: settings from a config file under flags,
// readiness told to systemd's notify socket only once the socket serves,
// SIGHUP reloads, and the Prometheus endpoint scraped during a workload with
// each family checked against the calls made.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/fs.h"
#include "common/unique_fd.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string Busybox() { return SharedImagesDir() + "/prebuilt/busybox.oci.tar"; }

// Waits up to 10 s for `needle` in the file at `path`.
bool WaitForText(const std::string& path, const std::string& needle) {
  for (int i = 0; i < 200; ++i) {
    if (absl::StrContains(ReadFileOrDie(path), needle)) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

// "name{labels} value" lines of a scrape, by "name{labels}".
std::map<std::string, double> Scrape(int port) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  std::map<std::string, double> out;
  if (!res || res->status != 200) {
    ADD_FAILURE() << "scrape failed";
    return out;
  }
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    double v = 0;
    if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &v)) {
      out[std::string(line.substr(0, space))] = v;
    }
  }
  out["#body-bytes"] = static_cast<double>(res->body.size());
  return out;
}

std::string TypeLine(int port, const std::string& family) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  if (!res) return "";
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (absl::StartsWith(line, absl::StrCat("# TYPE ", family, " "))) return std::string(line);
  }
  return "";
}

int MetricsPort(const StratadProcess& d) {
  std::string log = ReadFileOrDie(d.log_path());
  size_t at = log.find("msg=\"serving metrics\"");
  if (at == std::string::npos) return 0;
  size_t port = log.find("port=", at);
  return std::atoi(log.c_str() + port + 5);
}

class OperatorDaemonTest : public ::testing::Test {
 protected:
  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }
  TempDir tmp_;
};

TEST_F(OperatorDaemonTest, ConfigFileUnderFlags) {
  const std::string config = tmp_.Sub("config.toml");
  WriteFileOrDie(config, absl::StrCat("root = \"", tmp_.Sub("from-file"),
                                      "\"\nsocket = \"/nonexistent/from-file.sock\"\n"
                                      "[gc]\ninterval = \"45m\"\n"));
  RunResult r = RunStratad({"--config", config, "--socket", tmp_.Sub("s.sock"), "--print-config"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("root = '", tmp_.Sub("from-file"), "'")));
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("socket = '", tmp_.Sub("s.sock"), "'")));
  EXPECT_THAT(r.output, HasSubstr("interval = '45m'"));
  // The printed configuration is itself a config file that starts the same daemon.
  WriteFileOrDie(tmp_.Sub("printed.toml"), r.output);
  RunResult again = RunStratad({"--config", tmp_.Sub("printed.toml"), "--print-config"});
  EXPECT_EQ(again.output, r.output);

  // A running daemon: the flags' root and socket, the file's metrics address.
  WriteFileOrDie(config, absl::StrCat("root = \"", tmp_.Sub("from-file"),
                                      "\"\nmetrics_listen = \"127.0.0.1:0\"\n"));
  ASSERT_OK_AND_ASSIGN(
      auto d, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"), {"--config", config}));
  json info = json::parse(Cli({"--json", "info"}).output, nullptr, false);
  EXPECT_EQ(info.value("root", ""), tmp_.Sub("root"));
  EXPECT_EQ(info.value("config_file", ""), config);
  EXPECT_EQ(info.value("socket", ""), tmp_.Sub("s.sock"));
  EXPECT_EQ(info.value("metrics_listen", ""), "127.0.0.1:0");
  EXPECT_GT(MetricsPort(*d), 0);
  EXPECT_FALSE(PathExists(tmp_.Sub("from-file")));
}

TEST_F(OperatorDaemonTest, BadConfigStopsTheStartWithOneLine) {
  WriteFileOrDie(tmp_.Sub("bad.toml"), "root = \"/x\"\n[gc]\nintervall = \"1h\"\n");
  RunResult r = RunStratad({"--config", tmp_.Sub("bad.toml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, absl::StrCat("stratad: error: ", tmp_.Sub("bad.toml"),
                                   ":3: unknown key \"gc.intervall\"\n"));
  WriteFileOrDie(tmp_.Sub("bad.toml"), "root = \"/x\"\n[registry]\nlisten = 5000\n");
  r = RunStratad({"--config", tmp_.Sub("bad.toml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr(":3: registry.listen: expects a string"));
  r = RunStratad({"--config", tmp_.Sub("missing.toml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("config file"));
  EXPECT_FALSE(PathExists("/x"));
}

// systemd's notify protocol: a datagram socket the test binds, as systemd does.
TEST_F(OperatorDaemonTest, ReadyIsNotifiedOnlyOnceTheSocketServes) {
  const std::string notify = tmp_.Sub("notify");
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", notify.c_str());
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto receive = [&fd]() -> std::string {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 20000) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  };
  ::setenv("NOTIFY_SOCKET", notify.c_str(), 1);
  pid_t pid = Spawn({StratadPath(), "--root", tmp_.Sub("root"), "--socket", tmp_.Sub("s.sock")},
                    tmp_.Sub("log"));
  ::unsetenv("NOTIFY_SOCKET");
  std::string ready = receive();
  EXPECT_THAT(ready, HasSubstr("READY=1"));
  // Told ready: the very next call is served.
  RunResult r = Cli({"info"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ::kill(pid, SIGHUP);
  EXPECT_EQ(receive(), "RELOADING=1");
  EXPECT_THAT(receive(), HasSubstr("READY=1"));
  ::kill(pid, SIGTERM);
  EXPECT_EQ(receive(), "STOPPING=1");
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(OperatorDaemonTest, SighupAppliesWhatCanChangeAndKeepsTheRest) {
  const std::string config = tmp_.Sub("config.toml");
  WriteFileOrDie(config, "log_level = \"info\"\n");
  ASSERT_OK_AND_ASSIGN(
      auto d, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                    {"--config", config, "--metrics-listen", "127.0.0.1:0"}));
  int port = MetricsPort(*d);
  ASSERT_GT(port, 0);
  EXPECT_EQ(Scrape(port)["strata_gc_runs_total"], 0);
  // A timer GC, debug logging, a root the --root flag overrides anyway, and
  // an unpack_jobs change (which needs a restart).
  WriteFileOrDie(config, absl::StrCat("log_level = \"debug\"\nunpack_jobs = 7\nroot = \"",
                                      tmp_.Sub("other"), "\"\n[gc]\ninterval = \"1s\"\n"));
  ASSERT_EQ(::kill(d->pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitForText(d->log_path(), "msg=reloaded"));
  EXPECT_THAT(ReadFileOrDie(d->log_path()), HasSubstr("change only at restart\" keys=unpack_jobs"));
  bool collected = false;
  for (int i = 0; i < 100 && !collected; ++i) {
    collected = Scrape(port)["strata_gc_runs_total"] >= 1;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(collected) << "the reloaded gc.interval never ran a collection";
  json info = json::parse(Cli({"--json", "info"}).output, nullptr, false);
  EXPECT_EQ(info.value("root", ""), tmp_.Sub("root"));
  // A config that no longer parses: logged, and the daemon serves as before.
  WriteFileOrDie(config, "log_level = \n");
  ASSERT_EQ(::kill(d->pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitForText(d->log_path(), "reload failed"));
  EXPECT_EQ(Cli({"images"}).exit_code, 0);
}

TEST_F(OperatorDaemonTest, MetricsCountTheCallsMade) {
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                                     {"--metrics-listen", "127.0.0.1:0"}));
  int port = MetricsPort(*d);
  ASSERT_GT(port, 0);
  ASSERT_EQ(Cli({"import", Busybox(), "--name", "a/busybox:1"}).exit_code, 0);
  ASSERT_EQ(Cli({"import", Busybox(), "--name", "a/busybox:2"}).exit_code, 0);
  EXPECT_EQ(Cli({"rmi", "no/such:image"}).exit_code, 1);
  ASSERT_OK(MakeDirs(tmp_.Sub("mnt")));
  ASSERT_EQ(Cli({"mount", "a/busybox:1", tmp_.Sub("mnt"), "--rw", "c1"}).exit_code, 0);
  WriteFileOrDie(tmp_.Sub("mnt/grown"), std::string(1 << 20, 'x'));
  ASSERT_EQ(Cli({"unmount", tmp_.Sub("mnt")}).exit_code, 0);
  ASSERT_EQ(Cli({"rmi", "a/busybox:2"}).exit_code, 0);
  ASSERT_EQ(Cli({"gc"}).exit_code, 0);

  std::map<std::string, double> m = Scrape(port);
  const std::string ok = "{code=\"OK\",method=\"/strata.v1.Images/";
  EXPECT_EQ(m["strata_grpc_requests_total{code=\"NOT_FOUND\",method=\"/strata.v1.Images/Delete\"}"],
            1);
  EXPECT_EQ(m["strata_grpc_requests_total" + ok + "Delete\"}"], 1);
  EXPECT_EQ(m["strata_grpc_requests_total" + ok + "Import\"}"], 2);
  EXPECT_EQ(m["strata_grpc_request_duration_seconds_count" + ok + "Import\"}"], 2);
  EXPECT_GT(m["strata_grpc_request_duration_seconds_sum" + ok + "Import\"}"], 0);
  EXPECT_EQ(TypeLine(port, "strata_grpc_request_duration_seconds"),
            "# TYPE strata_grpc_request_duration_seconds histogram");
  // Busybox is one layer: unpacked once, imported (as part of an image) twice.
  EXPECT_EQ(m["strata_imports_total"], 2);
  EXPECT_EQ(m["strata_imported_layers_total"], 2);
  EXPECT_EQ(m["strata_layers_unpacked_total"], 1);
  EXPECT_EQ(m["strata_imported_bytes_total"],
            2.0 * static_cast<double>(ReadFileOrDie(Busybox()).size()));
  EXPECT_GT(m["strata_inflate_bytes_total"], m["strata_unpack_blob_bytes_total"]);
  EXPECT_GT(m["strata_unpack_seconds_total"], 0);
  EXPECT_EQ(m["strata_gc_runs_total"], 1);
  EXPECT_EQ(m["strata_gc_duration_seconds_count"], 1);
  EXPECT_EQ(m["strata_gc_duration_seconds_bucket{le=\"+Inf\"}"], 1);
  EXPECT_EQ(m["strata_pulls_total"], 0);
  EXPECT_EQ(m["strata_pushes_total"], 0);
  // What the store holds, against the CLI's listings.
  EXPECT_EQ(m["strata_images"], 1);
  EXPECT_EQ(m["strata_snapshots{kind=\"active\"}"], 1);
  EXPECT_EQ(m["strata_snapshots{kind=\"committed\"}"], 1);
  json blobs = json::parse(Cli({"--json", "blobs"}).output, nullptr, false);
  double blob_bytes = 0;
  for (const json& b : blobs) blob_bytes += b.value("size", 0.0);
  EXPECT_EQ(m["strata_blobs"], static_cast<double>(blobs.size()));
  EXPECT_EQ(m["strata_held_bytes{what=\"blobs\"}"], blob_bytes);
  EXPECT_GE(m["strata_held_bytes{what=\"writable\"}"], 1 << 20);
  EXPECT_GT(m["strata_held_bytes{what=\"metadata\"}"], 0);
  EXPECT_GT(m["strata_held_bytes{what=\"layers\"}"], 0);
  EXPECT_EQ(m["strata_leases"], 0);
  EXPECT_EQ(m["strata_ingests"], 0);
}

// Pushes counted by the pushing daemon, pulls (and the bytes fetched) by the
// pulling one, against a real registry.
TEST_F(OperatorDaemonTest, MetricsCountPushesAndPulls) {
  ASSERT_OK_AND_ASSIGN(auto registry, RegistryProcess::Start(tmp_.Sub("registry")));
  ASSERT_OK_AND_ASSIGN(auto a, StratadProcess::Start(tmp_.Sub("a"), tmp_.Sub("a.sock"),
                                                     {"--metrics-listen", "127.0.0.1:0"}));
  ASSERT_OK_AND_ASSIGN(auto b, StratadProcess::Start(tmp_.Sub("b"), tmp_.Sub("b.sock"),
                                                     {"--metrics-listen", "127.0.0.1:0"}));
  const std::string ref = registry->host() + "/ops/busybox:1";
  ASSERT_EQ(RunStrataCli(tmp_.Sub("a.sock"), {"import", Busybox()}).exit_code, 0);
  RunResult r = RunStrataCli(tmp_.Sub("a.sock"), {"--json", "push", "busybox", ref});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json pushed = json::parse(r.output, nullptr, false);
  r = RunStrataCli(tmp_.Sub("b.sock"), {"--json", "pull", ref});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json pulled = json::parse(r.output, nullptr, false);

  std::map<std::string, double> ma = Scrape(MetricsPort(*a));
  EXPECT_EQ(ma["strata_pushes_total"], 1);
  EXPECT_EQ(ma["strata_pushed_blobs_total{how=\"uploaded\"}"], pushed.value("blobs_uploaded", -1));
  EXPECT_EQ(ma["strata_pushed_blobs_total{how=\"present\"}"], pushed.value("blobs_present", -1));
  EXPECT_GT(ma["strata_pushed_bytes_total"], 1e6);  // busybox's layer went
  EXPECT_EQ(ma["strata_pulls_total"], 0);
  std::map<std::string, double> mb = Scrape(MetricsPort(*b));
  EXPECT_EQ(mb["strata_pulls_total"], 1);
  EXPECT_EQ(mb["strata_pulled_layers_total"], 1);
  int64_t layer_bytes = 0;
  for (const json& l : pulled["layers"]) layer_bytes += l.value("size", int64_t{0});
  EXPECT_EQ(mb["strata_pulled_bytes_total"], static_cast<double>(layer_bytes));
  EXPECT_EQ(mb["strata_layers_unpacked_total"], 1);
  EXPECT_EQ(mb["strata_pushes_total"], 0);
  EXPECT_EQ(mb["strata_grpc_requests_total{code=\"OK\",method=\"/strata.v1.Images/Pull\"}"], 1);
  // Pulled again with its blobs still stored: nothing crosses the wire, and
  // nothing is counted as fetched.
  ASSERT_EQ(RunStrataCli(tmp_.Sub("b.sock"), {"rmi", ref}).exit_code, 0);
  r = RunStrataCli(tmp_.Sub("b.sock"), {"pull", ref});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  mb = Scrape(MetricsPort(*b));
  EXPECT_EQ(mb["strata_pulls_total"], 2);
  EXPECT_EQ(mb["strata_pulled_bytes_total"], static_cast<double>(layer_bytes));
}

TEST_F(OperatorDaemonTest, MetricsAddressInUseStopsTheStart) {
  ASSERT_OK_AND_ASSIGN(auto d, StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"),
                                                     {"--metrics-listen", "127.0.0.1:0"}));
  std::string taken = absl::StrCat("127.0.0.1:", MetricsPort(*d));
  RunResult r = RunStratad(
      {"--root", tmp_.Sub("root2"), "--socket", tmp_.Sub("s2.sock"), "--metrics-listen", taken});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("metrics_listen (--metrics-listen): cannot listen on " + taken));
  EXPECT_FALSE(PathExists(tmp_.Sub("s2.sock")));
  EXPECT_FALSE(PathExists(tmp_.Sub("root2")));  // found before anything was made
}

// Every bad start is one "stratad: error:" line naming the setting, exit 2
// for what the command line or config file says, and leaves no root behind.
TEST_F(OperatorDaemonTest, BadSettingsAreOneLineAndCreateNothing) {
  auto start = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--root", tmp_.Sub("root"), "--socket", tmp_.Sub("s.sock")});
    return RunStratad(args);
  };
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  ASSERT_OK(MakeDirs(tmp_.Sub("a-dir")));
  for (const Case& c : std::vector<Case>{
           {{"--bogus-flag"}, "--bogus-flag"},
           {{"--registry-listen", "127.0.0.1:99999"}, "127.0.0.1:99999"},
           {{"--metrics-listen", "nonsense"}, "nonsense"},
           {{"--registry-auth", tmp_.Sub("missing.json")}, "registry.auth"},
           {{"--registry-auth", tmp_.Sub("a-dir")}, "is not a file"},
           {{"--socket-group", "no-such-group-here"}, "socket_group"},
       }) {
    RunResult r = start(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("stratad: error: ")) << c.args[0];
    EXPECT_THAT(r.output, HasSubstr(c.says)) << c.args[0];
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(PathExists(tmp_.Sub("root"))) << c.args[0];
  }
}

}  // namespace
}  // namespace strata::testing
