// References, auth challenges, credentials and hosts.toml: the registry
// client's configuration, before any byte goes over the network.
#include "absl/strings/escaping.h"
#include "common/fs.h"
#include "registry/auth_challenge.h"
#include "registry/credentials.h"
#include "registry/hosts_config.h"
#include "registry/image_ref.h"
#include "tests/test_util.h"

namespace strata::registry {
namespace {

using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;
using ::strata::testing::WriteFileOrDie;
using Code = absl::StatusCode;

const char kDigest[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ImageRefTest, NormalisesAsDockerDoes) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : std::vector<Case>{
           {"debian", "docker.io/library/debian:latest"},
           {"debian:12", "docker.io/library/debian:12"},
           {"user/app", "docker.io/user/app:latest"},
           {"index.docker.io/library/busybox", "docker.io/library/busybox:latest"},
           {"localhost/app", "localhost/app:latest"},
           {"localhost:5000/a/b:v1", "localhost:5000/a/b:v1"},
           {"registry.example/team/app:1.0", "registry.example/team/app:1.0"},
       }) {
    ASSERT_OK_AND_ASSIGN(ImageRef ref, ParseImageRef(c.in));
    EXPECT_EQ(ref.String(), c.out) << c.in;
  }
  ASSERT_OK_AND_ASSIGN(ImageRef pinned, ParseImageRef(std::string("host:5000/a/b@") + kDigest));
  EXPECT_EQ(pinned.domain, "host:5000");
  EXPECT_EQ(pinned.repository, "a/b");
  EXPECT_EQ(pinned.tag, "");
  EXPECT_EQ(pinned.Object(), kDigest);
  ASSERT_OK_AND_ASSIGN(ImageRef both, ParseImageRef(std::string("app:1@") + kDigest));
  EXPECT_EQ(both.String(), std::string("docker.io/library/app:1@") + kDigest);
  EXPECT_EQ(both.Object(), kDigest);  // the digest wins over the tag
}

TEST(ImageRefTest, RefusesWhatIsNotAReference) {
  for (std::string bad :
       {std::string(""), std::string("Debian"), std::string("a/../b"), std::string("app:"),
        std::string("app@"), std::string("app@sha256:abc"),
        std::string("app@md5:0123456789abcdef0123456789abcdef"), std::string("host:5000/UPPER/x"),
        std::string("a b"), std::string(300, 'a')}) {
    EXPECT_THAT(ParseImageRef(bad), StatusIs(Code::kInvalidArgument)) << bad;
  }
}

TEST(AuthChallengeTest, ReadsBearerAndBasicChallenges) {
  ASSERT_OK_AND_ASSIGN(
      auto challenges,
      ParseAuthChallenges("Bearer realm=\"https://auth.example/token\",service=\"registry."
                          "example\",scope=\"repository:a/b:pull,push\", Basic realm=\"x\\\"y\""));
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].params.at("realm"), "https://auth.example/token");
  EXPECT_EQ(challenges[0].params.at("service"), "registry.example");
  EXPECT_EQ(challenges[0].params.at("scope"), "repository:a/b:pull,push");
  EXPECT_EQ(challenges[1].scheme, "basic");
  EXPECT_EQ(challenges[1].params.at("realm"), "x\"y");
  ASSERT_OK_AND_ASSIGN(auto bare, ParseAuthChallenges("BASIC Realm=registry"));
  EXPECT_EQ(bare[0].scheme, "basic");
  EXPECT_EQ(bare[0].params.at("realm"), "registry");
  EXPECT_THAT(ParseAuthChallenges(""), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(ParseAuthChallenges("Bearer realm=\"unterminated"), StatusIs(Code::kInvalidArgument));
}

