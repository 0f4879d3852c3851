// GET /metrics over plain HTTP/1.x for Prometheus, on a loop of the caller's
// (main's). One request per connection, answered and closed; requests are
// capped at 8 KiB and 5 s so a scraper cannot hold resources.
#pragma once

#include <uv.h>

#include <string>

#include "proxy/config/address.h"

namespace rtmpgate::proxy {

class Runtime;

class MetricsServer {
 public:
  MetricsServer(uv_loop_t* loop, Runtime& runtime);
  ~MetricsServer();
  bool start(const SocketAddress& address, std::string* error);
  uint16_t port() const { return port_; }
  // Closes the listener; connections in flight finish on their own.
  void stop();

 private:
  struct Conn;
  static void onConnection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  Runtime& runtime_;
  uv_tcp_t* listener_ = nullptr;
  uint16_t port_ = 0;
};

}  // namespace rtmpgate::proxy
