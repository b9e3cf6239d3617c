#include "api/images_service.h"

#include <chrono>
#include <mutex>

#include "api/convert.h"
#include "api/grpc_status.h"
#include "api/request_data_source.h"
#include "layerstore/exporter.h"
#include "layerstore/reference.h"

namespace strata::api {
namespace {

namespace pb = strata::v1;
using Stream = grpc::ServerReaderWriter<pb::ImportResponse, pb::ImportRequest>;

// Sends progress at most every 100 ms, and always the last of a phase, as
// `Response`s on `S` (an import's, a pull's or a push's stream).
template <typename S, typename Response>
class ProgressSender {
 public:
  explicit ProgressSender(S* stream) : stream_(stream) {}
  // Called from any thread (a pull's downloads run on several): one write at a time.
  void operator()(const std::string& phase, int64_t done, int64_t total) {
    std::lock_guard<std::mutex> l(mu_);
    auto now = std::chrono::steady_clock::now();
    if (phase == last_phase_ && done != total && now - last_ < std::chrono::milliseconds(100))
      return;
    last_ = now;
    last_phase_ = phase;
    Response msg;
    msg.mutable_progress()->set_phase(phase);
    msg.mutable_progress()->set_done(done);
    msg.mutable_progress()->set_total(total);
    stream_->Write(msg);
  }

 private:
  S* stream_;
  std::mutex mu_;
  std::string last_phase_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

grpc::Status ImagesService::Import(Ctx* ctx, Stream* stream) {
  pb::ImportRequest first;
  if (!stream->Read(&first) || first.part_case() != pb::ImportRequest::kHeader) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "import: the first message must be a header");
  }
  absl::StatusOr<layerstore::CallScope> call = BeginCall(leases_, gc_, ctx);
  if (!call.ok()) return ToGrpc(call.status());
  layerstore::ImportOptions opts = options_;
  opts.name = first.header().name();
  opts.lease = call->lease();
  opts.cancel = CancellationOf(ctx);
  ProgressSender<Stream, pb::ImportResponse> progress(stream);
  absl::StatusOr<std::vector<layerstore::ImportedImage>> imported;
  if (!first.header().path().empty()) {
    imported = importer_->ImportPath(first.header().path(), opts, std::ref(progress));
  } else {
    RequestDataSource<pb::ImportRequest> source(stream, "import");
    imported = importer_->Import(&source, opts, std::ref(progress));
  }
  imported = call->Finish(std::move(imported));
  if (!imported.ok()) return ToGrpc(imported.status());
  for (const layerstore::ImportedImage& img : *imported) {
    absl::StatusOr<layerstore::ResolvedImage> resolved = images_->Resolve(img.info);
    if (!resolved.ok()) return ToGrpc(resolved.status());
    pb::ImportResponse msg;
    ToProto(*resolved, *snapshots_, msg.mutable_image());
    stream->Write(msg);
  }
  return grpc::Status::OK;
}

grpc::Status ImagesService::Pull(Ctx* ctx, const pb::PullImageRequest* req,
                                 grpc::ServerWriter<pb::PullImageResponse>* stream) {
  if (puller_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "pull: this daemon has no registry client");
  }
  absl::StatusOr<registry::ImageRef> ref = registry::ParseImageRef(req->ref());
  if (!ref.ok()) return ToGrpc(ref.status());
  registry::PullOptions opts;
  if (!req->platform().empty()) {
    absl::StatusOr<layerstore::Platform> platform = registry::ParsePlatform(req->platform());
    if (!platform.ok()) return ToGrpc(platform.status());
    opts.platform = *platform;
  }
  opts.name = req->name();
  if (!opts.name.empty()) {
    absl::Status valid = layerstore::ValidateImageName(opts.name);
    if (!valid.ok()) return ToGrpc(valid);
  }
  absl::StatusOr<layerstore::CallScope> call = BeginCall(leases_, gc_, ctx);
  if (!call.ok()) return ToGrpc(call.status());
  opts.lease = call->lease();
  opts.cancel = CancellationOf(ctx);
  ProgressSender<grpc::ServerWriter<pb::PullImageResponse>, pb::PullImageResponse> progress(stream);
  absl::StatusOr<layerstore::ImportedImage> pulled =
      call->Finish(puller_->Pull(*ref, opts, std::ref(progress)));
  if (!pulled.ok()) return ToGrpc(pulled.status());
  absl::StatusOr<layerstore::ResolvedImage> resolved = images_->Resolve(pulled->info);
  if (!resolved.ok()) return ToGrpc(resolved.status());
  pb::PullImageResponse msg;
  ToProto(*resolved, *snapshots_, msg.mutable_image());
  stream->Write(msg);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Push(Ctx* ctx, const pb::PushImageRequest* req,
                                 grpc::ServerWriter<pb::PushImageResponse>* stream) {
  if (pusher_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "push: this daemon has no registry client");
  }
  absl::StatusOr<registry::ImageRef> ref = registry::ParseImageRef(req->ref());
  if (!ref.ok()) return ToGrpc(ref.status());
  // Held for the push: a name deleted meanwhile leaves its blobs readable.
  absl::StatusOr<layerstore::CallScope> call = BeginCall(leases_, gc_, ctx);
  if (!call.ok()) return ToGrpc(call.status());
  ProgressSender<grpc::ServerWriter<pb::PushImageResponse>, pb::PushImageResponse> progress(stream);
  absl::StatusOr<registry::PushResult> pushed =
      call->Finish(pusher_->Push(req->name(), *ref, std::ref(progress), CancellationOf(ctx)));
  if (!pushed.ok()) return ToGrpc(pushed.status());
  pb::PushImageResponse msg;
  pb::PushedImage* out = msg.mutable_result();
  ToProto(pushed->pushed, out->mutable_pushed());
  out->set_blobs_present(pushed->blobs_present);
  out->set_blobs_mounted(pushed->blobs_mounted);
  out->set_blobs_uploaded(pushed->blobs_uploaded);
  out->set_bytes_uploaded(pushed->bytes_uploaded);
  stream->Write(msg);
  return grpc::Status::OK;
}

