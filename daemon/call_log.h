// One structured log line for every call that changes the store (import,
// delete, commit, export, prepare, view, remove, gc, lease changes...) and
// for every call that fails, with its method, status, duration and a short
// form of its first request; and every call, to an observer (the metrics).
// A gRPC server interceptor, so no handler has to remember to log.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <string>

namespace strata::daemon {

// Told of every finished call: its full method name, status code and seconds.
using CallObserver = std::function<void(const std::string& method, int code, double seconds)>;

class CallLogFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `observer` (may be empty) hears of every call, read-only ones included.
  explicit CallLogFactory(CallObserver observer = {}) : observer_(std::move(observer)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  CallObserver observer_;
};

}  // namespace strata::daemon
