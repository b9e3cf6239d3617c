#include "daemon/systemd.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include <cctype>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace strata::daemon {
namespace {

int Priority(log::Level level) {
  switch (level) {
    case log::Level::kDebug:
      return LOG_DEBUG;
    case log::Level::kInfo:
      return LOG_INFO;
    case log::Level::kWarn:
      return LOG_WARNING;
    case log::Level::kError:
      return LOG_ERR;
  }
  return LOG_INFO;
}

// "orphan_dirs_removed" -> "STRATA_ORPHAN_DIRS_REMOVED": journal field names
// are upper-case letters, digits and underscores.
std::string FieldName(absl::string_view key) {
  std::string name = "STRATA_";
  for (char c : key) {
    name.push_back(std::isalnum(static_cast<unsigned char>(c))
                       ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                       : '_');
  }
  return name;
}

void JournalSink(log::Level level, absl::string_view msg,
                 std::initializer_list<log::Field> fields) {
  // The message keeps the key=value text, so `journalctl` alone shows it all.
  std::string message = absl::StrCat("MESSAGE=", msg);
  for (const log::Field& f : fields) absl::StrAppend(&message, " ", f.first, "=", f.second);
  std::vector<std::string> parts = {message, absl::StrCat("PRIORITY=", Priority(level)),
                                    "SYSLOG_IDENTIFIER=stratad",
                                    absl::StrCat("STRATA_LEVEL=", log::LevelName(level))};
  for (const log::Field& f : fields) {
    parts.push_back(absl::StrCat(FieldName(f.first), "=", f.second));
  }
  std::vector<iovec> iov;
  for (std::string& p : parts) iov.push_back({p.data(), p.size()});
  // A line the journal refuses has nowhere else to go; dropped on purpose.
  (void)sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace

void NotifyReady(const std::string& status) {
  (void)sd_notify(0, absl::StrCat("READY=1\nSTATUS=", status).c_str());
}

void NotifyReloading() { (void)sd_notify(0, "RELOADING=1"); }

void NotifyStopping() { (void)sd_notify(0, "STOPPING=1"); }

bool LogToJournalIfConnected() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st;
  if (::fstat(2, &st) != 0) return false;
  std::string mine = absl::StrCat(st.st_dev, ":", st.st_ino);
  if (mine != stream) return false;
  log::SetSink(JournalSink);
  return true;
}

}  // namespace strata::daemon
