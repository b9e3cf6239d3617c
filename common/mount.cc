#include "common/mount.h"

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/status_util.h"

namespace strata {
namespace {

struct ParsedOptions {
  unsigned long flags = 0;
  bool bind = false;
  bool readonly = false;
  std::vector<std::string> data;
};

ParsedOptions ParseOptions(const std::vector<std::string>& options) {
  struct Flag {
    const char* name;
    bool clear;
    unsigned long bits;
  };
  static const Flag kFlags[] = {{"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},
                                {"bind", false, MS_BIND},        {"rbind", false, MS_BIND | MS_REC},
                                {"nosuid", false, MS_NOSUID},    {"suid", true, MS_NOSUID},
                                {"nodev", false, MS_NODEV},      {"dev", true, MS_NODEV},
                                {"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},
                                {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},
                                {"dirsync", false, MS_DIRSYNC},  {"noatime", false, MS_NOATIME},
                                {"relatime", false, MS_RELATIME}};
  ParsedOptions parsed;
  for (const std::string& opt : options) {
    const Flag* match = nullptr;
    for (const Flag& f : kFlags) {
      if (opt == f.name) match = &f;
    }
    if (match == nullptr) {
      parsed.data.push_back(opt);
    } else if (match->clear) {
      parsed.flags &= ~match->bits;
    } else {
      parsed.flags |= match->bits;
    }
  }
  parsed.bind = (parsed.flags & MS_BIND) != 0;
  parsed.readonly = (parsed.flags & MS_RDONLY) != 0;
  return parsed;
}

size_t MaxMountData() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)) - 512; }

// Splits data into the lowerdir list and the rest; -1 if there is none.
int FindLowerdir(const std::vector<std::string>& data) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (absl::StartsWith(data[i], "lowerdir=")) return static_cast<int>(i);
  }
  return -1;
}

// Rewrites lowerdir=/a/b/1/fs:/a/b/2/fs as lowerdir=1/fs:2/fs and returns "/a/b/"
// (the directory above the longest common prefix), or "" if that is not possible.
std::string CompactLowerdir(std::vector<std::string>& data) {
  int idx = FindLowerdir(data);
  if (idx < 0) return "";
  std::vector<std::string> dirs =
      absl::StrSplit(data[idx].substr(sizeof("lowerdir=") - 1), ':', absl::SkipEmpty());
  if (dirs.size() <= 1) return "";
  std::string prefix = dirs[0];
  for (const std::string& d : dirs) {
    size_t n = 0;
    while (n < prefix.size() && n < d.size() && prefix[n] == d[n]) ++n;
    prefix.resize(n);
  }
  size_t slash = prefix.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "";
  std::string common = prefix.substr(0, slash + 1);
  for (std::string& d : dirs) d = d.substr(common.size());
  data[idx] = absl::StrCat("lowerdir=", absl::StrJoin(dirs, ":"));
  return common;
}

// mount(2) from a forked child that first changes into `dir`, so relative
// lowerdirs resolve there while this process's working directory never moves.
absl::Status MountInDirectory(const std::string& dir, const char* source, const char* target,
                              const char* type, unsigned long flags, const std::string& data) {
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoToStatus(errno, "fork for mount");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and _exit.
    if (::chdir(dir.c_str()) != 0) ::_exit(errno);
    if (::mount(source, target, type, flags, data.c_str()) != 0) ::_exit(errno);
    ::_exit(0);
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return ErrnoToStatus(errno, "wait for mount child");
  }
  if (!WIFEXITED(wstatus)) return absl::InternalError("mount child died");
  int err = WEXITSTATUS(wstatus);
  if (err != 0) return ErrnoToStatus(err, absl::StrCat("mount overlay at ", target));
  return absl::OkStatus();
}

absl::Status MountOne(const MountSpec& spec, const std::string& target) {
  ParsedOptions parsed = ParseOptions(spec.options);
  const char* type = spec.type == "bind" ? "none" : spec.type.c_str();
  if (spec.type == "bind") parsed.bind = true;
  unsigned long flags = parsed.flags | (parsed.bind ? MS_BIND : 0);
  std::string data = absl::StrJoin(parsed.data, ",");
  if (data.size() > MaxMountData() && FindLowerdir(parsed.data) >= 0) {
    std::string dir = CompactLowerdir(parsed.data);
    data = absl::StrJoin(parsed.data, ",");
    if (dir.empty() || data.size() >= static_cast<size_t>(::sysconf(_SC_PAGESIZE))) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount at ", target, ": options of ", data.size(), " bytes exceed a page"));
    }
    return MountInDirectory(dir, spec.source.c_str(), target.c_str(), type, flags, data);
  }
  if (::mount(spec.source.c_str(), target.c_str(), type, flags, data.c_str()) != 0) {
    return ErrnoToStatus(errno,
                         absl::StrCat("mount ", spec.type, " ", spec.source, " at ", target));
  }
  if (parsed.bind && parsed.readonly) {
    // A bind mount ignores MS_RDONLY on creation; it takes a remount to apply it.
    unsigned long remount = MS_REMOUNT | MS_BIND | MS_RDONLY | (flags & (MS_NOSUID | MS_NODEV));
    if (::mount(nullptr, target.c_str(), nullptr, remount, nullptr) != 0) {
      int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoToStatus(err, absl::StrCat("remount read-only ", target));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string MountData(const std::vector<std::string>& options) {
  return absl::StrJoin(ParseOptions(options).data, ",");
}

absl::Status MountAll(const std::vector<MountSpec>& mounts, const std::string& target) {
  std::vector<std::string> done;
  for (const MountSpec& spec : mounts) {
    std::string where = spec.target.empty() ? target : absl::StrCat(target, "/", spec.target);
    absl::Status status = MountOne(spec, where);
    if (!status.ok()) {
      for (auto it = done.rbegin(); it != done.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
      return status;
    }
    done.push_back(where);
  }
  return absl::OkStatus();
}

absl::Status Unmount(const std::string& target) {
  for (int attempt = 0;; ++attempt) {
    if (::umount2(target.c_str(), 0) == 0) return absl::OkStatus();
    if (errno != EBUSY || attempt >= 50)
      return ErrnoToStatus(errno, absl::StrCat("unmount ", target));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> MountPointsUnder(const std::string& dir) {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string prefix = absl::StrCat(dir, "/");
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5) continue;
    const std::string& point = fields[4];
    if (point == dir || absl::StartsWith(point, prefix)) found.push_back(point);
  }
  std::sort(found.begin(), found.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return found;
}

bool IsMountPoint(const std::string& path) {
  for (const std::string& p : MountPointsUnder(path)) {
    if (p == path) return true;
  }
  return false;
}

}  // namespace strata
