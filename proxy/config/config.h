// Immutable configuration: what the YAML file says, validated.
//
// Policy is the part that can change at run time (SIGHUP, UpdatePolicy): each
// session keeps the snapshot it was accepted under. The rest (listeners,
// workers, control) is fixed for the life of the process.
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/config/address.h"
#include "proxy/rtmp/handshake.h"

namespace rtmpgate::proxy {

using Millis = std::chrono::milliseconds;

enum class Strategy : uint8_t { kRoundRobin, kLeastConn, kHashClientIp };
enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

struct HandshakeConfig {
  std::vector<uint8_t> versions{3};
  rtmp::HandshakeMode mode = rtmp::HandshakeMode::kAuto;
  rtmp::EchoCheck echo_check = rtmp::EchoCheck::kStrict;
  Millis timeout{10'000};

  std::bitset<256> versionSet() const {
    std::bitset<256> s;
    for (uint8_t v : versions) s.set(v);
    return s;
  }
};

struct LimitsConfig {
  uint32_t max_connections = 10'000;
  uint32_t max_connections_per_ip = 100;  // 0 = no per-IP limit
};

struct AccessConfig {
  std::vector<Cidr> allow;  // empty: everyone not denied
  std::vector<Cidr> deny;
};

struct BackendConfig {
  SocketAddress address;
  std::string name;  // the address as written
  uint32_t weight = 1;
};

struct UpstreamConfig {
  Strategy strategy = Strategy::kRoundRobin;
  Millis connect_timeout{3'000};
  uint32_t max_tries = 2;
  rtmp::ClientMode handshake = rtmp::ClientMode::kSimple;  // our C1/C2 toward backends
  std::vector<BackendConfig> backends;
};

struct Policy {
  HandshakeConfig handshake;
  LimitsConfig limits;
  AccessConfig access;
  UpstreamConfig upstream;
};

struct ListenConfig {
  SocketAddress address;
  std::string name;
};

struct ControlConfig {
  std::string listen = "127.0.0.1:50051";  // host:port or unix:PATH; empty: off
  std::string auth_token_file;             // empty: no authentication
  std::string state_file;                  // empty: UpdatePolicy is not persisted
  std::string tls_cert_file;               // TLS when cert and key are set
  std::string tls_key_file;
  std::string tls_client_ca_file;  // also require and verify client certificates
};

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  bool json = false;                    // log.format: text | json
  std::string access_log = "stderr";    // stderr | off | a file path
};

struct MetricsConfig {
  std::string listen;  // host:port for GET /metrics; empty: off
};

struct Config {
  unsigned workers = 0;  // 0 = auto (one per core)
  std::vector<ListenConfig> listen;
  Policy policy;
  ControlConfig control;
  Millis shutdown_timeout{30'000};
  LogConfig log;
  MetricsConfig metrics;
  bool watch_config = false;  // reload when the file (or a ConfigMap symlink swap) changes
};

}  // namespace rtmpgate::proxy
