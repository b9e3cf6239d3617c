// stratad under systemd: readiness and reload notices for a Type=notify unit
// (sd_notify; each a no-op when NOTIFY_SOCKET is unset), and log lines sent
// to the journal as structured fields when stderr is the journal.
#pragma once

#include <string>

namespace strata::daemon {

// The socket serves: systemd may start what depends on strata.
void NotifyReady(const std::string& status);
void NotifyReloading();
void NotifyStopping();

// When systemd connected stderr to the journal (JOURNAL_STREAM names it),
// sends every log line to the journal instead: MESSAGE, PRIORITY and one
// STRATA_<KEY> field per key=value. Returns whether it did.
bool LogToJournalIfConnected();

}  // namespace strata::daemon
