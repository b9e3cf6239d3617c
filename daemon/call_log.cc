#include "daemon/call_log.h"

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

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
// (Check repairs when asked, so it counts as a change.)
bool IsReadOnly(absl::string_view method) {
  for (absl::string_view suffix : {"/Stat", "/List", "/Mounts", "/Usage", "/Info", "/Read",
                                   "/Status", "/ListStatuses", "/Get", "/DiskUsage"}) {
    if (absl::EndsWith(method, suffix)) return true;
  }
  return false;
}

// The first request, short: enough to say what was asked. Long string and
// bytes fields (archive, layer and blob data) are cut to their first bytes.
std::string Summary(const google::protobuf::Message& m) {
  constexpr size_t kMax = 200;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetTruncateStringFieldLongerThan(64);
  std::string s;
  printer.PrintToString(m, &s);
  return s.size() > kMax ? s.substr(0, kMax) + "..." : s;
}

class CallLog : public grpc::experimental::Interceptor {
 public:
  CallLog(grpc::experimental::ServerRpcInfo* info, const CallObserver* observer)
      : observer_(observer),
        method_(info->method()),
        read_only_(IsReadOnly(method_)),
        start_(std::chrono::steady_clock::now()) {}
  // A call whose client went away ends without a status to send: it is
  // logged (and counted) as cancelled when gRPC lets go of it.
  ~CallLog() override {
    if (!logged_) Log(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // A read's own error names what it looked for: no summary on the hot path.
    if (!read_only_ && request_.empty() &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      auto* msg = static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
      if (msg != nullptr) request_ = Summary(*msg);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Log(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Log(const grpc::Status& status) {
    logged_ = true;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
                    .count();
    if (*observer_) (*observer_)(method_, status.error_code(), ms / 1000);
    if (status.ok() && read_only_) return;
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

  const CallObserver* observer_;
  std::string method_;
  bool read_only_;
  std::chrono::steady_clock::time_point start_;
  std::string request_;
  bool logged_ = false;
};

}  // namespace

grpc::experimental::Interceptor* CallLogFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallLog(info, &observer_);  // gRPC owns interceptors it asks for
}

}  // namespace strata::daemon
