// strata.v1.Images over the importer, the registry puller and pusher, and the image store.
// Thread-safe; an import runs on its call's thread (the unpacker spreads layers over its own).
#pragma once

#include "api/call_lease.h"
#include "layerstore/committer.h"
#include "layerstore/image_store.h"
#include "layerstore/importer.h"
#include "layerstore/squasher.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "snapshotter/snapshotter.h"
#include "strata/v1/images.grpc.pb.h"

namespace strata::api {

class ImagesService final : public strata::v1::Images::Service {
 public:
  // All must outlive the service. `options` carries the daemon's import policy.
  ImagesService(layerstore::Importer* importer, layerstore::ImageStore* images,
                layerstore::ContentStore* content, snapshotter::Snapshotter* snapshots,
                layerstore::Committer* committer, meta::Leases* leases,
                layerstore::GarbageCollector* gc, layerstore::ImportOptions options,
                registry::Puller* puller = nullptr, registry::Pusher* pusher = nullptr,
                DeletionHook on_delete = nullptr, layerstore::Squasher* squasher = nullptr)
      : importer_(importer),
        images_(images),
        content_(content),
        snapshots_(snapshots),
        committer_(committer),
        leases_(leases),
        gc_(gc),
        options_(std::move(options)),
        puller_(puller),
        pusher_(pusher),
        on_delete_(std::move(on_delete)),
        squasher_(squasher) {}

  using Ctx = grpc::ServerContext;
  grpc::Status Import(
      Ctx*,
      grpc::ServerReaderWriter<strata::v1::ImportResponse, strata::v1::ImportRequest>*) override;
  grpc::Status List(Ctx*, const strata::v1::ListImagesRequest*,
                    strata::v1::ListImagesResponse*) override;
  grpc::Status Get(Ctx*, const strata::v1::GetImageRequest*, strata::v1::Image*) override;
  grpc::Status Tag(Ctx*, const strata::v1::TagImageRequest*, strata::v1::Image*) override;
  grpc::Status Delete(Ctx*, const strata::v1::DeleteImageRequest*,
                      google::protobuf::Empty*) override;
  grpc::Status Commit(Ctx*, const strata::v1::CommitImageRequest*, strata::v1::Image*) override;
  grpc::Status Export(Ctx*, const strata::v1::ExportImageRequest*,
                      grpc::ServerWriter<strata::v1::ExportImageResponse>*) override;
  grpc::Status Pull(Ctx*, const strata::v1::PullImageRequest*,
                    grpc::ServerWriter<strata::v1::PullImageResponse>*) override;
  grpc::Status Push(Ctx*, const strata::v1::PushImageRequest*,
                    grpc::ServerWriter<strata::v1::PushImageResponse>*) override;

 private:
  layerstore::Importer* importer_;
  layerstore::ImageStore* images_;
  layerstore::ContentStore* content_;
  snapshotter::Snapshotter* snapshots_;
  layerstore::Committer* committer_;
  meta::Leases* leases_;
  layerstore::GarbageCollector* gc_;
  const layerstore::ImportOptions options_;
  registry::Puller* const puller_;  // null: pulls are refused
  registry::Pusher* const pusher_;  // null: pushes are refused
  const DeletionHook on_delete_;
  layerstore::Squasher* squasher_;  // null: Commit cannot squash
};

}  // namespace strata::api
