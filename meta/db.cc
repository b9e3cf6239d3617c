#include "meta/db.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status_util.h"

namespace strata::meta {
namespace {

const char* const kFamilyNames[] = {"snapshots", "children", "blobs",      "images",
                                    "layers",    "leases",   "lease_refs", "ids"};
static_assert(sizeof(kFamilyNames) / sizeof(kFamilyNames[0]) ==
              static_cast<size_t>(Family::kCount));

// The one place rocksdb::Status becomes absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": the store is in use by another process (", s.ToString(), ")"));
  }
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(msg);
  if (s.IsIOError()) {
    // RocksDB keeps only the text of errno; map the ones an operator can act
    // on the way the rest of the store maps errno.
    for (int err : {ENOSPC, EDQUOT, EROFS, EACCES, EPERM}) {
      if (absl::StrContains(msg, std::strerror(err))) {
        return absl::Status(ErrnoToStatus(err, "").code(), msg);
      }
    }
  }
  if (s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

rocksdb::Options MakeOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // Keep RocksDB's own log small: it lives beside the data.
  o.info_log_level = rocksdb::WARN_LEVEL;
  o.keep_log_file_num = 2;
  o.max_log_file_size = 1 << 20;
  o.max_manifest_file_size = 16 << 20;
  // WAL writes reach the kernel on each Write() (no manual flush), so a killed
  // process loses nothing that Write() accepted.
  o.manual_wal_flush = false;
  return o;
}

}  // namespace

std::string EncodeFixed64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t DecodeFixed64(absl::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

struct Db::Instance {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  ~Instance() {
    // Errors on close are ignored on purpose: every acknowledged write is already durable.
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close();
  }
  rocksdb::ColumnFamilyHandle* Handle(Family family) const {
    return handles[static_cast<size_t>(family) + 1];  // [0] is RocksDB's default family
  }
};

// Opens RocksDB at `path` with every column family; `read_only` writes nothing
// (no new log or manifest), so it works on a full or read-only file system.
absl::StatusOr<std::shared_ptr<Db::Instance>> Db::OpenInstance(const std::string& path,
                                                               bool read_only) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const char* name : kFamilyNames) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(MakeOptions(), path, descriptors, &handles, &raw)
                : rocksdb::DB::Open(MakeOptions(), path, descriptors, &handles, &raw);
  STRATA_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("open metadata ", path)));
  auto instance = std::make_shared<Instance>();
  instance->db.reset(raw);
  instance->handles = std::move(handles);
  return instance;
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const Options& options) {
  STRATA_RETURN_IF_ERROR(MakeDirs(options.path, 0700));
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<Instance> instance,
                          OpenInstance(options.path, /*read_only=*/false));
  std::unique_ptr<Db> db(new Db(options));
  MutexLock l(&db->instance_mu_);
  db->instance_ = std::move(instance);
  return db;
}

Db::Db(Options options) : options_(std::move(options)) {}

Db::~Db() = default;

std::shared_ptr<Db::Instance> Db::Current() const {
  MutexLock l(&instance_mu_);
  // A reader that already holds the instance and reads again (a Get inside a
  // Scan callback) makes the reopen wait its full limit and give up; never a
  // deadlock.
  instance_mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(instance_mu_) { return !draining_; });
  return instance_;
}

rocksdb::ColumnFamilyHandle* Db::WriteHandle(Family family) const {
  // The writer lock is held, and only a writer swaps the instance, so the
  // handle stays valid for the whole transaction. A batch records column
  // family ids, which a reopen keeps.
  MutexLock l(&instance_mu_);
  return instance_->Handle(family);
}

uint64_t Db::reopen_count() const {
  MutexLock l(&instance_mu_);
  return reopens_;
}

absl::StatusOr<std::optional<std::string>> Db::Get(Family family, absl::string_view key) const {
  std::shared_ptr<Instance> inst = Current();
  std::string value;
  rocksdb::Status s =
      inst->db->Get(rocksdb::ReadOptions(), inst->Handle(family), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  STRATA_RETURN_IF_ERROR(FromRocks(s, "metadata read"));
  return value;
}

absl::Status Db::Scan(Family family, absl::string_view prefix, const ScanFn& fn) const {
  std::shared_ptr<Instance> inst = Current();
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(inst->db->NewIterator(ro, inst->Handle(family)));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::StartsWith(key, prefix)) break;
    if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "metadata scan");
}

