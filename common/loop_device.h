// Loop devices: a file seen as a block device, to hold a filesystem.
//
// Every device attached here is set to clear itself (LO_FLAGS_AUTOCLEAR):
// the kernel detaches it when its last user goes, which is the mount made on
// it once that is unmounted, or this process's descriptor if the process dies
// before mounting. So a crash at any point leaks no loop device: only a mount
// can keep one, and recovery unmounts what no record owns.
//
// Thread-safe: attaching races other attachers (in this process or any
// other) for a free device number and retries.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace strata {

class LoopDevice {
 public:
  // Binds a free loop device to `file` (opened read-write). The device is
  // detached when the returned object and every mount on it are gone.
  static absl::StatusOr<LoopDevice> Attach(const std::string& file);

  const std::string& path() const { return path_; }

 private:
  LoopDevice(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;  // /dev/loopN
  UniqueFd fd_;
};

// One bound loop device, as /sys/block/loopN/loop/ describes it.
struct LoopBinding {
  std::string device;        // /dev/loopN
  std::string backing_file;  // as the kernel prints it; " (deleted)" when unlinked
};
// Every loop device bound to a file now.
std::vector<LoopBinding> ListLoopDevices();
// Unbinds `device` (LOOP_CLR_FD); with autoclear set, once nothing uses it.
absl::Status DetachLoopDevice(const std::string& device);

// Empty when this process can attach loop devices, else what is missing.
std::string LoopDevicesMissing();

}  // namespace strata
