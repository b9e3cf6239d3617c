#include "layerstore/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status_util.h"
#include "meta/leases.h"
#include "strata/meta/v1/records.pb.h"

namespace strata::layerstore {
namespace {

using meta::Family;
using meta::v1::BlobRecord;

constexpr size_t kReadChunk = 1 << 20;

absl::Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", dir));
  if (::fsync(fd.get()) != 0) return ErrnoToStatus(errno, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

BlobInfo ToInfo(const Digest& d, const BlobRecord& r) {
  BlobInfo info;
  info.digest = d;
  info.size = r.size();
  info.media_type = r.media_type();
  info.labels = Labels(r.labels().begin(), r.labels().end());
  info.created = absl::FromUnixNanos(r.created_unix_nanos());
  info.updated = absl::FromUnixNanos(r.updated_unix_nanos());
  return info;
}

absl::StatusOr<BlobRecord> Decode(const Digest& d, absl::string_view raw) {
  BlobRecord r;
  if (!r.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return absl::DataLossError(absl::StrCat("blob ", d.str(), ": corrupt metadata record"));
  }
  return r;
}

// Hashes the first `n` bytes of `fd` (to resume an ingest's digest).
absl::StatusOr<Sha256> HashPrefix(int fd, int64_t n) {
  Sha256 h;
  std::vector<char> buf(kReadChunk);
  int64_t done = 0;
  while (done < n) {
    size_t want = static_cast<size_t>(std::min<int64_t>(n - done, buf.size()));
    ssize_t got = ::pread(fd, buf.data(), want, done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return ErrnoToStatus(got < 0 ? errno : EIO, "read ingest to resume");
    h.Update(buf.data(), static_cast<size_t>(got));
    done += got;
  }
  return h;
}

}  // namespace

Writer::Writer(ContentStore* store, std::string ref, std::string lease, std::string dir,
               UniqueFd fd, int64_t offset, Sha256 hash)
    : store_(store),
      ref_(std::move(ref)),
      lease_(std::move(lease)),
      dir_(std::move(dir)),
      fd_(std::move(fd)),
      offset_(offset),
      hash_(std::move(hash)) {}

Writer::~Writer() {
  // The daemon's own ingests are never resumed: one that ends without a
  // commit, or whose Commit failed (a failed import, a full disk), gives its
  // space back now, not at the next start-up.
  if (ContentStore::IsInternalRef(ref_) && PathExists(dir_)) {
    fd_.Reset();
    absl::Status s = RemoveTree(dir_);
    if (!s.ok()) log::Warn("remove abandoned ingest", {{"ref", ref_}, {"error", s.ToString()}});
  }
  store_->ReleaseRef(ref_);
}

absl::Status Writer::Truncate(int64_t offset) {
  if (done_) return absl::FailedPreconditionError("ingest already committed");
  if (offset < 0 || offset > offset_) {
    return absl::OutOfRangeError(absl::StrCat("ingest \"", ref_, "\": offset ", offset,
                                              " is past the ", offset_, " bytes received"));
  }
  if (offset == offset_) return absl::OkStatus();
  if (::ftruncate(fd_.get(), offset) != 0) return ErrnoToStatus(errno, "truncate ingest");
  STRATA_ASSIGN_OR_RETURN(hash_, HashPrefix(fd_.get(), offset));
  offset_ = offset;
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> Writer::OpenReader() const {
  if (done_) return absl::FailedPreconditionError("ingest already committed");
  UniqueFd fd(::open((dir_ + "/data").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ingest \"", ref_, "\""));
  return fd;
}

absl::Status Writer::Write(const void* data, size_t n) {
  if (done_) return absl::FailedPreconditionError("ingest already committed");
  const char* p = static_cast<const char*>(data);
  size_t left = n;
  while (left > 0) {
    ssize_t w = ::pwrite(fd_.get(), p, left, offset_);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoToStatus(errno, absl::StrCat("write ingest \"", ref_, "\""));
    hash_.Update(p, static_cast<size_t>(w));
    p += w;
    left -= static_cast<size_t>(w);
    offset_ += w;
  }
  return absl::OkStatus();
}

absl::StatusOr<BlobInfo> Writer::Commit(int64_t expected_size, const Digest& expected,
                                        const Labels& labels, const std::string& media_type) {
  if (done_) return absl::FailedPreconditionError("ingest already committed");
  if (expected_size >= 0 && offset_ != expected_size) {
    if (offset_ > expected_size) {
      done_ = true;
      (void)RemoveTree(dir_);
    }
    return absl::FailedPreconditionError(absl::StrCat("ingest \"", ref_, "\": size ", offset_,
                                                      " does not match expected ", expected_size));
  }
  Digest actual = hash_.Finish();
  digest_ = actual;
  done_ = true;
  if (!expected.empty() && actual != expected) {
    (void)RemoveTree(dir_);
    return absl::DataLossError(absl::StrCat("ingest \"", ref_, "\": digest ", actual.str(),
                                            " does not match expected ", expected.str()));
  }
  // Committing, deleting and collecting one digest's file never interleave.
  MutexLock blob_lock(&store_->BlobMutex(actual));
  // Already stored (and, with a lease, held): this ingest is not needed.
  // NotFound (never stored, or collected a moment ago) means store it; the
  // collector removes an old file only under this same lock.
  absl::Status stored = lease_.empty()
                            ? (store_->Has(actual) ? absl::OkStatus() : absl::NotFoundError(""))
                            : store_->Hold(actual, lease_);
  if (stored.ok()) {
    (void)RemoveTree(dir_);
    return absl::AlreadyExistsError(absl::StrCat("blob ", actual.str(), " already exists"));
  }
  if (!absl::IsNotFound(stored)) return stored;
  if (::fchmod(fd_.get(), 0444) != 0) return ErrnoToStatus(errno, "chmod ingest");
  if (::fsync(fd_.get()) != 0) return ErrnoToStatus(errno, "fsync ingest");
  std::string target = store_->BlobPath(actual);
  if (::rename((dir_ + "/data").c_str(), target.c_str()) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("rename blob into place ", target));
  }
  STRATA_RETURN_IF_ERROR(FsyncDir(store_->blobs_dir_));
  // Recorded after the rename: a crash in between leaves a blob file without
  // a record, which start-up removes (this commit never returned success).
  absl::StatusOr<BlobInfo> info = store_->Record(actual, offset_, labels, media_type, lease_);
  if (!info.ok()) {
    (void)::unlink(target.c_str());  // no record points at it
    return info.status();
  }
  (void)RemoveTree(dir_);
  return info;
}

ContentStore::ContentStore(meta::Db* db, std::string root)
    : db_(db), blobs_dir_(root + "/content/blobs/sha256"), ingest_dir_(root + "/content/ingest") {}

absl::StatusOr<std::unique_ptr<ContentStore>> ContentStore::Open(meta::Db* db,
                                                                 const std::string& root) {
  std::unique_ptr<ContentStore> s(new ContentStore(db, root));
  STRATA_RETURN_IF_ERROR(MakeDirs(s->blobs_dir_, 0700));
  STRATA_RETURN_IF_ERROR(MakeDirs(s->ingest_dir_, 0700));
  STRATA_RETURN_IF_ERROR(s->Recover());
  return s;
}

namespace {
constexpr absl::string_view kInternalRefPrefix = "strata.internal/";
}  // namespace

std::string ContentStore::InternalRef(absl::string_view what) {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(kInternalRefPrefix, what, "/", ::getpid(), "/", counter.fetch_add(1));
}

bool ContentStore::IsInternalRef(absl::string_view ref) {
  return absl::StartsWith(ref, kInternalRefPrefix);
}

absl::Status ContentStore::Recover() {
  // Ingests of calls that died with the last process, and ingest directories
  // a crash left without their ref (or with a ref that is not theirs), can
  // never be resumed.
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> ingests, ListDir(ingest_dir_));
  for (const std::string& name : ingests) {
    std::string dir = absl::StrCat(ingest_dir_, "/", name);
    absl::StatusOr<std::string> ref = ReadFile(dir + "/ref");
    if (ref.ok() && !IsInternalRef(*ref) && IngestDir(*ref) == dir) continue;
    STRATA_RETURN_IF_ERROR(RemoveTree(dir));
    ++dead_ingests_removed_;
  }
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(blobs_dir_));
  for (const std::string& name : names) {
    absl::StatusOr<Digest> d = Digest::Parse("sha256:" + name);
    if (d.ok() && Has(*d)) continue;
    STRATA_RETURN_IF_ERROR(RemoveTree(absl::StrCat(blobs_dir_, "/", name)));
    ++orphan_blobs_removed_;
  }
  if (orphan_blobs_removed_ > 0) {
    log::Info("removed blobs without records", {{"count", std::to_string(orphan_blobs_removed_)}});
  }
  return absl::OkStatus();
}

std::string ContentStore::BlobPath(const Digest& d) const { return blobs_dir_ + "/" + d.hex(); }

absl::StatusOr<std::vector<std::string>> ContentStore::UnrecordedFiles() const {
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(blobs_dir_));
  std::vector<std::string> out;
  for (const std::string& name : names) {
    absl::StatusOr<Digest> d = Digest::Parse("sha256:" + name);
    if (!d.ok() || !Has(*d)) out.push_back(name);
  }
  return out;
}

