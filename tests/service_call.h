// Calls a gRPC service's handler in process, as the server would after
// decoding the request: for tests and fuzzers that drive the services
// without a socket.
#pragma once

#include <grpcpp/grpcpp.h>

namespace strata::testing {

template <typename Service, typename Req, typename Resp>
grpc::Status CallHandler(Service* service,
                         grpc::Status (Service::*method)(grpc::ServerContext*, const Req*, Resp*),
                         const Req& req, Resp* resp = nullptr) {
  grpc::ServerContext ctx;
  Resp unused;
  return (service->*method)(&ctx, &req, resp != nullptr ? resp : &unused);
}

}  // namespace strata::testing
