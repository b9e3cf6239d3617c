#include "daemon/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/setting_flags.h"
#include "tests/test_util.h"

namespace strata::daemon {
namespace {

using ::strata::testing::StatusIs;
using ::testing::HasSubstr;

DaemonOptions FromText(const std::string& text) {
  DaemonOptions o;
  absl::Status s = ApplyConfigText(text, "config.toml", &o);
  EXPECT_TRUE(s.ok()) << s;
  return o;
}

std::string ErrorOf(const std::string& text) {
  DaemonOptions o;
  absl::Status s = ApplyConfigText(text, "config.toml", &o);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  return std::string(s.message());
}

TEST(ConfigTest, EveryKindOfSettingIsRead) {
  DaemonOptions o = FromText(R"(
root = "/srv/strata"
socket_mode = "0600"
import_dirs = ["/a", "/b"]
unpack_jobs = 3
log_level = "debug"
[gc]
interval = "30m"
after_deletions = true
ingest_max_age = "2h"
[registry]
auth = "/etc/docker/config.json"
max_concurrent_downloads = 8
)");
  EXPECT_EQ(o.root, "/srv/strata");
  EXPECT_EQ(o.socket_mode, 0600u);
  EXPECT_THAT(o.import_dirs, ::testing::ElementsAre("/a", "/b"));
  EXPECT_EQ(o.unpack_jobs, 3);
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.gc_interval, absl::Minutes(30));
  EXPECT_TRUE(o.gc_after_deletions);
  EXPECT_EQ(o.ingest_max_age, absl::Hours(2));
  EXPECT_EQ(o.registry_auth, "/etc/docker/config.json");
  EXPECT_EQ(o.max_concurrent_downloads, 8);
  // What is not in the file keeps its default.
  EXPECT_EQ(o.socket, DaemonOptions().socket);
}

TEST(ConfigTest, ErrorsNameTheLineAndTheKey) {
  EXPECT_EQ(ErrorOf("root = \"/x\"\n[gc]\nintervall = \"1h\"\n"),
            "config.toml:3: unknown key \"gc.intervall\"");
  EXPECT_EQ(ErrorOf("[nosuch]\nx = 1\n"), "config.toml:1: unknown key \"nosuch\"");
  EXPECT_EQ(ErrorOf("[gc]\ninterval = \"5x\"\n"),
            "config.toml:2: gc.interval: \"5x\" is not a duration (like 90s, 30m or 6h)");
  EXPECT_EQ(ErrorOf("unpack_jobs = \"4\"\n"), "config.toml:1: unpack_jobs: expects an integer");
  EXPECT_EQ(ErrorOf("[registry]\nmax_concurrent_downloads = 0\n"),
            "config.toml:2: registry.max_concurrent_downloads: 0 is out of range (1 to 64)");
  EXPECT_EQ(ErrorOf("log_level = \"loud\"\n"),
            "config.toml:1: log_level: \"loud\" is not one of debug, info, warn, error");
  EXPECT_EQ(ErrorOf("metrics_listen = \"9100\"\n"),
            "config.toml:1: metrics_listen: \"9100\" is not host:port (a port from 0 to 65535)");
  EXPECT_EQ(ErrorOf("metrics_listen = \"127.0.0.1:99999\"\n"),
            "config.toml:1: metrics_listen: \"127.0.0.1:99999\" is not host:port (a port from 0 "
            "to 65535)");
  // Text that is not TOML: the line, and the key it was setting.
  EXPECT_THAT(ErrorOf("root = \"/x\"\n[gc]\ninterval = 30m\n"),
              HasSubstr("config.toml:3: gc.interval: "));
  EXPECT_THAT(ErrorOf("root = /x\n"), HasSubstr("config.toml:1: root: "));
  // A setting's table used as a value.
  EXPECT_THAT(ErrorOf("gc = 3\n"), HasSubstr("config.toml:1: unknown key \"gc\""));
}

TEST(ConfigTest, MissingFileIsAnError) {
  DaemonOptions o;
  EXPECT_THAT(ApplyConfigFile("/nonexistent/strata.toml", &o),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ConfigTest, PrintedConfigReadsBackTheSame) {
  DaemonOptions o = FromText("root = \"/r\"\nimport_dirs = [\"/i\"]\n[gc]\ninterval = \"90s\"\n");
  o.socket_group = "strata";
  DaemonOptions again = FromText(FormatConfig(o));
  EXPECT_TRUE(ChangedKeys(o, again).empty()) << FormatConfig(o) << FormatConfig(again);
  EXPECT_THAT(FormatConfig(o), HasSubstr("interval = '1m30s'"));
  // Every setting appears.
  for (const Setting& s : Settings()) {
    std::string key = s.key;
    EXPECT_THAT(FormatConfig(o), HasSubstr(key.substr(key.find('.') + 1) + " = ")) << key;
  }
}

TEST(ConfigTest, FlagsGivenOverrideTheFileAndOthersDoNot) {
  CLI::App app;
  SettingFlags flags(&app);
  std::vector<std::string> args = {"--import-dir",
                                   "/flag",
                                   "--gc-interval",
                                   "1h",
                                   "--root",
                                   "/from-flag",
                                   "--gc-after-deletions=false"};
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  app.parse(args);
  DaemonOptions o = FromText(
      "root = \"/from-file\"\nunpack_jobs = 2\n[gc]\ninterval = \"5m\"\nafter_deletions = true\n");
  ASSERT_OK(flags.Apply(&o));
  EXPECT_FALSE(o.gc_after_deletions);  // a flag turns off what the file turned on
  EXPECT_EQ(o.root, "/from-flag");
  EXPECT_EQ(o.gc_interval, absl::Hours(1));
  EXPECT_THAT(o.import_dirs, ::testing::ElementsAre("/flag"));
  EXPECT_EQ(o.unpack_jobs, 2);  // from the file: no flag given
}

TEST(ConfigTest, BadFlagValuesNameTheFlag) {
  CLI::App app;
  SettingFlags flags(&app);
  std::vector<std::string> args = {"x", "--unpack-jobs"};
  app.parse(args);
  DaemonOptions o;
  absl::Status s = flags.Apply(&o);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(s.message(), "--unpack-jobs: \"x\" is not an integer");
}

TEST(ConfigTest, ChangedKeysAndReloadability) {
  DaemonOptions a;
  DaemonOptions b = FromText("root = \"/elsewhere\"\n[gc]\ninterval = \"1h\"\n");
  EXPECT_THAT(ChangedKeys(a, b), ::testing::ElementsAre("root", "gc.interval"));
  EXPECT_FALSE(FindSetting("root")->reloadable);
  EXPECT_TRUE(FindSetting("gc.interval")->reloadable);
  EXPECT_TRUE(FindSetting("registry.auth")->reloadable);
  EXPECT_TRUE(FindSetting("log_level")->reloadable);
  EXPECT_EQ(FindSetting("no.such"), nullptr);
}

}  // namespace
}  // namespace strata::daemon