absl::Status ContentStore::RemoveUnrecordedFile(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return absl::InvalidArgumentError("not a blob file name");
  absl::StatusOr<Digest> d = Digest::Parse("sha256:" + name);
  if (!d.ok()) return RemoveTree(blobs_dir_ + "/" + name);  // not a blob name at all
  return RemoveCollectedFile(*d);
}

std::string ContentStore::IngestDir(const std::string& ref) const {
  return ingest_dir_ + "/" + Sha256Of(ref).hex().substr(0, 40);
}

bool ContentStore::Has(const Digest& d) const {
  absl::StatusOr<std::optional<std::string>> raw = db_->Get(Family::kBlobs, d.hex());
  return raw.ok() && raw->has_value();
}

absl::StatusOr<BlobInfo> ContentStore::Info(const Digest& d) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, db_->Get(Family::kBlobs, d.hex()));
  if (!raw) return absl::NotFoundError(absl::StrCat("blob ", d.str(), " not found"));
  STRATA_ASSIGN_OR_RETURN(BlobRecord r, Decode(d, *raw));
  return ToInfo(d, r);
}

absl::Status ContentStore::Walk(const std::function<bool(const BlobInfo&)>& fn) const {
  absl::Status inner;
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kBlobs, "", [&](absl::string_view k, absl::string_view v) {
        Digest d = Digest::FromHex(std::string(k));
        absl::StatusOr<BlobRecord> r = Decode(d, v);
        if (!r.ok()) {
          inner = r.status();
          return false;
        }
        return fn(ToInfo(d, *r));
      }));
  return inner;
}

