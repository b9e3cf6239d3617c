// Registries that want proof: TLS verified against a CA the test makes with
// openssl, htpasswd Basic auth, and token auth through a token server of the
// test's own; credentials from a Docker config.json.
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/fs.h"
#include "tests/registry_process.h"
#include "tests/stratad_process.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tests/token_server.h"
#include "tests/tree_expect.h"

namespace strata::testing {
namespace {

using ::testing::HasSubstr;

class RegistryAuthTest : public ::testing::Test {
 protected:
  void StartDaemon(std::vector<std::string> extra = {}) {
    daemon_.reset();
    extra.insert(extra.begin(), {"--registry-hosts", tmp_.Sub("certs.d")});
    ASSERT_OK_AND_ASSIGN(daemon_,
                         StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("s.sock"), extra));
  }
  RunResult Cli(std::vector<std::string> args) { return RunStrataCli(tmp_.Sub("s.sock"), args); }
  std::string Ref(const std::string& repo_tag) { return registry_->host() + "/" + repo_tag; }
  void WriteHosts(const std::string& toml) {
    ASSERT_OK(MakeDirs(tmp_.Sub("certs.d/" + registry_->host())));
    WriteFileOrDie(tmp_.Sub("certs.d/" + registry_->host() + "/hosts.toml"), toml);
  }
  // A Docker config.json naming the registry.
  std::string Credentials(const std::string& user, const std::string& password) {
    std::string path = tmp_.Sub("config-" + user + "-" + password + ".json");
    nlohmann::json j = {
        {"auths", {{registry_->host(), {{"auth", absl::Base64Escape(user + ":" + password)}}}}}};
    WriteFileOrDie(path, j.dump());
    return path;
  }
  std::string Busybox() { return SharedImagesDir() + "/prebuilt/busybox.oci.tar"; }
  // A registry that wants Basic auth (alice:s3cret), holding busybox.
  void StartBasicAuthRegistryWithBusybox() {
    char salt_buf[CRYPT_GENSALT_OUTPUT_SIZE];
    ASSERT_NE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt_buf, sizeof(salt_buf)), nullptr);
    crypt_data data{};
    const char* hash = crypt_r("s3cret", salt_buf, &data);
    ASSERT_NE(hash, nullptr);
    WriteFileOrDie(tmp_.Sub("htpasswd"), absl::StrCat("alice:", hash, "\n"));
    RegistryProcess::Options o;
    o.htpasswd = tmp_.Sub("htpasswd");
    o.push_credentials = "alice:s3cret";
    ASSERT_OK_AND_ASSIGN(registry_, RegistryProcess::Start(tmp_.Sub("registry"), o));
    ASSERT_OK(registry_->PushOciArchive(Busybox(), "library/busybox:latest"));
  }

  TempDir tmp_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StratadProcess> daemon_;
};

