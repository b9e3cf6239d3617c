// One structured log line for every call that changes the store (import,
// delete, commit, export, prepare, view, remove, gc, lease changes...) and
// for every call that fails, with its method, status, duration and a short
// form of its first request. A gRPC server interceptor, so no handler has to
// remember to log.
#pragma once

#include <grpcpp/support/server_interceptor.h>

namespace strata::daemon {

class CallLogFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace strata::daemon
