#include "proxy/upstream/balancer.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace rtmpgate::proxy {

std::vector<uint32_t> smoothWeightedOrder(const std::vector<BackendConfig>& backends) {
  uint64_t total = 0;
  for (const auto& b : backends) total += b.weight;
  std::vector<int64_t> current(backends.size(), 0);
  std::vector<uint32_t> order;
  order.reserve(total);
  for (uint64_t step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < backends.size(); ++i) {
      current[i] += backends[i].weight;
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<int64_t>(total);
    order.push_back(static_cast<uint32_t>(best));
  }
  return order;
}

uint64_t backendKey(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a: stable across runs and builds
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

void deriveBalancerState(LivePolicy& lp) {
  lp.backend_keys.clear();
  for (const auto& b : lp.policy.upstream.backends) lp.backend_keys.push_back(backendKey(b.name));
  lp.rr_order = smoothWeightedOrder(lp.policy.upstream.backends);
}

namespace {

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

bool tried(uint64_t mask, size_t i) { return (mask >> i) & 1; }

int pickRoundRobin(const LivePolicy& lp, uint64_t mask, uint64_t* cursor) {
  const auto& order = lp.rr_order;
  if (order.empty()) return -1;
  if (mask == 0) *cursor = lp.rr_next.fetch_add(1, std::memory_order_relaxed);
  for (size_t k = 0; k < order.size(); ++k) {
    uint32_t i = order[(*cursor + k) % order.size()];
    if (!tried(mask, i)) {
      *cursor += k;
      return static_cast<int>(i);
    }
  }
  return -1;
}

int pickLeastConn(const LivePolicy& lp, uint64_t mask) {
  const auto& backends = lp.policy.upstream.backends;
  int best = -1;
  double best_load = std::numeric_limits<double>::infinity();
  // Rotate the starting point so ties spread instead of piling on index 0.
  size_t n = backends.size();
  size_t start = n ? lp.rr_next.fetch_add(1, std::memory_order_relaxed) % n : 0;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (start + k) % n;
    if (tried(mask, i)) continue;
    double load = static_cast<double>(lp.backend_stats[i]->active.load(std::memory_order_relaxed)) /
                  backends[i].weight;
    if (load < best_load) {
      best_load = load;
      best = static_cast<int>(i);
    }
  }
  return best;
}

// Weighted rendezvous hashing: a client IP keeps its backend while the set
// is stable, and only the clients of a removed backend move.
int pickHash(const LivePolicy& lp, const IpKey& client, uint64_t mask) {
  uint64_t h1, h2;
  std::memcpy(&h1, client.data(), 8);
  std::memcpy(&h2, client.data() + 8, 8);
  uint64_t ip_hash = mix(h1 ^ mix(h2));
  const auto& backends = lp.policy.upstream.backends;
  int best = -1;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < backends.size(); ++i) {
    if (tried(mask, i)) continue;
    // Keyed by the backend's address, not its place in the list, so that
    // removing or reordering backends moves no other backend's clients.
    uint64_t h = mix(ip_hash ^ lp.backend_keys[i]);
    double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;  // (0,1)
    double score = -static_cast<double>(backends[i].weight) / std::log(u);
    if (score > best_score) {
      best_score = score;
      best = static_cast<int>(i);
    }
  }
  return best;
}

}  // namespace

int pickBackend(const LivePolicy& lp, const IpKey& client, uint64_t mask, uint64_t* rr_cursor) {
  switch (lp.policy.upstream.strategy) {
    case Strategy::kRoundRobin:
      return pickRoundRobin(lp, mask, rr_cursor);
    case Strategy::kLeastConn:
      return pickLeastConn(lp, mask);
    case Strategy::kHashClientIp:
      return pickHash(lp, client, mask);
  }
  return -1;
}

}  // namespace rtmpgate::proxy
