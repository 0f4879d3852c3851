// FORWARD: splice client and backend until the session ends. The byte
// pumping itself is in Session (it owns the handles and buffers).
#include "proxy/module/module.h"
#include "proxy/session/session.h"

namespace rtmpgate::proxy {
namespace {

class ForwardModule final : public Module {
 public:
  Status run(Session& s) override {
    s.splice();
    return Status::Stop();
  }
};

}  // namespace

extern const ModuleDef kForwardModule = {
    "forward", Phase::kForward, "", nullptr,
    [](Worker&) -> std::unique_ptr<Module> { return std::make_unique<ForwardModule>(); }};

}  // namespace rtmpgate::proxy
