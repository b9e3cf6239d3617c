// Mounting what a snapshotter returns, the way containerd's own mount code does,
// so tests and the CLI exercise exactly the specs containerd would mount.
// Thread-safe: long overlay option strings are mounted from a forked child
// that changes directory, never by changing this process's working directory.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace strata {

// One mount as containerd.types.Mount describes it.
struct MountSpec {
  std::string type;
  std::string source;
  std::string target;  // empty for a root filesystem
  std::vector<std::string> options;

  bool operator==(const MountSpec& o) const {
    return type == o.type && source == o.source && target == o.target && options == o.options;
  }
};

// Mounts `mounts` in order at `target` (a spec's own `target` is joined below it).
// Overlay option data longer than one page minus 512 bytes is shortened as
// containerd does: lowerdirs become relative to their common parent directory,
// which the mounting child process changes into.
absl::Status MountAll(const std::vector<MountSpec>& mounts, const std::string& target);

// Unmounts `target`; retries briefly while it is busy.
absl::Status Unmount(const std::string& target);

// Everything mounted at or below `dir`, deepest first (from /proc/self/mountinfo).
std::vector<std::string> MountPointsUnder(const std::string& dir);
// Whether something is mounted exactly at `path` (an absolute, resolved path).
bool IsMountPoint(const std::string& path);

// The option data the kernel receives for `options` after flags are taken out,
// and whether it must be shortened. Exposed for tests.
std::string MountData(const std::vector<std::string>& options);

}  // namespace strata
