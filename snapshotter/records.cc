#include "snapshotter/records.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_util.h"
#include "meta/leases.h"

namespace strata::snapshotter {

std::string RecordKey(KeySpace space, absl::string_view key) {
  std::string out(1, static_cast<char>(space));
  out.append(key.data(), key.size());
  return out;
}

std::string ChildPrefix(KeySpace space, absl::string_view parent) {
  std::string out = RecordKey(space, parent);
  out.push_back('\0');
  return out;
}

std::string ChildKey(KeySpace space, absl::string_view parent, absl::string_view child) {
  std::string out = ChildPrefix(space, parent);
  out.append(child.data(), child.size());
  return out;
}

Kind KindFromRecord(meta::v1::SnapshotKind kind) {
  switch (kind) {
    case meta::v1::SNAPSHOT_KIND_VIEW:
      return Kind::kView;
    case meta::v1::SNAPSHOT_KIND_ACTIVE:
      return Kind::kActive;
    case meta::v1::SNAPSHOT_KIND_COMMITTED:
      return Kind::kCommitted;
    default:
      return Kind::kUnknown;
  }
}

meta::v1::SnapshotKind KindToRecord(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return meta::v1::SNAPSHOT_KIND_VIEW;
    case Kind::kActive:
      return meta::v1::SNAPSHOT_KIND_ACTIVE;
    case Kind::kCommitted:
      return meta::v1::SNAPSHOT_KIND_COMMITTED;
    case Kind::kUnknown:
      break;
  }
  return meta::v1::SNAPSHOT_KIND_UNKNOWN;
}

Info InfoFromRecord(absl::string_view key, const SnapshotRecord& rec) {
  Info info;
  info.name = std::string(key);
  info.parent = rec.parent();
  info.kind = KindFromRecord(rec.kind());
  info.labels = Labels(rec.labels().begin(), rec.labels().end());
  info.created = absl::FromUnixNanos(rec.created_unix_nanos());
  info.updated = absl::FromUnixNanos(rec.updated_unix_nanos());
  return info;
}

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

absl::StatusOr<SnapshotRecord> DecodeRecord(absl::string_view key, absl::string_view value) {
  SnapshotRecord rec;
  if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("snapshot \"", key, "\": corrupt metadata record"));
  }
  return rec;
}

// Reads a record inside a write transaction (committed state).
absl::StatusOr<std::optional<SnapshotRecord>> TxnRecord(meta::WriteTxn& txn, KeySpace space,
                                                        absl::string_view key) {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                          txn.Get(meta::Family::kSnapshots, RecordKey(space, key)));
  if (!raw) return std::nullopt;
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, DecodeRecord(key, *raw));
  return rec;
}

absl::StatusOr<LayerRecord> DecodeLayer(absl::string_view chain_id, absl::string_view value) {
  LayerRecord r;
  if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("layer ", chain_id, ": corrupt metadata record"));
  }
  return r;
}

absl::StatusOr<std::optional<LayerRecord>> TxnLayer(meta::WriteTxn& txn,
                                                    absl::string_view chain_id) {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(meta::Family::kLayers, chain_id));
  if (!raw) return std::nullopt;
  return DecodeLayer(chain_id, *raw);
}

absl::Status StageSnapshotLease(meta::WriteTxn& txn, KeySpace space, absl::string_view key,
                                absl::string_view lease, meta::LeaseHold hold) {
  if (space != KeySpace::kNative) return absl::OkStatus();
  return meta::StageLeaseRef(txn, lease, meta::LeaseResource::kSnapshot, RecordKey(space, key),
                             hold);
}

}  // namespace strata::snapshotter
