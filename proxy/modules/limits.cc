// ACCESS: connection limits, total and per client IP, shared by all workers.
#include "proxy/config/reader.h"
#include "proxy/core/runtime.h"
#include "proxy/core/worker.h"
#include "proxy/module/module.h"
#include "proxy/session/session.h"

namespace rtmpgate::proxy {
namespace {

class LimitsModule final : public Module {
 public:
  explicit LimitsModule(ConnectionLimiter& limiter) : limiter_(limiter) {}

  Status run(Session& s) override {
    const LimitsConfig& l = s.policy().policy.limits;
    if (!limiter_.tryAcquire(s.clientIp(), l.max_connections, l.max_connections_per_ip)) {
      return Status::Close(CloseReason::kDeniedLimits);
    }
    return Status::Continue();
  }

  // A session that reached run() holds a slot unless run() refused it.
  void onClose(Session& s) override {
    if (s.closeReason() != CloseReason::kDeniedLimits) limiter_.release(s.clientIp());
  }

 private:
  ConnectionLimiter& limiter_;
};

void parse(const YAML::Node& n, ConfigReader& r, Policy& p) {
  if (!r.checkMap(n, "limits", {"max_connections", "max_connections_per_ip"})) return;
  if (n["max_connections"]) {
    if (auto v = r.readUint(n["max_connections"], "limits.max_connections", 1, 10'000'000)) {
      p.limits.max_connections = static_cast<uint32_t>(*v);
    }
  }
  if (n["max_connections_per_ip"]) {
    if (auto v = r.readUint(n["max_connections_per_ip"], "limits.max_connections_per_ip", 0,
                            10'000'000)) {
      p.limits.max_connections_per_ip = static_cast<uint32_t>(*v);
    }
  }
}

}  // namespace

extern const ModuleDef kLimitsModule = {
    "limits", Phase::kAccess, "limits", &parse, [](Worker& w) -> std::unique_ptr<Module> {
      return std::make_unique<LimitsModule>(w.runtime().limiter());
    }};

}  // namespace rtmpgate::proxy