TEST(CredentialsTest, ReadsDockerConfigAuths) {
  std::string json = R"({"auths": {
      "https://index.docker.io/v1/": {"auth": ")" +
                     absl::Base64Escape("hub-user:hub:pass") + R"("},
      "localhost:5000": {"username": "u", "password": "p"},
      "https://token.example": {"identitytoken": "refresh"}
    }, "credsStore": "ignored"})";
  ASSERT_OK_AND_ASSIGN(Credentials creds, Credentials::Parse(json));
  ASSERT_TRUE(creds.For("docker.io").has_value());
  EXPECT_EQ(creds.For("docker.io")->username, "hub-user");
  EXPECT_EQ(creds.For("docker.io")->password, "hub:pass");  // only the first ':' splits
  EXPECT_EQ(creds.For("localhost:5000")->password, "p");
  EXPECT_EQ(creds.For("token.example")->identity_token, "refresh");
  EXPECT_FALSE(creds.For("other.example").has_value());
  EXPECT_THAT(Credentials::Parse("{\"auths\": {\"h\": {\"auth\": \"!!\"}}}"),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(Credentials::Parse("not json"), StatusIs(Code::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(Credentials none, Credentials::Load("/nonexistent/config.json"));
  EXPECT_FALSE(none.For("docker.io").has_value());
}

TEST(HostsConfigTest, WithoutConfigurationTheUpstreamIsTheHostItself) {
  ASSERT_OK_AND_ASSIGN(auto hub, ResolveEndpoints("", "docker.io"));
  ASSERT_EQ(hub.size(), 1u);
  EXPECT_EQ(hub[0].BaseUrl(), "https://registry-1.docker.io/v2");
  ASSERT_OK_AND_ASSIGN(auto local, ResolveEndpoints("/nonexistent", "localhost:5000"));
  EXPECT_EQ(local[0].BaseUrl(), "https://localhost:5000/v2");
  EXPECT_TRUE(local[0].http_fallback);
  EXPECT_TRUE(local[0].Can(kPush));
  ASSERT_OK_AND_ASSIGN(auto other, ResolveEndpoints("", "registry.example:443"));
  EXPECT_EQ(other[0].BaseUrl(), "https://registry.example:443/v2");
}

TEST(HostsConfigTest, MirrorsComeFirstInFileOrderAndTheServerLast) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("certs.d/registry.example"), 0755));
  WriteFileOrDie(t.Sub("certs.d/registry.example/hosts.toml"), R"(
server = "https://registry.example"
ca = "/etc/ca/upstream.crt"

[host."https://zz-mirror.example"]
  capabilities = ["pull", "resolve"]
  ca = ["mirror.crt", "/abs/other.crt"]
  [host."https://zz-mirror.example".header]
    x-one = "1"
    x-many = ["a", "b"]

[host."http://aa-mirror.example:8080/prefix"]
  capabilities = ["pull"]
  skip_verify = true
  override_path = true
)");
  ASSERT_OK_AND_ASSIGN(auto endpoints, ResolveEndpoints(t.Sub("certs.d"), "registry.example"));
  ASSERT_EQ(endpoints.size(), 3u);
  const Endpoint& first = endpoints[0];  // first in the file, though it sorts last
  EXPECT_EQ(first.BaseUrl(), "https://zz-mirror.example/v2");
  EXPECT_TRUE(first.Can(kResolve));
  EXPECT_FALSE(first.Can(kPush));
  EXPECT_EQ(first.ca_files, (std::vector<std::string>{t.Sub("certs.d/registry.example/mirror.crt"),
                                                      "/abs/other.crt"}));
  EXPECT_EQ(first.headers.size(), 3u);
  const Endpoint& second = endpoints[1];
  EXPECT_EQ(second.BaseUrl(), "http://aa-mirror.example:8080/prefix");
  EXPECT_TRUE(second.skip_verify);
  EXPECT_FALSE(second.Can(kResolve));
  const Endpoint& server = endpoints[2];
  EXPECT_EQ(server.BaseUrl(), "https://registry.example/v2");
  EXPECT_EQ(server.ca_files, std::vector<std::string>{"/etc/ca/upstream.crt"});
  EXPECT_EQ(server.capabilities, kPull | kResolve | kPush);
}

TEST(HostsConfigTest, DefaultDirectoryAndBadFiles) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("certs.d/_default"), 0755));
  ASSERT_OK(MakeDirs(t.Sub("certs.d/broken.example"), 0755));
  WriteFileOrDie(t.Sub("certs.d/_default/hosts.toml"),
                 "[host.\"https://mirror.example\"]\ncapabilities = [\"pull\"]\n");
  ASSERT_OK_AND_ASSIGN(auto endpoints, ResolveEndpoints(t.Sub("certs.d"), "any.example"));
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].BaseUrl(), "https://mirror.example/v2");
  EXPECT_EQ(endpoints[1].BaseUrl(), "https://any.example/v2");  // no server: the host itself

  for (const char* bad : {"server = ", "capabilities = [\"fly\"]", "skip_verify = \"yes\"",
                          "[host.\"ftp://x\"]\n", "host = 3"}) {
    EXPECT_THAT(ParseHostsToml(bad, "h.example", "/"), StatusIs(Code::kInvalidArgument)) << bad;
  }
  WriteFileOrDie(t.Sub("certs.d/broken.example/hosts.toml"), "server = [");
  absl::StatusOr<std::vector<Endpoint>> broken =
      ResolveEndpoints(t.Sub("certs.d"), "broken.example");
  EXPECT_THAT(broken, StatusIs(Code::kInvalidArgument));
  EXPECT_NE(broken.status().message().find("broken.example/hosts.toml"), std::string::npos);
}

}  // namespace
}  // namespace strata::registry
