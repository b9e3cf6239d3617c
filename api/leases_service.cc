#include "api/leases_service.h"

#include "absl/strings/str_cat.h"
#include "api/convert.h"
#include "api/grpc_status.h"

namespace strata::api {
namespace {

namespace pb = strata::v1;

// containerd's clients give a lease's expiry as this label (RFC 3339).
constexpr char kExpireLabel[] = "containerd.io/gc.expire";

void FillLease(const meta::LeaseInfo& info, int64_t resources, pb::Lease* out) {
  out->set_id(info.id);
  ToProto(info.created, out->mutable_created_at());
  if (info.expires) ToProto(*info.expires, out->mutable_expires_at());
  out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
  out->set_resources(resources);
}

int64_t CountResources(const meta::Leases& leases, const std::string& id) {
  int64_t n = 0;
  (void)leases.Resources(id, [&](meta::LeaseResource, absl::string_view) { ++n; });
  return n;
}

}  // namespace

grpc::Status LeasesService::Create(Ctx*, const pb::CreateLeaseRequest* req, pb::Lease* resp) {
  if (req->ttl_seconds() < 0) {
    return ToGrpc(absl::InvalidArgumentError("lease ttl must not be negative"));
  }
  std::map<std::string, std::string> labels(req->labels().begin(), req->labels().end());
  std::optional<absl::Time> expires;
  if (req->ttl_seconds() > 0) expires = absl::Now() + absl::Seconds(req->ttl_seconds());
  if (auto it = labels.find(kExpireLabel); it != labels.end()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, it->second, &t, &err)) {
      return ToGrpc(absl::InvalidArgumentError(
          absl::StrCat("label ", kExpireLabel, "=\"", it->second, "\" is not an RFC 3339 time")));
    }
    if (!expires || t < *expires) expires = t;
  }
  absl::StatusOr<meta::LeaseInfo> info = leases_->Create(req->id(), expires, labels);
  if (!info.ok()) return ToGrpc(info.status());
  FillLease(*info, 0, resp);
  return grpc::Status::OK;
}

grpc::Status LeasesService::List(Ctx*, const pb::ListLeasesRequest*, pb::ListLeasesResponse* resp) {
  absl::Status s = leases_->List([&](const meta::LeaseInfo& info) {
    FillLease(info, CountResources(*leases_, info.id), resp->add_leases());
  });
  return ToGrpc(s);
}

grpc::Status LeasesService::Delete(Ctx*, const pb::DeleteLeaseRequest* req,
                                   pb::DeleteLeaseResponse*) {
  absl::Status s = meta::ValidateLeaseId(req->id());
  if (s.ok()) s = leases_->Delete(req->id());
  if (s.ok() && on_delete_) on_delete_();
  return ToGrpc(s);
}

}  // namespace strata::api
