#include "meta/leases.h"

#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status_util.h"
#include "strata/meta/v1/records.pb.h"

namespace strata::meta {
namespace {

using v1::LeaseRecord;

constexpr size_t kMaxLeaseIdLength = 76;
// The value of a lease_refs key whose resource the lease's call created.
constexpr absl::string_view kCreatedMark = "c";

absl::StatusOr<LeaseInfo> Decode(absl::string_view id, absl::string_view raw) {
  LeaseRecord r;
  if (!r.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return absl::DataLossError(absl::StrCat("lease \"", id, "\": corrupt metadata record"));
  }
  LeaseInfo info;
  info.id = std::string(id);
  info.created = absl::FromUnixNanos(r.created_unix_nanos());
  if (r.expires_unix_nanos() != 0) info.expires = absl::FromUnixNanos(r.expires_unix_nanos());
  info.labels.insert(r.labels().begin(), r.labels().end());
  info.temporary = r.temporary();
  return info;
}

std::string GenerateId() {
  std::random_device rd;
  return absl::StrFormat("%d-%08x%08x", absl::ToUnixSeconds(absl::Now()), rd(), rd());
}

}  // namespace

std::string LeaseRefPrefix(absl::string_view lease) {
  return absl::StrCat(lease, absl::string_view("\0", 1));
}

std::string LeaseRefKey(absl::string_view lease, LeaseResource kind, absl::string_view resource) {
  std::string key = LeaseRefPrefix(lease);
  key.push_back(static_cast<char>(kind));
  key.append(resource.data(), resource.size());
  return key;
}

absl::Status ValidateLeaseId(absl::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxLeaseIdLength && absl::ascii_isalnum(id[0]);
  for (char c : id) {
    ok = ok && (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("lease id \"", absl::CHexEscape(id.substr(0, kMaxLeaseIdLength)),
                   "\" is invalid: 1-76 characters of letters, digits, '.', '_' and '-', "
                   "starting with a letter or digit"));
}

absl::Status StageLeaseRef(WriteTxn& txn, absl::string_view lease, LeaseResource kind,
                           absl::string_view resource, LeaseHold hold) {
  if (lease.empty()) return absl::OkStatus();
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kLeases, lease));
  if (!raw) return absl::NotFoundError(absl::StrCat("lease \"", lease, "\" does not exist"));
  STRATA_ASSIGN_OR_RETURN(LeaseInfo info, Decode(lease, *raw));
  if (info.Expired(absl::Now())) {
    return absl::FailedPreconditionError(absl::StrCat("lease \"", lease, "\" has expired"));
  }
  std::string key = LeaseRefKey(lease, kind, resource);
  if (hold == LeaseHold::kCreated) {
    txn.Put(Family::kLeaseRefs, key, kCreatedMark);
    return absl::OkStatus();
  }
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> held, txn.Get(Family::kLeaseRefs, key));
  if (!held) txn.Put(Family::kLeaseRefs, key, "");
  return absl::OkStatus();
}

absl::StatusOr<LeaseInfo> Leases::Create(std::string id, std::optional<absl::Time> expires,
                                         const std::map<std::string, std::string>& labels,
                                         bool temporary) {
  if (id.empty()) id = GenerateId();
  STRATA_RETURN_IF_ERROR(ValidateLeaseId(id));
  // Expiry is kept in nanoseconds since 1970, which end in 2262.
  if (expires && *expires >= absl::FromUnixNanos(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(
        "lease ttl is too long: its expiry would be past what the clock can hold (2262)");
  }
  LeaseRecord r;
  r.set_created_unix_nanos(absl::ToUnixNanos(absl::Now()));
  if (expires) r.set_expires_unix_nanos(absl::ToUnixNanos(*expires));
  r.mutable_labels()->insert(labels.begin(), labels.end());
  r.set_temporary(temporary);
  std::string raw = r.SerializeAsString();
  WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(Family::kLeases, id));
  if (existing) return absl::AlreadyExistsError(absl::StrCat("lease \"", id, "\" already exists"));
  txn.Put(Family::kLeases, id, raw);
  STRATA_RETURN_IF_ERROR(txn.Commit());
  return Decode(id, raw);
}

