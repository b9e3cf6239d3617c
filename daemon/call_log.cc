#include "daemon/call_log.h"

#include <google/protobuf/message.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace strata::daemon {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Methods that only read: logged when they fail, not when they succeed.
bool IsReadOnly(absl::string_view method) {
  for (absl::string_view suffix : {"/Stat", "/List", "/Mounts", "/Usage", "/Info", "/Read",
                                   "/Status", "/ListStatuses", "/Get", "/Check", "/DiskUsage"}) {
    if (absl::EndsWith(method, suffix)) return true;
  }
  return false;
}

// The first request, short: enough to say what was asked (never data bytes).
std::string Summary(const google::protobuf::Message& m) {
  constexpr size_t kMax = 200;
  std::string s = m.ShortDebugString();
  return s.size() > kMax ? s.substr(0, kMax) + "..." : s;
}

class CallLog : public grpc::experimental::Interceptor {
 public:
  explicit CallLog(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method()), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        request_.empty()) {
      auto* msg = static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
      if (msg != nullptr) request_ = Summary(*msg);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Log(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Log(const grpc::Status& status) const {
    if (status.ok() && IsReadOnly(method_)) return;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
                    .count();
    if (status.ok()) {
      log::Info("call", {{"method", method_}, {"ms", absl::StrCat(ms)}, {"request", request_}});
    } else {
      log::Warn(
          "call failed",
          {{"method", method_},
           {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))},
           {"error", status.error_message()},
           {"ms", absl::StrCat(ms)},
           {"request", request_}});
    }
  }

  std::string method_;
  std::chrono::steady_clock::time_point start_;
  std::string request_;
};

}  // namespace

grpc::experimental::Interceptor* CallLogFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallLog(info);  // gRPC owns interceptors it asks for
}

}  // namespace strata::daemon