absl::Status Db::Reopen() {
  // RocksDB's lock file allows one open instance per path, so the old one must
  // close first. Readers still inside it are waited for; one that does not
  // finish soon (a scan whose callback commits, say) makes this attempt give
  // up rather than deadlock, and the next write tries again.
  constexpr absl::Duration kDrainLimit = absl::Seconds(2);
  std::shared_ptr<Instance> old;
  {
    MutexLock l(&instance_mu_);
    old = instance_;
    draining_ = true;  // new readers wait, so the ones inside can finish
  }
  const absl::Time deadline = absl::Now() + kDrainLimit;
  // use_count changes without instance_mu_, so poll rather than wait on it.
  while (old.use_count() > 2 && absl::Now() < deadline) {  // instance_ and `old`
    absl::SleepFor(absl::Milliseconds(1));
  }
  {
    MutexLock l(&instance_mu_);
    draining_ = false;
    if (old.use_count() > 2) {
      return absl::UnavailableError("metadata store busy: reopen postponed");
    }
    instance_ = nullptr;  // holding instance_mu_ across the reopen keeps readers out
    old.reset();          // closes RocksDB
    absl::StatusOr<std::shared_ptr<Instance>> fresh = OpenInstance(options_.path, false);
    if (!fresh.ok()) {
      // A writable open needs space (a new log and manifest) and a writable
      // directory. Until a later write's attempt succeeds, readers get a
      // read-only instance, which writes nothing.
      log::Warn("metadata store reopen failed; serving reads only",
                {{"error", fresh.status().ToString()}});
      absl::StatusOr<std::shared_ptr<Instance>> read_only = OpenInstance(options_.path, true);
      if (!read_only.ok()) {
        log::Error("metadata store cannot be opened at all",
                   {{"error", read_only.status().ToString()}});
        std::abort();  // nothing can be served without it; a restart recovers
      }
      instance_ = std::move(*read_only);
      return fresh.status();
    }
    instance_ = std::move(*fresh);
    ++reopens_;
  }
  {
    MutexLock l(&sync_mu_);
    refuse_writes_ = false;
  }
  log::Warn("metadata store reopened after a write failure");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Db::Apply(rocksdb::WriteBatch* batch) {
  bool sync_failed;
  {
    MutexLock l(&sync_mu_);
    sync_failed = refuse_writes_;
  }
  if (needs_reopen_ || sync_failed) {
    STRATA_RETURN_IF_ERROR(Reopen());  // on failure the next write tries again
    needs_reopen_ = false;
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;  // synced by WaitDurable, shared with concurrent commits
  rocksdb::Status s = Current()->db->Write(wo, batch);
  if (!s.ok()) {
    // An I/O error (NoSpace is one) leaves RocksDB refusing writes until reopened.
    if (s.IsIOError()) needs_reopen_ = true;
    return FromRocks(s, "metadata write");
  }
  MutexLock l(&sync_mu_);
  return ++applied_;
}

absl::Status Db::WaitDurable(uint64_t ticket, absl::Duration patience) {
  if (!options_.sync) return absl::OkStatus();
  MutexLock l(&sync_mu_);
  if (patience > absl::ZeroDuration()) {
    auto covered = [this, ticket]() ABSL_SHARED_LOCKS_REQUIRED(sync_mu_) {
      return synced_ >= ticket || ticket <= failed_through_;
    };
    sync_mu_.AwaitWithTimeout(covered, patience);
  }
  while (true) {
    if (synced_ >= ticket) return absl::OkStatus();
    // A batch that was in a failed sync is never reported durable, even if a
    // later sync (after a reopen) succeeds.
    if (ticket <= failed_through_) return sync_failure_;
    if (!syncing_) break;
    auto done = [this, ticket]() ABSL_SHARED_LOCKS_REQUIRED(sync_mu_) {
      return !syncing_ || synced_ >= ticket || ticket <= failed_through_;
    };
    sync_mu_.Await(done);
  }
  // This caller leads: one SyncWAL covers every batch applied up to now.
  syncing_ = true;
  uint64_t target = applied_;
  sync_mu_.Unlock();
  absl::Status s = FromRocks(Current()->db->SyncWAL(), "metadata sync");
  sync_mu_.Lock();
  syncing_ = false;
  if (!s.ok()) {
    failed_through_ = target;
    refuse_writes_ = true;
    sync_failure_ = s;
    return s;
  }
  if (target > synced_) synced_ = target;
  return absl::OkStatus();
}

absl::Status Db::AwaitDurable(uint64_t ticket, absl::Duration patience) {
  return WaitDurable(ticket, patience);
}

bool Db::IsDurable(uint64_t ticket) const {
  if (!options_.sync) return true;
  MutexLock l(&sync_mu_);
  return synced_ >= ticket;
}

absl::Status Db::Flush() {
  uint64_t ticket;
  {
    MutexLock l(&sync_mu_);
    ticket = applied_;
  }
  return WaitDurable(ticket);
}

// WriteTxn is a scoped lock that Commit() may release before the scope ends;
// clang's analysis cannot follow that, so these three opt out of it.
WriteTxn::WriteTxn(Db* db) ABSL_NO_THREAD_SAFETY_ANALYSIS
    : db_(db),
      batch_(std::make_unique<rocksdb::WriteBatch>()) {
  db_->writer_mu_.Lock();
}

WriteTxn::~WriteTxn() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (locked_) db_->writer_mu_.Unlock();
}

absl::StatusOr<std::optional<std::string>> WriteTxn::Get(Family family,
                                                         absl::string_view key) const {
  return db_->Get(family, key);
}

void WriteTxn::Put(Family family, absl::string_view key, absl::string_view value) {
  batch_->Put(db_->WriteHandle(family), ToSlice(key), ToSlice(value));
}

void WriteTxn::Delete(Family family, absl::string_view key) {
  batch_->Delete(db_->WriteHandle(family), ToSlice(key));
}

absl::Status WriteTxn::Commit() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  absl::StatusOr<uint64_t> ticket = db_->Apply(batch_.get());
  db_->writer_mu_.Unlock();
  locked_ = false;
  if (!ticket.ok()) return ticket.status();
  return db_->WaitDurable(*ticket);
}

absl::StatusOr<uint64_t> WriteTxn::CommitLater() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  absl::StatusOr<uint64_t> ticket = db_->Apply(batch_.get());
  db_->writer_mu_.Unlock();
  locked_ = false;
  return ticket;
}

}  // namespace strata::meta
