// The control plane's gRPC server: rtmpgate.v1.Control, grpc.health.v1.Health
// (SERVING while accepting, NOT_SERVING while draining) and server reflection.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "control/service.h"
#include "proxy/config/config.h"
#include "proxy/core/runtime.h"

namespace rtmpgate::control {

class ControlServer {
 public:
  explicit ControlServer(proxy::Runtime& runtime);
  ~ControlServer();

  // Reads the token and TLS files named in `config` and starts listening.
  bool start(const proxy::ControlConfig& config, std::string* error);
  // The TCP port actually bound (0 for unix sockets).
  int port() const { return port_; }
  void setDraining();
  // Ends open streams after at most `grace_ms` and stops.
  void shutdown(int grace_ms = 500);

 private:
  proxy::Runtime& runtime_;
  std::unique_ptr<ControlService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string state_file_;
  int port_ = 0;
};

}  // namespace rtmpgate::control
