#include "daemon/preflight.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/unique_fd.h"
#include "daemon/socket.h"

namespace strata::daemon {
namespace {

// Binds `address` ("host:port", host an IPv4 or [IPv6] literal or
// "localhost"; port 0 always binds) and lets it go at once.
absl::Status TryBind(const std::string& setting, const std::string& address) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(setting, ": ", parsed.status().message()));
  }
  std::string host = parsed->host;
  const int port = parsed->port;
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v4);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v6);
  } else {
    return absl::OkStatus();  // a host name: the server resolves it when it starts
  }
  UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::OkStatus();  // nothing learnt; the server will say
  int yes = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(setting, ": cannot listen on ", address, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckSettingsOnHost(const DaemonOptions& options) {
  if (!options.registry_auth.empty()) {
    struct stat st;
    const std::string& path = options.registry_auth;
    if (::stat(path.c_str(), &st) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("registry.auth (--registry-auth): ", path, ": ", std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("registry.auth (--registry-auth): ", path,
                                                     " is not a file (Docker's config.json)"));
    }
  }
  if (!options.socket_group.empty()) {
    absl::StatusOr<gid_t> gid = ResolveGroup(options.socket_group);
    if (!gid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("socket_group (--socket-group): ", gid.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckListenAddresses(const DaemonOptions& options) {
  if (!options.metrics_listen.empty()) {
    absl::Status s = TryBind("metrics_listen (--metrics-listen)", options.metrics_listen);
    if (!s.ok()) return s;
  }
  if (!options.registry_listen.empty()) {
    return TryBind("registry.listen (--registry-listen)", options.registry_listen);
  }
  return absl::OkStatus();
}

}  // namespace strata::daemon