grpc::Status ImagesService::List(Ctx*, const pb::ListImagesRequest*, pb::ListImagesResponse* resp) {
  absl::Status inner;
  absl::Status s = images_->List([&](const layerstore::ImageInfo& info) {
    absl::StatusOr<layerstore::ResolvedImage> r = images_->Resolve(info.name);
    if (absl::IsNotFound(r.status()) && absl::IsNotFound(images_->Get(info.name).status())) {
      return true;  // deleted while the list was read (its blobs may be collected already)
    }
    if (!r.ok()) {
      inner = r.status();
      return false;
    }
    ToProto(*r, *snapshots_, resp->add_images());
    return true;
  });
  return ToGrpc(s.ok() ? inner : s);
}

grpc::Status ImagesService::Get(Ctx*, const pb::GetImageRequest* req, pb::Image* resp) {
  absl::StatusOr<layerstore::ResolvedImage> r = images_->Resolve(req->name());
  if (!r.ok()) return ToGrpc(r.status());
  ToProto(*r, *snapshots_, resp);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Tag(Ctx*, const pb::TagImageRequest* req, pb::Image* resp) {
  absl::StatusOr<layerstore::ImageInfo> info = images_->Tag(req->source(), req->name());
  if (!info.ok()) return ToGrpc(info.status());
  absl::StatusOr<layerstore::ResolvedImage> r = images_->Resolve(*info);
  if (!r.ok()) return ToGrpc(r.status());
  ToProto(*r, *snapshots_, resp);
  return grpc::Status::OK;
}

grpc::Status ImagesService::Delete(Ctx*, const pb::DeleteImageRequest* req,
                                   google::protobuf::Empty*) {
  absl::Status s = images_->Delete(req->name());
  if (s.ok() && on_delete_) on_delete_();
  return ToGrpc(s);
}

grpc::Status ImagesService::Commit(Ctx* ctx, const pb::CommitImageRequest* req, pb::Image* resp) {
  absl::StatusOr<layerstore::Compression> c = layerstore::ParseCompression(req->compression());
  if (!c.ok()) return ToGrpc(c.status());
  absl::StatusOr<layerstore::CallScope> call = BeginCall(leases_, gc_, ctx);
  if (!call.ok()) return ToGrpc(call.status());
  if (req->squash() && squasher_ == nullptr) {
    return ToGrpc(absl::UnimplementedError("this server cannot squash commits"));
  }
  absl::StatusOr<layerstore::ImageInfo> info = call->Finish(
      req->squash() ? squasher_->CommitSquashed(req->base(), req->snapshot_key(), req->name(), *c,
                                                call->lease(), CancellationOf(ctx))
                    : committer_->CommitImage(req->base(), req->snapshot_key(), req->name(), *c,
                                              call->lease(), CancellationOf(ctx)));
  if (!info.ok()) return ToGrpc(info.status());
  absl::StatusOr<layerstore::ResolvedImage> r = images_->Resolve(*info);
  if (!r.ok()) return ToGrpc(r.status());
  ToProto(*r, *snapshots_, resp);
  return grpc::Status::OK;
}

namespace {

// Archive bytes to the call's stream, in messages of up to 1 MiB.
class StreamSink : public layerstore::ByteSink {
 public:
  StreamSink(grpc::ServerContext* ctx, grpc::ServerWriter<pb::ExportImageResponse>* w)
      : ctx_(ctx), w_(w) {}
  absl::Status Write(const char* data, size_t n) override {
    buf_.append(data, n);
    return buf_.size() >= kChunk ? Send() : absl::OkStatus();
  }
  absl::Status Close() override { return buf_.empty() ? absl::OkStatus() : Send(); }

 private:
  static constexpr size_t kChunk = 1 << 20;
  absl::Status Send() {
    pb::ExportImageResponse msg;
    msg.set_data(std::move(buf_));
    buf_.clear();
    if (ctx_->IsCancelled() || !w_->Write(msg))
      return absl::CancelledError("export: client went away");
    return absl::OkStatus();
  }
  grpc::ServerContext* ctx_;
  grpc::ServerWriter<pb::ExportImageResponse>* w_;
  std::string buf_;
};

}  // namespace

grpc::Status ImagesService::Export(Ctx* ctx, const pb::ExportImageRequest* req,
                                   grpc::ServerWriter<pb::ExportImageResponse>* w) {
  absl::StatusOr<layerstore::ExportFormat> format = layerstore::ParseExportFormat(req->format());
  if (!format.ok()) return ToGrpc(format.status());
  StreamSink sink(ctx, w);
  return ToGrpc(layerstore::ExportImage(*images_, *content_, req->name(), *format, &sink));
}

}  // namespace strata::api