Mutex& ContentStore::BlobMutex(const Digest& d) const {
  const std::string& hex = d.hex();
  size_t stripe = hex.empty() ? 0 : static_cast<size_t>(std::stoi(hex.substr(0, 1), nullptr, 16));
  return blob_mu_[stripe % (sizeof(blob_mu_) / sizeof(blob_mu_[0]))];
}

absl::StatusOr<BlobInfo> ContentStore::Record(const Digest& d, int64_t size, const Labels& labels,
                                              const std::string& media_type,
                                              const std::string& lease) {
  BlobRecord r;
  int64_t now = absl::ToUnixNanos(absl::Now());
  r.set_size(size);
  r.set_media_type(media_type);
  r.mutable_labels()->insert(labels.begin(), labels.end());
  r.set_created_unix_nanos(now);
  r.set_updated_unix_nanos(now);
  meta::WriteTxn txn(db_);
  txn.Put(Family::kBlobs, d.hex(), r.SerializeAsString());
  STRATA_RETURN_IF_ERROR(meta::StageLeaseRef(txn, lease, meta::LeaseResource::kBlob, d.hex(),
                                             meta::LeaseHold::kCreated));
  STRATA_RETURN_IF_ERROR(txn.Commit());
  return ToInfo(d, r);
}

absl::Status ContentStore::Hold(const Digest& d, const std::string& lease) {
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kBlobs, d.hex()));
  if (!raw) return absl::NotFoundError(absl::StrCat("blob ", d.str(), " not found"));
  STRATA_RETURN_IF_ERROR(meta::StageLeaseRef(txn, lease, meta::LeaseResource::kBlob, d.hex()));
  return txn.Commit();
}

