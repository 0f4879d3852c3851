// Prometheus text exposition (version 0.0.4) of the same figures GetStats
// returns: rtmpgate_ prefix, _total on counters, the failure and denial
// counters folded into one family each with a `reason` label, per-backend
// figures with a `backend` label, handshake duration as a histogram.
#pragma once

#include <string>

namespace rtmpgate::proxy {

class Runtime;

std::string renderPrometheus(Runtime& runtime);

}  // namespace rtmpgate::proxy
