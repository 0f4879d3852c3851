// `rtmpgate --health-check ADDR`: asks grpc.health.v1.Health at ADDR about
// the server as a whole (""), for container HEALTHCHECKs.
#pragma once

#include <string>

namespace rtmpgate::control {

// 0 when SERVING, 1 otherwise (printed reason on stderr).
int runHealthCheck(const std::string& address);

}  // namespace rtmpgate::control
