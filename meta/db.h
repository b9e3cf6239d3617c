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
//
// A failed WAL write or sync (disk full, I/O error) puts RocksDB into a
// read-only state that it does not leave by itself, even once space is freed.
// Db therefore reopens RocksDB on the next write after such a failure: the
// reopened store holds exactly what reached the log, and writes work again as
// soon as the file system accepts them. Readers keep the instance they started
// with; the swap waits for them (briefly) to finish.
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
#include "absl/time/time.h"
#include "common/mutex.h"

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

  // Returns once the batch with `ticket` (from WriteTxn::CommitLater) and all
  // before it are durable. It first waits up to `patience` for another
  // writer's sync to cover it, then syncs itself: a background caller so
  // rides along with the foreground's syncs instead of adding one.
  absl::Status AwaitDurable(uint64_t ticket, absl::Duration patience);
  // Whether the batch with `ticket` is durable now (always, without sync).
  bool IsDurable(uint64_t ticket) const;

  // How many times RocksDB was reopened to leave a write-error state.
  uint64_t reopen_count() const;

 private:
  friend class WriteTxn;
  // One open RocksDB and its column family handles; closed when the last user
  // lets go.
  struct Instance;

  explicit Db(Options options);
  static absl::StatusOr<std::shared_ptr<Instance>> OpenInstance(const std::string& path,
                                                                bool read_only);

  // The instance readers and writers use now. Never null.
  std::shared_ptr<Instance> Current() const;
  // A column family handle for staging a batch. REQUIRES: a WriteTxn is open.
  rocksdb::ColumnFamilyHandle* WriteHandle(Family family) const;
  // REQUIRES: writer_mu_ held. Applies the batch unsynced; returns its ticket.
  absl::StatusOr<uint64_t> Apply(rocksdb::WriteBatch* batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // REQUIRES: writer_mu_ held. Closes the current instance and opens a fresh
  // one; on failure the old one stays in place.
  absl::Status Reopen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // Returns once the batch with `ticket` (and all before it) is durable,
  // having waited up to `patience` for someone else's sync.
  absl::Status WaitDurable(uint64_t ticket, absl::Duration patience = absl::ZeroDuration());

  const Options options_;

  mutable Mutex instance_mu_;
  std::shared_ptr<Instance> instance_ ABSL_GUARDED_BY(instance_mu_);
  bool draining_ ABSL_GUARDED_BY(instance_mu_) = false;  // a reopen waits for readers
  uint64_t reopens_ ABSL_GUARDED_BY(instance_mu_) = 0;

  Mutex writer_mu_;
  // Set when a write or sync failed: the next write reopens RocksDB first.
  bool needs_reopen_ ABSL_GUARDED_BY(writer_mu_) = false;
  uint64_t applied_ ABSL_GUARDED_BY(sync_mu_) = 0;

  mutable Mutex sync_mu_;
  uint64_t synced_ ABSL_GUARDED_BY(sync_mu_) = 0;
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
  // After a failed sync, writes wait for a reopen to re-read the log (what was
  // applied may not be durable), and every batch up to failed_through_ reports
  // sync_failure_.
  bool refuse_writes_ ABSL_GUARDED_BY(sync_mu_) = false;
  uint64_t failed_through_ ABSL_GUARDED_BY(sync_mu_) = 0;
  absl::Status sync_failure_ ABSL_GUARDED_BY(sync_mu_);
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
  // Applies the staged batch atomically and releases the lock without waiting
  // for the sync: the batch is safe from a process kill at once and from
  // power loss once Db::AwaitDurable(ticket) returns, or any later Commit()
  // does (durability is in commit order). Only for changes whose loss at a
  // power failure is harmless (a removal that a later collection repeats).
  absl::StatusOr<uint64_t> CommitLater();

 private:
  Db* db_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  bool locked_ = true;
};

// Fixed 8-byte big-endian encoding (sorts like the number).
std::string EncodeFixed64(uint64_t v);
uint64_t DecodeFixed64(absl::string_view s);

}  // namespace strata::meta
