#include "api/content_service.h"

#include "api/convert.h"
#include "api/grpc_status.h"

namespace strata::api {
namespace {

using layerstore::Digest;
namespace pb = strata::v1;

constexpr size_t kReadChunk = 1 << 20;
constexpr int kListBatch = 100;

grpc::Status ParseDigest(const std::string& s, Digest* out) {
  absl::StatusOr<Digest> d = Digest::Parse(s);
  if (!d.ok()) return ToGrpc(d.status());
  *out = *d;
  return grpc::Status::OK;
}

}  // namespace

grpc::Status ContentService::Info(Ctx*, const pb::ContentInfoRequest* req, pb::BlobInfo* resp) {
  Digest d;
  if (grpc::Status s = ParseDigest(req->digest(), &d); !s.ok()) return s;
  absl::StatusOr<layerstore::BlobInfo> info = store_->Info(d);
  if (!info.ok()) return ToGrpc(info.status());
  ToProto(*info, resp);
  return grpc::Status::OK;
}

grpc::Status ContentService::List(Ctx*, const pb::ListContentRequest*,
                                  grpc::ServerWriter<pb::ListContentResponse>* w) {
  pb::ListContentResponse batch;
  bool ok = true;
  absl::Status s = store_->Walk([&](const layerstore::BlobInfo& info) {
    ToProto(info, batch.add_info());
    if (batch.info_size() >= kListBatch) {
      ok = w->Write(batch);
      batch.Clear();
    }
    return ok;
  });
  if (!s.ok()) return ToGrpc(s);
  if (ok && batch.info_size() > 0) w->Write(batch);
  return grpc::Status::OK;
}

grpc::Status ContentService::Delete(Ctx*, const pb::DeleteContentRequest* req,
                                    google::protobuf::Empty*) {
  Digest d;
  if (grpc::Status s = ParseDigest(req->digest(), &d); !s.ok()) return s;
  absl::Status s = store_->Delete(d);
  if (s.ok() && on_delete_) on_delete_();
  return ToGrpc(s);
}

grpc::Status ContentService::Update(Ctx*, const pb::UpdateContentRequest* req, pb::BlobInfo* resp) {
  Digest d;
  if (grpc::Status s = ParseDigest(req->digest(), &d); !s.ok()) return s;
  absl::StatusOr<layerstore::BlobInfo> info =
      store_->SetLabels(d, layerstore::Labels(req->labels().begin(), req->labels().end()));
  if (!info.ok()) return ToGrpc(info.status());
  ToProto(*info, resp);
  return grpc::Status::OK;
}

grpc::Status ContentService::Read(Ctx* ctx, const pb::ReadContentRequest* req,
                                  grpc::ServerWriter<pb::ReadContentResponse>* w) {
  Digest d;
  if (grpc::Status s = ParseDigest(req->digest(), &d); !s.ok()) return s;
  absl::StatusOr<layerstore::BlobInfo> info = store_->Info(d);
  if (!info.ok()) return ToGrpc(info.status());
  if (req->offset() < 0 || req->offset() > info->size || req->size() < 0) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "read offset or size out of range");
  }
  int64_t end = req->size() == 0 ? info->size : std::min(info->size, req->offset() + req->size());
  for (int64_t off = req->offset(); off < end && !ctx->IsCancelled();) {
    size_t n = static_cast<size_t>(std::min<int64_t>(kReadChunk, end - off));
    absl::StatusOr<std::string> data = store_->ReadAt(d, off, n);
    if (!data.ok()) return ToGrpc(data.status());
    pb::ReadContentResponse chunk;
    chunk.set_offset(off);
    chunk.set_data(std::move(*data));
    if (!w->Write(chunk)) break;
    off += static_cast<int64_t>(n);
  }
  return grpc::Status::OK;
}

grpc::Status ContentService::Write(Ctx* ctx, grpc::ServerReader<pb::WriteContentRequest>* r,
                                   pb::WriteContentResponse* resp) {
  pb::WriteContentRequest msg;
  if (!r->Read(&msg)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty write");
  if (layerstore::ContentStore::IsInternalRef(msg.ref())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "write: refs starting with \"strata.internal/\" are the daemon's own");
  }
  absl::StatusOr<std::unique_ptr<layerstore::Writer>> w =
      store_->OpenWriter(msg.ref(), LeaseOf(ctx));
  if (!w.ok()) return ToGrpc(w.status());
  if (absl::Status s = (*w)->Truncate(msg.offset()); !s.ok()) return ToGrpc(s);
  std::string expected = msg.expected();
  int64_t total = msg.total();
  while (true) {
    if (!msg.data().empty()) {
      if (absl::Status s = (*w)->Write(msg.data().data(), msg.data().size()); !s.ok()) {
        return ToGrpc(s);
      }
    }
    if (!msg.expected().empty()) expected = msg.expected();
    if (msg.total() != 0) total = msg.total();
    if (msg.commit()) {
      Digest want;
      if (!expected.empty()) {
        if (grpc::Status s = ParseDigest(expected, &want); !s.ok()) return s;
      }
      layerstore::Labels labels(msg.labels().begin(), msg.labels().end());
      absl::StatusOr<layerstore::BlobInfo> info =
          (*w)->Commit(total > 0 ? total : -1, want, labels, msg.media_type());
      if (!info.ok()) return ToGrpc(info.status());
      resp->set_digest(info->digest.str());
      resp->set_offset(info->size);
      return grpc::Status::OK;
    }
    if (!r->Read(&msg)) break;
  }
  // The client went away or ended without committing: the ingest stays for a resume.
  resp->set_offset((*w)->offset());
  return grpc::Status::OK;
}

grpc::Status ContentService::Status(Ctx*, const pb::ContentStatusRequest* req,
                                    pb::ContentStatusResponse* resp) {
  absl::StatusOr<layerstore::IngestStatus> st = store_->Status(req->ref());
  if (!st.ok()) return ToGrpc(st.status());
  resp->set_ref(st->ref);
  resp->set_offset(st->offset);
  ToProto(st->updated, resp->mutable_updated_at());
  return grpc::Status::OK;
}

grpc::Status ContentService::ListStatuses(Ctx*, const pb::ListContentStatusesRequest*,
                                          pb::ListContentStatusesResponse* resp) {
  return ToGrpc(store_->ListIngests([&](const layerstore::IngestStatus& st) {
    pb::ContentStatusResponse* out = resp->add_statuses();
    out->set_ref(st.ref);
    out->set_offset(st.offset);
    ToProto(st.updated, out->mutable_updated_at());
  }));
}

grpc::Status ContentService::Abort(Ctx*, const pb::AbortContentRequest* req,
                                   google::protobuf::Empty*) {
  return ToGrpc(store_->Abort(req->ref()));
}

}  // namespace strata::api
