#include "layerstore/image_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_util.h"
#include "layerstore/image_ref.h"
#include "layerstore/reference.h"
#include "strata/meta/v1/records.pb.h"

namespace strata::layerstore {
namespace {

using meta::Family;
using meta::v1::ImageRecord;

// JSON documents (manifests, configs, indexes) are small; a bigger one is hostile.
constexpr int64_t kMaxJsonBlob = 16 << 20;

absl::StatusOr<ImageInfo> Decode(const std::string& name, absl::string_view raw) {
  ImageRecord r;
  if (!r.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return absl::DataLossError(absl::StrCat("image \"", name, "\": corrupt metadata record"));
  }
  ImageInfo info;
  info.name = name;
  info.target.media_type = r.target_media_type();
  STRATA_ASSIGN_OR_RETURN(info.target.digest, Digest::Parse(r.target_digest()));
  info.target.size = r.target_size();
  STRATA_ASSIGN_OR_RETURN(info.manifest, Digest::Parse(r.manifest_digest()));
  info.labels = Labels(r.labels().begin(), r.labels().end());
  info.created = absl::FromUnixNanos(r.created_unix_nanos());
  info.updated = absl::FromUnixNanos(r.updated_unix_nanos());
  return info;
}

}  // namespace

namespace {

std::string Normalized(const std::string& name) {
  absl::StatusOr<ImageRef> ref = ParseImageRef(name);
  return ref.ok() ? ref->String() : name;
}

// What `name` is stored as: valid, in its normalised form (the one rule for
// every name stored and looked up: "mybb:x" is docker.io/library/mybb:x), and
// naming by digest only what the image is (its index or its manifest).
absl::StatusOr<std::string> StorableName(const std::string& name, const Digest& target,
                                         const Digest& manifest) {
  STRATA_RETURN_IF_ERROR(ValidateImageName(name));
  STRATA_ASSIGN_OR_RETURN(ImageRef ref, ParseImageRef(name));
  if (!ref.digest.empty() && ref.digest != target.str() && ref.digest != manifest.str()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name \"", name, "\" carries digest ", ref.digest, ", but the image is ", target.str()));
  }
  return ref.String();
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ImageStore::StoredName(meta::WriteTxn& txn,
                                                                  const std::string& name) const {
  for (const std::string& candidate : {name, Normalized(name)}) {
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kImages, candidate));
    if (raw) return std::optional<std::string>(candidate);
  }
  return std::optional<std::string>();
}

absl::StatusOr<ImageInfo> ImageStore::Put(const ImageInfo& info) {
  STRATA_ASSIGN_OR_RETURN(std::string name,
                          StorableName(info.name, info.target.digest, info.manifest));
  ImageRecord r;
  int64_t now = absl::ToUnixNanos(absl::Now());
  r.set_target_digest(info.target.digest.str());
  r.set_target_media_type(info.target.media_type);
  r.set_target_size(info.target.size);
  r.set_manifest_digest(info.manifest.str());
  r.mutable_labels()->insert(info.labels.begin(), info.labels.end());
  r.set_updated_unix_nanos(now);
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> old, txn.Get(Family::kImages, name));
  ImageRecord prev;
  r.set_created_unix_nanos(old && prev.ParseFromString(*old) ? prev.created_unix_nanos() : now);
  std::string encoded = r.SerializeAsString();
  txn.Put(Family::kImages, name, encoded);
  STRATA_RETURN_IF_ERROR(txn.Commit());
  ++generation_;
  return Decode(name, encoded);
}

absl::StatusOr<ImageInfo> ImageStore::Tag(const std::string& source, const std::string& new_name) {
  // One transaction: the source cannot be deleted (and its blobs collected)
  // between reading it and writing the new name.
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> stored, StoredName(txn, source));
  if (!stored) return absl::NotFoundError(absl::StrCat("image \"", source, "\" not found"));
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> src, txn.Get(Family::kImages, *stored));
  if (!src) return absl::NotFoundError(absl::StrCat("image \"", source, "\" not found"));
  ImageRecord r;
  if (!r.ParseFromString(*src)) {
    return absl::DataLossError(absl::StrCat("image \"", source, "\": record does not parse"));
  }
  // As docker tag: "mybox:1" is docker.io/library/mybox:1.
  STRATA_ASSIGN_OR_RETURN(Digest target, Digest::Parse(r.target_digest()));
  STRATA_ASSIGN_OR_RETURN(Digest manifest, Digest::Parse(r.manifest_digest()));
  STRATA_ASSIGN_OR_RETURN(std::string name, StorableName(new_name, target, manifest));
  int64_t now = absl::ToUnixNanos(absl::Now());
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> old, txn.Get(Family::kImages, name));
  ImageRecord prev;
  r.set_created_unix_nanos(old && prev.ParseFromString(*old) ? prev.created_unix_nanos() : now);
  r.set_updated_unix_nanos(now);
  std::string encoded = r.SerializeAsString();
  txn.Put(Family::kImages, name, encoded);
  STRATA_RETURN_IF_ERROR(txn.Commit());
  ++generation_;
  return Decode(name, encoded);
}

