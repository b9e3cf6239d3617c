#include "tests/registry_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace strata::testing {

absl::StatusOr<int> FreeLoopbackPort() {
  // Ports from 10000 up to the first ephemeral one (32768 by default).
  int first_ephemeral = 32768;
  absl::StatusOr<std::string> range = ReadFile("/proc/sys/net/ipv4/ip_local_port_range");
  if (range.ok()) {
    std::vector<std::string> parts =
        absl::StrSplit(*range, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
    int low = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &low) && low > 11000) first_ephemeral = low;
  }
  static std::atomic<uint64_t> calls{0};
  std::mt19937 random(static_cast<uint32_t>(::getpid() * 7919 + absl::ToUnixNanos(absl::Now()) +
                                            calls.fetch_add(1)));
  std::uniform_int_distribution<int> pick(10000, first_ephemeral - 1);
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = pick(random);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (free) return port;
  }
  return absl::InternalError("no free loopback port below the ephemeral range");
}

namespace {

bool Answers(const std::string& address, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// The TLS and auth parts of the configuration, below `http.addr`.
std::string Extras(const RegistryProcess::Options& o) {
  std::string out;
  if (!o.tls_cert.empty()) {
    absl::StrAppend(&out, "  tls:\n    certificate: ", o.tls_cert, "\n    key: ", o.tls_key, "\n");
  }
  if (!o.htpasswd.empty()) {
    absl::StrAppend(&out, "auth:\n  htpasswd:\n    realm: strata-test\n    path: ", o.htpasswd,
                    "\n");
  } else if (!o.token_realm.empty()) {
    absl::StrAppend(&out, "auth:\n  token:\n    realm: ", o.token_realm,
                    "\n    service: ", o.token_service, "\n    issuer: ", o.token_issuer,
                    "\n    rootcertbundle: ", o.token_certs, "\n");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryProcess>> RegistryProcess::Start(const std::string& dir,
                                                                        const Options& options) {
  STRATA_RETURN_IF_ERROR(MakeDirs(dir + "/data"));
  int port = options.port;
  if (port == 0) {
    STRATA_ASSIGN_OR_RETURN(port, FreeLoopbackPort());
  }
  auto r = std::unique_ptr<RegistryProcess>(new RegistryProcess());
  r->host_ = absl::StrCat(options.address, ":", port);
  r->log_ = dir + "/registry.log";
  WriteFileOrDie(dir + "/config.yml", absl::StrCat(R"(version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: )",
                                                   dir, R"(/data
  delete:
    enabled: true
http:
  addr: )",
                                                   r->host_, "\n", Extras(options)));
  r->push_credentials_ = options.push_credentials;
  std::vector<std::string> argv = {"/usr/bin/docker-registry", "serve", dir + "/config.yml"};
  if (!options.netns.empty()) argv.insert(argv.begin(), {"ip", "netns", "exec", options.netns});
  r->pid_ = Spawn(argv, r->log_);
  for (absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;) {
    if (Answers(options.address, port)) return r;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::UnavailableError(absl::StrCat("docker-registry did not start; see ", r->log_));
}

RegistryProcess::~RegistryProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitExit(pid_);
  }
}

absl::Status RegistryProcess::PushOciArchive(const std::string& archive,
                                             const std::string& repo_tag) const {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy", "copy", "--quiet",
                                   "--dest-tls-verify=false"};
  if (!push_credentials_.empty()) argv.insert(argv.end(), {"--dest-creds", push_credentials_});
  argv.insert(argv.end(),
              {"oci-archive:" + archive, absl::StrCat("docker://", host_, "/", repo_tag)});
  RunResult r = RunCommand(argv);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("skopeo copy ", archive, ": ", r.output));
  }
  return absl::OkStatus();
}

int64_t RegistryProcess::BlobBytesServed() const {
  // Access log lines: ... "GET /v2/<name>/blobs/<digest> HTTP/1.1" 200 1036370 ...
  int64_t total = 0;
  for (absl::string_view line : absl::StrSplit(ReadFile(log_).value_or(""), '\n')) {
    size_t get = line.find("\"GET /v2/");
    if (get == absl::string_view::npos || line.find("/blobs/sha256:", get) == line.npos) continue;
    size_t end = line.find("\" ", get + 1);
    if (end == line.npos) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line.substr(end + 2), ' ', absl::SkipEmpty());
    int64_t bytes = 0;
    if (fields.size() >= 2 && absl::SimpleAtoi(fields[1], &bytes)) total += bytes;
  }
  return total;
}

}  // namespace strata::testing
