#include "proxy/module/registry.h"

namespace rtmpgate::proxy {

// The request path, in phase order. Adding a module: write
// proxy/modules/NAME.cc defining `const ModuleDef kNAMEModule`, add one line.
#define RTMPGATE_MODULES(M) \
  M(kAccessModule)          \
  M(kLimitsModule)          \
  M(kHandshakeModule)       \
  M(kUpstreamModule)        \
  M(kForwardModule)         \
  M(kLogModule)

#define RTMPGATE_DECLARE_MODULE(def) extern const ModuleDef def;
RTMPGATE_MODULES(RTMPGATE_DECLARE_MODULE)
#undef RTMPGATE_DECLARE_MODULE

namespace {
#define RTMPGATE_LIST_MODULE(def) &def,
const ModuleDef* const kModules[] = {RTMPGATE_MODULES(RTMPGATE_LIST_MODULE)};
#undef RTMPGATE_LIST_MODULE
static_assert(std::size(kModules) <= kMaxModules);
}  // namespace

std::span<const ModuleDef* const> allModules() { return kModules; }

std::string_view phaseName(Phase p) {
  switch (p) {
    case Phase::kAccess:
      return "access";
    case Phase::kHandshake:
      return "handshake";
    case Phase::kUpstream:
      return "upstream";
    case Phase::kForward:
      return "forward";
    case Phase::kLog:
      return "log";
  }
  return "?";
}

}  // namespace rtmpgate::proxy