void ContentStore::StageCollect(meta::WriteTxn& txn, const Digest& d) const {
  txn.Delete(Family::kBlobs, d.hex());
}

absl::Status ContentStore::RemoveCollectedFile(const Digest& d) {
  MutexLock blob_lock(&BlobMutex(d));
  if (Has(d)) return absl::OkStatus();  // stored again since it was collected
  if (::unlink(BlobPath(d).c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, absl::StrCat("remove blob ", d.str()));
  }
  return absl::OkStatus();
}

absl::Status ContentStore::Delete(const Digest& d) {
  MutexLock blob_lock(&BlobMutex(d));
  {
    meta::WriteTxn txn(db_);
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kBlobs, d.hex()));
    if (!raw) return absl::NotFoundError(absl::StrCat("blob ", d.str(), " not found"));
    txn.Delete(Family::kBlobs, d.hex());
    STRATA_RETURN_IF_ERROR(txn.Commit());
  }
  // Record first, file after: a crash in between leaves a file start-up removes.
  if (::unlink(BlobPath(d).c_str()) != 0 && errno != ENOENT) {
    log::Warn("remove blob file", {{"digest", d.str()}, {"errno", std::to_string(errno)}});
  }
  return absl::OkStatus();
}

absl::StatusOr<BlobInfo> ContentStore::SetLabels(const Digest& d, const Labels& labels) {
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kBlobs, d.hex()));
  if (!raw) return absl::NotFoundError(absl::StrCat("blob ", d.str(), " not found"));
  STRATA_ASSIGN_OR_RETURN(BlobRecord r, Decode(d, *raw));
  r.mutable_labels()->clear();
  r.mutable_labels()->insert(labels.begin(), labels.end());
  r.set_updated_unix_nanos(absl::ToUnixNanos(absl::Now()));
  txn.Put(Family::kBlobs, d.hex(), r.SerializeAsString());
  STRATA_RETURN_IF_ERROR(txn.Commit());
  return ToInfo(d, r);
}

absl::Status ContentStore::NoteMediaType(const Digest& d, const std::string& media_type) {
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kBlobs, d.hex()));
  if (!raw) return absl::NotFoundError(absl::StrCat("blob ", d.str(), " not found"));
  STRATA_ASSIGN_OR_RETURN(BlobRecord r, Decode(d, *raw));
  if (!r.media_type().empty() || media_type.empty()) return absl::OkStatus();
  r.set_media_type(media_type);
  txn.Put(Family::kBlobs, d.hex(), r.SerializeAsString());
  return txn.Commit();
}

