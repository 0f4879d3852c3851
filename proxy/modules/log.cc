// LOG: one line per connection when it ends, with the reason that also
// feeds the counters.
#include <cinttypes>

#include "proxy/core/log.h"
#include "proxy/core/worker.h"
#include "proxy/module/module.h"
#include "proxy/session/session.h"

namespace rtmpgate::proxy {
namespace {

class LogModule final : public Module {
 public:
  Status run(Session& s) override { return Status::Continue(); }

  void onClose(Session& s) override {
    if (!logEnabled(LogLevel::kInfo)) return;
    const auto& backends = s.policy().policy.upstream.backends;
    const char* backend = s.backend() >= 0 ? backends[s.backend()].name.c_str() : "-";
    uint64_t ms = (uv_hrtime() - s.acceptedAtNs()) / 1'000'000;
    logInfo("session %" PRIu64 " client=%s backend=%s reason=%s bytes_in=%" PRIu64
            " bytes_out=%" PRIu64 " duration_ms=%" PRIu64,
            s.id(), s.clientAddress().toString().c_str(), backend,
            std::string(closeReasonName(s.closeReason())).c_str(), s.bytesFromClient(),
            s.bytesFromUpstream(), ms);
  }
};

}  // namespace

extern const ModuleDef kLogModule = {
    "log", Phase::kLog, "", nullptr,
    [](Worker&) -> std::unique_ptr<Module> { return std::make_unique<LogModule>(); }};

}  // namespace rtmpgate::proxy
