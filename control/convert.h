// Between the core's types and the control API's messages. The only place
// that knows both.
#pragma once

#include <optional>
#include <string>

#include "proxy/config/config.h"
#include "proxy/core/events.h"
#include "proxy/core/runtime.h"
#include "rtmpgate/v1/control.pb.h"

namespace rtmpgate::control {

namespace v1 = ::rtmpgate::v1;
namespace rtmp = ::rtmpgate::proxy::rtmp;

// Every counter and gauge by name (the stats list and the proto fields are
// kept in step by a unit test), per-backend figures, percentiles.
v1::Stats statsToProto(proxy::Runtime& runtime);

v1::Policy policyToProto(const proxy::Policy& policy, uint64_t revision);

// The policy an UpdatePolicy asks for: sections present in `update` replace
// those of `current`, absent ones are kept. Validated by the same module
// parsers as the config file; nullopt and a message naming the bad field
// when anything is wrong.
std::optional<proxy::Policy> policyFromProto(const v1::Policy& update,
                                             const proxy::Policy& current, std::string* error);

v1::Event eventToProto(const proxy::SessionEvent& e);

}  // namespace rtmpgate::control
