// Labels `strata mount` puts on the snapshots it makes, which the daemon
// reads too: where a snapshot is mounted decides what may be done to it.
#pragma once

namespace strata {

// Where `strata mount` mounted the snapshot (an absolute path), so `strata
// unmount DIR` knows what to release, and the daemon refuses to remove a
// snapshot mounted there or to mount a writable one twice.
inline constexpr char kMountpointLabel[] = "strata.io/mountpoint";
// The image a writable snapshot made by `strata mount --rw` stands on, so
// `strata commit KEY` knows what the new image builds on.
inline constexpr char kImageLabel[] = "strata.io/image";

}  // namespace strata