absl::StatusOr<UniqueFd> ContentStore::OpenBlob(const Digest& d) const {
  if (!Has(d)) return absl::NotFoundError(absl::StrCat("blob ", d.str(), " not found"));
  UniqueFd fd(::open(BlobPath(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open blob ", d.str()));
  return fd;
}

absl::StatusOr<std::string> ContentStore::ReadAt(const Digest& d, int64_t offset, size_t n) const {
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenBlob(d));
  if (offset < 0) return absl::OutOfRangeError("negative read offset");
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd.get(), out.data() + done, n - done, offset + done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoToStatus(errno, absl::StrCat("read blob ", d.str()));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  out.resize(done);
  return out;
}

absl::StatusOr<Digest> ContentStore::Put(const std::string& data, const std::string& media_type,
                                         const std::string& lease) {
  // The ingest itself needs no lease: it lives only for this call.
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Writer> w, OpenWriter(InternalRef("put")));
  w->lease_ = lease;
  STRATA_RETURN_IF_ERROR(w->Truncate(0));
  STRATA_RETURN_IF_ERROR(w->Write(data.data(), data.size()));
  absl::StatusOr<BlobInfo> info =
      w->Commit(static_cast<int64_t>(data.size()), Digest(), {}, media_type);
  if (!info.ok() && !absl::IsAlreadyExists(info.status())) return info.status();
  return w->digest();
}

absl::StatusOr<std::unique_ptr<Writer>> ContentStore::OpenWriter(const std::string& ref,
                                                                 const std::string& lease) {
  if (ref.empty()) return absl::InvalidArgumentError("ingest ref must not be empty");
  if (!lease.empty()) {
    meta::WriteTxn txn(db_);
    STRATA_RETURN_IF_ERROR(meta::StageLeaseRef(txn, lease, meta::LeaseResource::kIngest, ref,
                                               meta::LeaseHold::kCreated));
    STRATA_RETURN_IF_ERROR(txn.Commit());
  }
  {
    MutexLock l(&mu_);
    if (!open_refs_.insert(ref).second) {
      return absl::UnavailableError(absl::StrCat("ingest \"", ref, "\" is being written"));
    }
  }
  std::string dir = IngestDir(ref);
  bool created = false;
  auto fail = [&](absl::Status s) {
    // An ingest this call created goes again (a client's, and so resumable,
    // one only exists once its ref file does).
    if (created || IsInternalRef(ref)) (void)RemoveTree(dir);
    ReleaseRef(ref);
    return s;
  };
  if (::mkdir(dir.c_str(), 0700) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return fail(ErrnoToStatus(errno, "create ingest"));
  }
  if (!PathExists(dir + "/ref")) {
    // A client's ingest must survive to be resumed; the daemon's own are
    // removed at start-up anyway, so they skip the two fsyncs.
    absl::Status s = WriteFileReplacing(dir + "/ref", ref, 0600, !IsInternalRef(ref));
    if (!s.ok()) return fail(s);
  }
  UniqueFd fd(::open((dir + "/data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail(ErrnoToStatus(errno, "open ingest data"));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail(ErrnoToStatus(errno, "stat ingest"));
  absl::StatusOr<Sha256> hash = HashPrefix(fd.get(), st.st_size);
  if (!hash.ok()) return fail(hash.status());
  return std::unique_ptr<Writer>(
      new Writer(this, ref, lease, dir, std::move(fd), st.st_size, std::move(*hash)));
}

void ContentStore::ReleaseRef(const std::string& ref) {
  MutexLock l(&mu_);
  open_refs_.erase(ref);
}

absl::StatusOr<IngestStatus> ContentStore::Status(const std::string& ref) const {
  std::string dir = IngestDir(ref);
  struct stat st;
  if (::stat((dir + "/data").c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("ingest \"", ref, "\" not found"));
  }
  return IngestStatus{ref, st.st_size, absl::FromTimeT(st.st_mtime)};
}

absl::Status ContentStore::ListIngests(const std::function<void(const IngestStatus&)>& fn) const {
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(ingest_dir_));
  for (const std::string& name : names) {
    absl::StatusOr<std::string> ref = ReadFile(absl::StrCat(ingest_dir_, "/", name, "/ref"));
    if (!ref.ok()) continue;  // being created or removed
    absl::StatusOr<IngestStatus> st = Status(*ref);
    if (st.ok()) fn(*st);
  }
  return absl::OkStatus();
}

absl::Status ContentStore::Abort(const std::string& ref) {
  {
    MutexLock l(&mu_);
    if (open_refs_.count(ref)) {
      return absl::UnavailableError(absl::StrCat("ingest \"", ref, "\" is being written"));
    }
  }
  std::string dir = IngestDir(ref);
  if (!PathExists(dir)) return absl::NotFoundError(absl::StrCat("ingest \"", ref, "\" not found"));
  return RemoveTree(dir);
}

absl::StatusOr<std::optional<int64_t>> ContentStore::AbortIfIdleSince(const std::string& ref,
                                                                      absl::Time cutoff) {
  {
    // Claim the ref as a writer would, so no writer opens it while it goes.
    MutexLock l(&mu_);
    if (!open_refs_.insert(ref).second) return std::nullopt;
  }
  absl::StatusOr<IngestStatus> st = Status(ref);
  std::optional<int64_t> removed;
  absl::Status result;
  if (st.ok() && st->updated < cutoff) {
    result = RemoveTree(IngestDir(ref));
    if (result.ok()) removed = st->offset;
  }
  ReleaseRef(ref);
  STRATA_RETURN_IF_ERROR(result);
  return removed;
}

}  // namespace strata::layerstore
