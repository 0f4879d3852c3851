// A policy as the data path uses it: the validated Policy plus what is derived
// from it once (version set, backend order, per-backend stats). Immutable but
// for its atomics; a session holds the snapshot it was accepted under, and an
// update swaps the pointer for new sessions only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/rtmp/handshake.h"

namespace rtmpgate::proxy {

// Figures for one backend address; they outlive policy revisions that keep
// the address, so totals do not reset on reload.
struct BackendStats {
  enum State : int { kUnknown = 0, kUp = 1, kFailing = 2 };  // result of the last try
  std::atomic<int> state{kUnknown};
  std::atomic<int64_t> active{0};  // sessions spliced to it now (least_conn reads this)
  std::atomic<uint64_t> sessions{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> handshake_failures{0};
};

struct LivePolicy {
  Policy policy;
  uint64_t revision = 0;
  rtmp::ServerOptions server_options;
  std::vector<std::shared_ptr<BackendStats>> backend_stats;  // parallel to backends
  std::vector<uint64_t> backend_keys;  // backendKey(name), parallel to backends
  std::vector<uint32_t> rr_order;  // smooth weighted round-robin sequence of backend indexes
  mutable std::atomic<uint64_t> rr_next{0};
};

}  // namespace rtmpgate::proxy
