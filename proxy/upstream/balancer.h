// Backend choice. Tries of one session never repeat a backend; `tried` is a
// bit per backend index (policies are limited to 64 backends).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/config/address.h"
#include "proxy/upstream/live_policy.h"

namespace rtmpgate::proxy {

inline constexpr size_t kMaxBackends = 64;

// The nginx smooth weighted round-robin order for these weights: each backend
// appears `weight` times, spread out (5,1,1 gives a a b a c a a).
std::vector<uint32_t> smoothWeightedOrder(const std::vector<BackendConfig>& backends);

// Stable hash of a backend's address, for hash_client_ip.
uint64_t backendKey(std::string_view name);

// Fills what the balancers derive from lp.policy.upstream (keys and the
// round-robin order). backend_stats is the caller's: figures outlive policies.
void deriveBalancerState(LivePolicy& lp);

// Returns a backend index not in `tried`, or -1 when none is left.
// `rr_cursor` is the session's place in the round-robin order: the first
// pick of a session (tried == 0) takes the next shared position, retries
// walk on from there, so a dead backend costs each session one try but does
// not make its neighbours skip their turn.
int pickBackend(const LivePolicy& lp, const IpKey& client, uint64_t tried, uint64_t* rr_cursor);

}  // namespace rtmpgate::proxy