absl::Status ImageStore::CheckNoImageNeeds(const std::string& key) const {
  absl::StatusOr<Digest> chain = Digest::Parse(key);
  if (!chain.ok()) return absl::OkStatus();  // not a layer's key
  absl::Status found;
  STRATA_RETURN_IF_ERROR(List([&](const ImageInfo& info) {
    absl::StatusOr<ResolvedImage> img = Resolve(info);
    if (!img.ok()) return true;  // unreadable: fsck reports it
    for (size_t i = 0; i < img->chain_ids.size(); ++i) {
      if (img->chain_ids[i] != *chain) continue;
      found = absl::FailedPreconditionError(
          absl::StrCat("snapshot \"", key, "\" is layer ", i + 1, " of image \"", info.name,
                       "\"; delete the image first (strata rmi), its layers go at gc"));
      return false;
    }
    return true;
  }));
  return found;
}

absl::StatusOr<ImageInfo> ImageStore::Get(const std::string& name) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, db_->Get(Family::kImages, name));
  std::string found = name;
  if (!raw && Normalized(name) != name) {
    found = Normalized(name);
    STRATA_ASSIGN_OR_RETURN(raw, db_->Get(Family::kImages, found));
  }
  if (!raw) return absl::NotFoundError(absl::StrCat("image \"", name, "\" not found"));
  return Decode(found, *raw);
}

absl::Status ImageStore::List(const std::function<bool(const ImageInfo&)>& fn) const {
  absl::Status inner;
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kImages, "", [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<ImageInfo> info = Decode(std::string(k), v);
        if (!info.ok()) {
          inner = info.status();
          return false;
        }
        return fn(*info);
      }));
  return inner;
}

absl::StatusOr<int> ImageStore::NormalizeStoredNames() {
  std::vector<std::string> stray;
  STRATA_RETURN_IF_ERROR(List([&](const ImageInfo& info) {
    if (Normalized(info.name) != info.name) stray.push_back(info.name);
    return true;
  }));
  int moved = 0;
  for (const std::string& name : stray) {
    const std::string normal = Normalized(name);
    meta::WriteTxn txn(db_);
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(Family::kImages, name));
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> taken, txn.Get(Family::kImages, normal));
    if (!raw) continue;
    if (taken && *taken != *raw) {
      ImageRecord a, b;
      if (!a.ParseFromString(*raw) || !b.ParseFromString(*taken) ||
          a.target_digest() != b.target_digest()) {
        log::Warn("image name not normalised: its normalised form names another image",
                  {{"name", name}, {"normalised", normal}});
        continue;
      }
    }
    if (!taken) txn.Put(Family::kImages, normal, *raw);
    txn.Delete(Family::kImages, name);
    STRATA_RETURN_IF_ERROR(txn.Commit());
    ++generation_;
    ++moved;
  }
  return moved;
}

absl::StatusOr<std::vector<std::string>> ImageStore::DeletePicked(
    const std::function<absl::StatusOr<std::vector<std::string>>(const std::vector<ImageInfo>&)>&
        pick) {
  meta::WriteTxn txn(db_);  // holds the writer lock: the list below stays true until Commit
  std::vector<ImageInfo> all;
  STRATA_RETURN_IF_ERROR(List([&](const ImageInfo& info) {
    all.push_back(info);
    return true;
  }));
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, pick(all));
  if (names.empty()) return names;
  for (const std::string& name : names) txn.Delete(Family::kImages, name);
  STRATA_RETURN_IF_ERROR(txn.Commit());
  ++generation_;
  return names;
}

absl::Status ImageStore::Delete(const std::string& name) {
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> stored, StoredName(txn, name));
  if (!stored) return absl::NotFoundError(absl::StrCat("image \"", name, "\" not found"));
  txn.Delete(Family::kImages, *stored);
  STRATA_RETURN_IF_ERROR(txn.Commit());
  ++generation_;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ImageStore::ReadJsonBlob(const Descriptor& d) const {
  STRATA_ASSIGN_OR_RETURN(BlobInfo info, content_->Info(d.digest));
  if (info.size != d.size) {
    return absl::InvalidArgumentError(absl::StrCat("blob ", d.digest.str(), " is ", info.size,
                                                   " bytes, its descriptor says ", d.size));
  }
  if (info.size > kMaxJsonBlob) {
    return absl::InvalidArgumentError(
        absl::StrCat("blob ", d.digest.str(), " is too large for JSON"));
  }
  return content_->ReadAt(d.digest, 0, static_cast<size_t>(info.size));
}

absl::StatusOr<ResolvedImage> ImageStore::Resolve(const std::string& name) const {
  STRATA_ASSIGN_OR_RETURN(ImageInfo info, Get(name));
  return Resolve(info);
}

absl::StatusOr<ResolvedImage> ImageStore::Resolve(const ImageInfo& info) const {
  ResolvedImage r;
  r.info = info;
  Descriptor manifest_desc;
  manifest_desc.digest = r.info.manifest;
  STRATA_ASSIGN_OR_RETURN(BlobInfo blob, content_->Info(r.info.manifest));
  manifest_desc.size = blob.size;
  STRATA_ASSIGN_OR_RETURN(std::string text, ReadJsonBlob(manifest_desc));
  STRATA_ASSIGN_OR_RETURN(r.manifest, ParseManifest(text, "manifest " + r.info.manifest.str()));
  STRATA_ASSIGN_OR_RETURN(text, ReadJsonBlob(r.manifest.config));
  STRATA_ASSIGN_OR_RETURN(r.config, ParseConfig(text, "config " + r.manifest.config.digest.str()));
  r.chain_ids = ChainIds(r.config.diff_ids);
  return r;
}

}  // namespace strata::layerstore
