// strata.v1.Content over the content store. Thread-safe.
#pragma once

#include "api/call_lease.h"
#include "layerstore/content_store.h"
#include "strata/v1/content.grpc.pb.h"

namespace strata::api {

class ContentService final : public strata::v1::Content::Service {
 public:
  // `store` must outlive the service; `on_delete` (optional) hears of each deletion.
  explicit ContentService(layerstore::ContentStore* store, DeletionHook on_delete = nullptr)
      : store_(store), on_delete_(std::move(on_delete)) {}

  using Ctx = grpc::ServerContext;
  grpc::Status Info(Ctx*, const strata::v1::ContentInfoRequest*, strata::v1::BlobInfo*) override;
  grpc::Status List(Ctx*, const strata::v1::ListContentRequest*,
                    grpc::ServerWriter<strata::v1::ListContentResponse>*) override;
  grpc::Status Delete(Ctx*, const strata::v1::DeleteContentRequest*,
                      google::protobuf::Empty*) override;
  grpc::Status Update(Ctx*, const strata::v1::UpdateContentRequest*,
                      strata::v1::BlobInfo*) override;
  grpc::Status Read(Ctx*, const strata::v1::ReadContentRequest*,
                    grpc::ServerWriter<strata::v1::ReadContentResponse>*) override;
  grpc::Status Write(Ctx*, grpc::ServerReader<strata::v1::WriteContentRequest>*,
                     strata::v1::WriteContentResponse*) override;
  grpc::Status Status(Ctx*, const strata::v1::ContentStatusRequest*,
                      strata::v1::ContentStatusResponse*) override;
  grpc::Status ListStatuses(Ctx*, const strata::v1::ListContentStatusesRequest*,
                            strata::v1::ListContentStatusesResponse*) override;
  grpc::Status Abort(Ctx*, const strata::v1::AbortContentRequest*,
                     google::protobuf::Empty*) override;

 private:
  layerstore::ContentStore* store_;
  DeletionHook on_delete_;
};

}  // namespace strata::api
