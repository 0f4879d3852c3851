// ACCESS: allow/deny by client CIDR (IPv4 and IPv6). A client in `deny` is
// refused; when `allow` is non-empty, so is everyone not in it.
#include "proxy/config/reader.h"
#include "proxy/module/module.h"
#include "proxy/session/session.h"

namespace rtmpgate::proxy {
namespace {

bool anyContains(const std::vector<Cidr>& list, const IpKey& ip) {
  for (const Cidr& c : list) {
    if (c.contains(ip)) return true;
  }
  return false;
}

class AccessModule final : public Module {
 public:
  Status run(Session& s) override {
    const AccessConfig& a = s.policy().policy.access;
    if (anyContains(a.deny, s.clientIp())) return Status::Close(CloseReason::kDeniedAccess);
    if (!a.allow.empty() && !anyContains(a.allow, s.clientIp())) {
      return Status::Close(CloseReason::kDeniedAccess);
    }
    return Status::Continue();
  }
};

void parse(const YAML::Node& n, ConfigReader& r, Policy& p) {
  if (!r.checkMap(n, "access", {"allow", "deny"})) return;
  if (n["allow"]) {
    if (auto l = r.readCidrList(n["allow"], "access.allow")) p.access.allow = std::move(*l);
  }
  if (n["deny"]) {
    if (auto l = r.readCidrList(n["deny"], "access.deny")) p.access.deny = std::move(*l);
  }
}

}  // namespace

extern const ModuleDef kAccessModule = {
    "access", Phase::kAccess, "access", &parse,
    [](Worker&) -> std::unique_ptr<Module> { return std::make_unique<AccessModule>(); }};

}  // namespace rtmpgate::proxy
