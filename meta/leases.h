// Leases: named holds on blobs, ingests and snapshots, so garbage collection
// leaves alone what a client is still building (containerd's model: a pull
// runs under a lease until its image is recorded).
//
//   leases      <id>                          -> LeaseRecord
//   lease_refs  <id> '\0' <kind> <resource>   -> empty
//
// A reference is staged in the same write transaction that creates or
// touches the resource, so the garbage collector (which marks while holding
// the writer lock) sees either both or neither. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "meta/db.h"

namespace strata::meta {

enum class LeaseResource : char {
  kBlob = 'b',      // resource: the digest's hex
  kSnapshot = 's',  // resource: key space byte + snapshot key
  kIngest = 'i',    // resource: the ingest ref
};

struct LeaseInfo {
  std::string id;
  absl::Time created;
  std::optional<absl::Time> expires;  // nullopt: never
  std::map<std::string, std::string> labels;
  bool temporary = false;
  bool Expired(absl::Time now) const { return expires && *expires <= now; }
};

// kLeaseRefs key of one held resource, and the prefix of every key of `lease`.
std::string LeaseRefKey(absl::string_view lease, LeaseResource kind, absl::string_view resource);
std::string LeaseRefPrefix(absl::string_view lease);

// How a lease came to hold a resource: the call under the lease made it
// (a failed call removes it again, unless something else took it up), or it
// was there before and the call relies on it (never removed on failure).
enum class LeaseHold { kRelied, kCreated };

// Stages in `txn` that `lease` holds the resource. No-op for an empty lease.
// NotFound if the lease does not exist, FailedPrecondition if it has expired.
// A resource once held as created stays so.
absl::Status StageLeaseRef(WriteTxn& txn, absl::string_view lease, LeaseResource kind,
                           absl::string_view resource, LeaseHold hold = LeaseHold::kRelied);

// InvalidArgument unless `id` is 1-76 characters of [A-Za-z0-9._-], starting
// with a letter or digit (containerd's identifier rule).
absl::Status ValidateLeaseId(absl::string_view id);

class Leases {
 public:
  explicit Leases(Db* db) : db_(db) {}  // db must outlive this

  // An empty id gets a generated one. AlreadyExists if the id is taken.
  absl::StatusOr<LeaseInfo> Create(std::string id, std::optional<absl::Time> expires,
                                   const std::map<std::string, std::string>& labels,
                                   bool temporary = false);
  absl::StatusOr<LeaseInfo> Get(absl::string_view id) const;
  absl::Status List(const std::function<void(const LeaseInfo&)>& fn) const;
  // Removes the lease and every reference it holds. NotFound if there is none.
  absl::Status Delete(absl::string_view id);
  // Stages the removal of the lease and its references in `txn`.
  absl::Status StageDelete(WriteTxn& txn, absl::string_view id) const;
  // Calls fn for each resource `lease` holds.
  absl::Status Resources(absl::string_view id,
                         const std::function<void(LeaseResource, absl::string_view)>& fn) const;
  // Calls fn for each resource `lease` holds because a call under it made it.
  absl::Status Created(absl::string_view id,
                       const std::function<void(LeaseResource, absl::string_view)>& fn) const;
  // Moves every resource `from` holds to `to` (as relied on) and deletes
  // `from`, in one transaction. NotFound or FailedPrecondition if `to` does
  // not exist or has expired.
  absl::Status Transfer(absl::string_view from, absl::string_view to);
  // Calls fn for each resource every lease holds (expired ones included).
  using HeldFn =
      std::function<void(absl::string_view lease, LeaseResource kind, absl::string_view resource)>;
  absl::Status AllResources(const HeldFn& fn) const;
  // The ids of the temporary leases (at start-up: of calls that died with
  // the previous process).
  absl::StatusOr<std::vector<std::string>> Temporary() const;

 private:
  Db* db_;
};

}  // namespace strata::meta
