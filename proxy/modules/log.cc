// LOG: one access-log line and one event per connection when it ends, with
// the reason that also feeds the counters.
#include <cinttypes>

#include "proxy/core/access_log.h"
#include "proxy/core/events.h"
#include "proxy/core/log.h"
#include "proxy/core/runtime.h"
#include "proxy/core/worker.h"
#include "proxy/module/module.h"
#include "proxy/session/session.h"

namespace rtmpgate::proxy {
namespace {

class LogModule final : public Module {
 public:
  Status run(Session& s) override { return Status::Continue(); }

  void onClose(Session& s) override {
    EventBus& bus = s.worker().runtime().events();
    if (!AccessLog::enabled() && !bus.active()) return;
    const auto& backends = s.policy().policy.upstream.backends;
    const std::string backend = s.backend() >= 0 ? backends[s.backend()].name : "";
    const std::string client = s.clientAddress().toString();
    const std::string_view reason = closeReasonName(s.closeReason());
    const uint64_t ms = (uv_hrtime() - s.acceptedAtNs()) / 1'000'000;
    AccessLog::write({.session_id = s.id(),
                      .client = client,
                      .backend = backend,
                      .mode = s.handshakeMode(),
                      .reason = reason,
                      .detail = s.closeDetail(),
                      .bytes_to_backend = s.bytesToBackend(),
                      .bytes_to_client = s.bytesToClient(),
                      .duration_ms = ms});
    if (bus.active()) {
      bus.publish({.kind = closeReasonIsRejection(s.closeReason()) ? SessionEvent::Kind::kRejected
                                                                   : SessionEvent::Kind::kClosed,
                   .time_ms = unixTimeMs(),
                   .session_id = s.id(),
                   .client = client,
                   .backend = backend,
                   .reason = std::string(reason),
                   .detail = std::string(s.closeDetail()),
                   .bytes_client_to_backend = s.bytesToBackend(),
                   .bytes_backend_to_client = s.bytesToClient(),
                   .duration_ms = ms});
    }
  }
};

}  // namespace

extern const ModuleDef kLogModule = {
    "log", Phase::kLog, "", nullptr,
    [](Worker&) -> std::unique_ptr<Module> { return std::make_unique<LogModule>(); }};

}  // namespace rtmpgate::proxy