absl::StatusOr<LeaseInfo> Leases::Get(absl::string_view id) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, db_->Get(Family::kLeases, id));
  if (!raw) return absl::NotFoundError(absl::StrCat("lease \"", id, "\" does not exist"));
  return Decode(id, *raw);
}

absl::Status Leases::List(const std::function<void(const LeaseInfo&)>& fn) const {
  absl::Status inner;
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kLeases, "", [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<LeaseInfo> info = Decode(k, v);
        if (!info.ok()) {
          inner = info.status();
          return false;
        }
        fn(*info);
        return true;
      }));
  return inner;
}

absl::Status Leases::StageDelete(WriteTxn& txn, absl::string_view id) const {
  txn.Delete(Family::kLeases, id);
  return db_->Scan(Family::kLeaseRefs, LeaseRefPrefix(id),
                   [&](absl::string_view k, absl::string_view) {
                     txn.Delete(Family::kLeaseRefs, k);
                     return true;
                   });
}

absl::Status Leases::Delete(absl::string_view id) {
  WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kLeases, id));
  if (!raw) return absl::NotFoundError(absl::StrCat("lease \"", id, "\" does not exist"));
  STRATA_RETURN_IF_ERROR(StageDelete(txn, id));
  return txn.Commit();
}

namespace {

// Scans lease_refs keys starting with `prefix`, decoding each (see
// LeaseRefKey); only those created under the lease if `created_only`.
absl::Status ScanRefs(const Db& db, absl::string_view prefix, const Leases::HeldFn& fn,
                      bool created_only = false) {
  return db.Scan(Family::kLeaseRefs, prefix, [&](absl::string_view k, absl::string_view v) {
    size_t sep = k.find('\0');
    if (created_only && v != kCreatedMark) return true;
    if (sep != absl::string_view::npos && sep + 1 < k.size()) {
      fn(k.substr(0, sep), static_cast<LeaseResource>(k[sep + 1]), k.substr(sep + 2));
    }
    return true;
  });
}

}  // namespace

absl::Status Leases::Resources(
    absl::string_view id, const std::function<void(LeaseResource, absl::string_view)>& fn) const {
  return ScanRefs(*db_, LeaseRefPrefix(id),
                  [&](absl::string_view, LeaseResource kind, absl::string_view r) { fn(kind, r); });
}

absl::Status Leases::AllResources(const HeldFn& fn) const { return ScanRefs(*db_, "", fn); }

absl::Status Leases::Created(
    absl::string_view id, const std::function<void(LeaseResource, absl::string_view)>& fn) const {
  return ScanRefs(
      *db_, LeaseRefPrefix(id),
      [&](absl::string_view, LeaseResource kind, absl::string_view r) { fn(kind, r); },
      /*created_only=*/true);
}

absl::Status Leases::Transfer(absl::string_view from, absl::string_view to) {
  WriteTxn txn(db_);
  absl::Status staged;
  STRATA_RETURN_IF_ERROR(
      ScanRefs(*db_, LeaseRefPrefix(from),
               [&](absl::string_view, LeaseResource kind, absl::string_view resource) {
                 if (staged.ok()) staged = StageLeaseRef(txn, to, kind, resource);
               }));
  STRATA_RETURN_IF_ERROR(staged);
  // An empty call still checks that the lease it names is there.
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> target, txn.Get(Family::kLeases, to));
  if (!target) return absl::NotFoundError(absl::StrCat("lease \"", to, "\" does not exist"));
  STRATA_RETURN_IF_ERROR(StageDelete(txn, from));
  return txn.Commit();
}

absl::StatusOr<std::vector<std::string>> Leases::Temporary() const {
  std::vector<std::string> temporary;
  STRATA_RETURN_IF_ERROR(List([&](const LeaseInfo& l) {
    if (l.temporary) temporary.push_back(l.id);
  }));
  return temporary;
}

}  // namespace strata::meta
