// Encoding of snapshot records and their RocksDB keys. Internal to the snapshotter.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "meta/db.h"
#include "meta/leases.h"
#include "snapshotter/types.h"
#include "strata/meta/v1/records.pb.h"

namespace strata::snapshotter {

using meta::v1::LayerRecord;
using meta::v1::SnapshotRecord;

// snapshots family: <space><key>
std::string RecordKey(KeySpace space, absl::string_view key);
// children family: <space><parent>\0<child>; ChildPrefix is everything before <child>.
std::string ChildKey(KeySpace space, absl::string_view parent, absl::string_view child);
std::string ChildPrefix(KeySpace space, absl::string_view parent);
// ids family: the highest directory id ever handed out.
inline constexpr absl::string_view kSnapshotIdCounter = "snapshot";

Kind KindFromRecord(meta::v1::SnapshotKind kind);
meta::v1::SnapshotKind KindToRecord(Kind kind);
Info InfoFromRecord(absl::string_view key, const SnapshotRecord& rec);
int64_t NowNanos();

// Parses a stored record; DataLoss naming the key if it is corrupt.
absl::StatusOr<SnapshotRecord> DecodeRecord(absl::string_view key, absl::string_view value);
// Reads a record inside a write transaction (committed state).
absl::StatusOr<std::optional<SnapshotRecord>> TxnRecord(meta::WriteTxn& txn, KeySpace space,
                                                        absl::string_view key);

// layers family: chainID ("sha256:<hex>") -> LayerRecord. Parses a stored
// record; DataLoss naming the chain if it is corrupt.
absl::StatusOr<LayerRecord> DecodeLayer(absl::string_view chain_id, absl::string_view value);
// Reads a layer record (by chainID) inside a write transaction.
absl::StatusOr<std::optional<LayerRecord>> TxnLayer(meta::WriteTxn& txn,
                                                    absl::string_view chain_id);

// Stages that `lease` holds snapshot `key`. Only the native key space takes
// leases: containerd keeps its own and never collects through us.
absl::Status StageSnapshotLease(meta::WriteTxn& txn, KeySpace space, absl::string_view key,
                                absl::string_view lease,
                                meta::LeaseHold hold = meta::LeaseHold::kRelied);

}  // namespace strata::snapshotter
