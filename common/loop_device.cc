#include "common/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"
#include "common/fs.h"

namespace strata {
namespace {

constexpr char kLoopControl[] = "/dev/loop-control";
// Another attacher can take the number LOOP_CTL_GET_FREE gave us first.
constexpr int kAttachAttempts = 64;

}  // namespace

absl::StatusOr<LoopDevice> LoopDevice::Attach(const std::string& file) {
  UniqueFd control(::open(kLoopControl, O_RDWR | O_CLOEXEC));
  if (!control.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", kLoopControl));
  UniqueFd backing(::open(file.c_str(), O_RDWR | O_CLOEXEC));
  if (!backing.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", file));
  for (int attempt = 0; attempt < kAttachAttempts; ++attempt) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return ErrnoToStatus(errno, "find a free loop device");
    std::string path = absl::StrCat("/dev/loop", n);
    UniqueFd dev(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!dev.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
    loop_config config;
    std::memset(&config, 0, sizeof(config));
    config.fd = static_cast<__u32>(backing.get());
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (::ioctl(dev.get(), LOOP_CONFIGURE, &config) == 0) {
      return LoopDevice(std::move(path), std::move(dev));
    }
    if (errno != EBUSY) return ErrnoToStatus(errno, absl::StrCat("attach ", file, " to ", path));
  }
  return absl::UnavailableError(
      absl::StrCat("attach ", file, ": every free loop device was taken"));
}

std::vector<LoopBinding> ListLoopDevices() {
  std::vector<LoopBinding> bindings;
  absl::StatusOr<std::vector<std::string>> names = ListDir("/sys/block");
  if (!names.ok()) return bindings;
  for (const std::string& name : *names) {
    if (!absl::StartsWith(name, "loop")) continue;
    absl::StatusOr<std::string> file =
        ReadFile(absl::StrCat("/sys/block/", name, "/loop/backing_file"));
    if (!file.ok()) continue;  // not bound
    bindings.push_back(
        {absl::StrCat("/dev/", name), std::string(absl::StripTrailingAsciiWhitespace(*file))});
  }
  return bindings;
}

absl::Status DetachLoopDevice(const std::string& device) {
  UniqueFd dev(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!dev.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", device));
  if (::ioctl(dev.get(), LOOP_CLR_FD, 0) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("detach ", device));
  }
  return absl::OkStatus();
}

std::string LoopDevicesMissing() {
  UniqueFd control(::open(kLoopControl, O_RDWR | O_CLOEXEC));
  if (!control.valid()) return absl::StrCat(kLoopControl, ": ", std::strerror(errno));
  return "";
}

}  // namespace strata
