#include "proxy/core/limiter.h"

#include <cstring>

namespace rtmpgate::proxy {

size_t ConnectionLimiter::KeyHash::operator()(const IpKey& k) const {
  uint64_t a, b;
  std::memcpy(&a, k.data(), 8);
  std::memcpy(&b, k.data() + 8, 8);
  uint64_t h = (a * 0x9e3779b97f4a7c15ULL) ^ (b + 0x7f4a7c159e3779b9ULL + (a << 6));
  return static_cast<size_t>(h ^ (h >> 29));
}

ConnectionLimiter::Shard& ConnectionLimiter::shardOf(const IpKey& ip) {
  return shards_[KeyHash{}(ip) % shards_.size()];
}

bool ConnectionLimiter::tryAcquire(const IpKey& ip, uint32_t max_total, uint32_t max_per_ip) {
  if (total_.fetch_add(1, std::memory_order_relaxed) >= max_total) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  // Counted even without a per-IP limit, so that a later policy with one
  // sees true counts.
  Shard& s = shardOf(ip);
  std::lock_guard lock(s.mu);
  uint32_t& n = s.counts[ip];
  if (max_per_ip != 0 && n >= max_per_ip) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  ++n;
  return true;
}

void ConnectionLimiter::release(const IpKey& ip) {
  total_.fetch_sub(1, std::memory_order_relaxed);
  Shard& s = shardOf(ip);
  std::lock_guard lock(s.mu);
  auto it = s.counts.find(ip);
  if (it != s.counts.end() && --it->second == 0) s.counts.erase(it);
}

uint32_t ConnectionLimiter::perIp(const IpKey& ip) {
  Shard& s = shardOf(ip);
  std::lock_guard lock(s.mu);
  auto it = s.counts.find(ip);
  return it == s.counts.end() ? 0 : it->second;
}

}  // namespace rtmpgate::proxy