TEST_F(RegistryAuthTest, TlsIsVerifiedAgainstTheConfiguredCa) {
  const std::string d = tmp_.Sub("tls");
  ASSERT_OK(MakeDirs(d));
  for (std::vector<std::string> argv : std::vector<std::vector<std::string>>{
           {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key",
            "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=strata-test-ca"},
           {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/server.key", "-out",
            d + "/server.csr", "-subj", "/CN=127.0.0.1"},
       }) {
    RunResult r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  WriteFileOrDie(d + "/ext", "subjectAltName=IP:127.0.0.1\n");
  RunResult r = RunCommand({"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA",
                            d + "/ca.crt", "-CAkey", d + "/ca.key", "-CAcreateserial", "-out",
                            d + "/server.crt", "-days", "2", "-extfile", d + "/ext"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  RegistryProcess::Options o;
  o.tls_cert = d + "/server.crt";
  o.tls_key = d + "/server.key";
  ASSERT_OK_AND_ASSIGN(registry_, RegistryProcess::Start(tmp_.Sub("registry"), o));
  ASSERT_OK(registry_->PushOciArchive(Busybox(), "library/busybox:latest"));
  StartDaemon();

  // No hosts.toml: 127.0.0.1 is tried over TLS first (plain HTTP only if it
  // does not answer TLS), and this certificate is not trusted.
  r = Cli({"--json", "pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("FAILED_PRECONDITION"));
  // HTTPS without the CA: refused, and nothing kept.
  WriteHosts(absl::StrCat("server = \"https://", registry_->host(), "\"\n"));
  r = Cli({"--json", "pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(r.output, HasSubstr("certificate"));
  // With the CA: pulled.
  WriteHosts(
      absl::StrCat("server = \"https://", registry_->host(), "\"\nca = \"", d, "/ca.crt\"\n"));
  r = Cli({"pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // skip_verify, as a host configured so: pulled (and pushed) without the CA.
  WriteHosts(absl::StrCat("server = \"https://", registry_->host(), "\"\nskip_verify = true\n"));
  r = Cli({"push", Ref("library/busybox:latest"), Ref("copy/busybox:1")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(RegistryAuthTest, BasicAuthTakesConfigJsonCredentials) {
  ASSERT_NO_FATAL_FAILURE(StartBasicAuthRegistryWithBusybox());

  StartDaemon();  // anonymous
  RunResult r = Cli({"--json", "pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
  StartDaemon({"--registry-auth", Credentials("alice", "wrong")});
  r = Cli({"--json", "pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
  StartDaemon({"--registry-auth", Credentials("alice", "s3cret")});
  r = Cli({"pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = Cli({"push", Ref("library/busybox:latest"), Ref("alice/busybox:1")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// SIGHUP re-reads the credentials file, even at the same path.
TEST_F(RegistryAuthTest, CredentialsAreReReadOnSighup) {
  ASSERT_NO_FATAL_FAILURE(StartBasicAuthRegistryWithBusybox());
  const std::string auth = tmp_.Sub("docker-config.json");
  WriteFileOrDie(auth, ReadFileOrDie(Credentials("alice", "wrong")));
  StartDaemon({"--registry-auth", auth});
  RunResult r = Cli({"--json", "pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));

  WriteFileOrDie(auth, ReadFileOrDie(Credentials("alice", "s3cret")));
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  for (int i = 0; i < 100 && !absl::StrContains(ReadFileOrDie(daemon_->log_path()), "reloaded");
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  r = Cli({"pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(RegistryAuthTest, TokenAuthAnonymousPullsAndCredentialedPushes) {
  TokenServer::Options t;
  t.dir = tmp_.path();
  t.service = "strata-test-registry";
  t.issuer = "strata-test-issuer";
  t.user = "bob";
  t.password = "hunter2";
  ASSERT_OK_AND_ASSIGN(auto tokens, TokenServer::Start(t));
  RegistryProcess::Options o;
  o.token_realm = tokens->realm();
  o.token_service = t.service;
  o.token_issuer = t.issuer;
  o.token_certs = tokens->cert_path();
  o.push_credentials = "bob:hunter2";
  ASSERT_OK_AND_ASSIGN(registry_, RegistryProcess::Start(tmp_.Sub("registry"), o));
  ASSERT_OK(registry_->PushOciArchive(Busybox(), "library/busybox:latest"));

  StartDaemon();  // anonymous: a pull token, no push
  RunResult r = Cli({"pull", Ref("library/busybox:latest")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = Cli({"--json", "push", Ref("library/busybox:latest"), Ref("bob/busybox:1")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
  StartDaemon({"--registry-auth", Credentials("bob", "nope")});
  r = Cli({"--json", "push", Ref("library/busybox:latest"), Ref("bob/busybox:1")});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
  EXPECT_GE(tokens->refused(), 1);
  StartDaemon({"--registry-auth", Credentials("bob", "hunter2")});
  r = Cli({"push", Ref("library/busybox:latest"), Ref("bob/busybox:1")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(tokens->tokens_issued(), 3);
}

}  // namespace
}  // namespace strata::testing
