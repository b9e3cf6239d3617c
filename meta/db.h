// The metadata store: one RocksDB with a column family per record kind. This
// is the only module that includes RocksDB headers in its interface users see.
//
// Writes go through WriteTxn: a caller takes the single writer lock, reads and
// validates, stages puts and deletes in one WriteBatch, and commits. The batch
// is applied to the WAL while the lock is held (so a later writer always sees
// it), and the fsync happens after the lock is released: concurrent commits
// share one WAL sync (group commit). Commit() returns only once the batch is
// durable, and durability is in commit order, so nothing a caller observed
// can be lost while something that depended on it survives.
//
// A process kill cannot lose an applied batch (it is in the kernel's page
// cache); the sync is what protects against power loss. Db is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace strata::meta {

// Column families, as DESIGN.md's metadata section lists them.
enum class Family {
  kSnapshots = 0,  // key space + key -> SnapshotRecord
  kChildren,       // key space + parent + '\0' + child -> empty
  kBlobs,
  kImages,
  kLayers,
  kLeases,
  kLeaseRefs,
  kIds,  // counter name -> fixed64
  kCount
};

class Db {
 public:
  struct Options {
    std::string path;
    // Sync every committed batch before Commit returns. Default: true.
    bool sync = true;
  };

  // Opens (creating if needed) the store at options.path. FailedPrecondition if
  // another process holds it open.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const Options& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Latest committed value of `key`, or nullopt.
  absl::StatusOr<std::optional<std::string>> Get(Family family, absl::string_view key) const;

  // Calls fn(key, value) for each key starting with `prefix`, in key order, on a
  // consistent point-in-time view; stops early when fn returns false. Holds no
  // lock while fn runs.
  using ScanFn = std::function<bool(absl::string_view key, absl::string_view value)>;
  absl::Status Scan(Family family, absl::string_view prefix, const ScanFn& fn) const;

  // Blocks until every batch committed so far is durable.
  absl::Status Flush();

 private:
  friend class WriteTxn;
  Db(Options options, std::unique_ptr<rocksdb::DB> db,
     std::vector<rocksdb::ColumnFamilyHandle*> handles);

  rocksdb::ColumnFamilyHandle* Handle(Family family) const;
  // REQUIRES: writer_mu_ held. Applies the batch unsynced; returns its ticket.
  absl::StatusOr<uint64_t> Apply(rocksdb::WriteBatch* batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // Returns once the batch with `ticket` (and all before it) is durable.
  absl::Status WaitDurable(uint64_t ticket);

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  absl::Mutex writer_mu_;
  uint64_t applied_ ABSL_GUARDED_BY(sync_mu_) = 0;

  absl::Mutex sync_mu_;
  uint64_t synced_ ABSL_GUARDED_BY(sync_mu_) = 0;
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
  // After a failed sync the store refuses writes: what was applied may not be durable.
  absl::Status sync_error_ ABSL_GUARDED_BY(sync_mu_);
};

// One write operation: holds the writer lock from construction until Commit()
// or destruction (which discards what was staged). Not thread-safe itself.
class WriteTxn {
 public:
  explicit WriteTxn(Db* db);  // must outlive the txn
  ~WriteTxn();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  // Reads the committed state (not what this txn staged).
  absl::StatusOr<std::optional<std::string>> Get(Family family, absl::string_view key) const;
  void Put(Family family, absl::string_view key, absl::string_view value);
  void Delete(Family family, absl::string_view key);

  // Applies the staged batch atomically, releases the lock, waits until durable.
  absl::Status Commit();

 private:
  Db* db_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  bool locked_ = true;
};

// Fixed 8-byte big-endian encoding (sorts like the number).
std::string EncodeFixed64(uint64_t v);
uint64_t DecodeFixed64(absl::string_view s);

}  // namespace strata::meta
