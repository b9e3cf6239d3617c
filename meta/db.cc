#include "meta/db.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/fs.h"
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

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const Options& options) {
  STRATA_RETURN_IF_ERROR(MakeDirs(options.path, 0700));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const char* name : kFamilyNames) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(MakeOptions(), options.path, descriptors, &handles, &raw);
  STRATA_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("open metadata ", options.path)));
  return std::unique_ptr<Db>(
      new Db(options, std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

Db::Db(Options options, std::unique_ptr<rocksdb::DB> db,
       std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : options_(std::move(options)), db_(std::move(db)), handles_(std::move(handles)) {}

Db::~Db() {
  // Errors on close are ignored on purpose: every acknowledged write is already durable.
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

rocksdb::ColumnFamilyHandle* Db::Handle(Family family) const {
  return handles_[static_cast<size_t>(family) + 1];  // [0] is RocksDB's default family
}

absl::StatusOr<std::optional<std::string>> Db::Get(Family family, absl::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(family), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  STRATA_RETURN_IF_ERROR(FromRocks(s, "metadata read"));
  return value;
}

absl::Status Db::Scan(Family family, absl::string_view prefix, const ScanFn& fn) const {
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(family)));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::StartsWith(key, prefix)) break;
    if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "metadata scan");
}

absl::StatusOr<uint64_t> Db::Apply(rocksdb::WriteBatch* batch) {
  {
    absl::MutexLock l(&sync_mu_);
    STRATA_RETURN_IF_ERROR(sync_error_);
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;  // synced by WaitDurable, shared with concurrent commits
  STRATA_RETURN_IF_ERROR(FromRocks(db_->Write(wo, batch), "metadata write"));
  absl::MutexLock l(&sync_mu_);
  return ++applied_;
}

absl::Status Db::WaitDurable(uint64_t ticket) {
  if (!options_.sync) return absl::OkStatus();
  absl::MutexLock l(&sync_mu_);
  while (true) {
    if (!sync_error_.ok()) return sync_error_;
    if (synced_ >= ticket) return absl::OkStatus();
    if (!syncing_) break;
    auto done = [this, ticket]()
                    ABSL_SHARED_LOCKS_REQUIRED(sync_mu_) { return !syncing_ || synced_ >= ticket; };
    sync_mu_.Await(absl::Condition(&done));
  }
  // This caller leads: one SyncWAL covers every batch applied up to now.
  syncing_ = true;
  uint64_t target = applied_;
  sync_mu_.Unlock();
  absl::Status s = FromRocks(db_->SyncWAL(), "metadata sync");
  sync_mu_.Lock();
  syncing_ = false;
  if (!s.ok()) {
    sync_error_ = absl::InternalError(
        absl::StrCat("metadata store is read-only after a failed sync: ", s.message()));
    return sync_error_;
  }
  if (target > synced_) synced_ = target;
  return absl::OkStatus();
}

absl::Status Db::Flush() {
  uint64_t ticket;
  {
    absl::MutexLock l(&sync_mu_);
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
  batch_->Put(db_->Handle(family), ToSlice(key), ToSlice(value));
}

void WriteTxn::Delete(Family family, absl::string_view key) {
  batch_->Delete(db_->Handle(family), ToSlice(key));
}

absl::Status WriteTxn::Commit() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  absl::StatusOr<uint64_t> ticket = db_->Apply(batch_.get());
  db_->writer_mu_.Unlock();
  locked_ = false;
  if (!ticket.ok()) return ticket.status();
  return db_->WaitDurable(*ticket);
}

}  // namespace strata::meta
