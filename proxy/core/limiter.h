// Connection counts shared by all workers: the total and per client IP.
// Touched once at accept and once at close, never on the forwarding path; the
// per-IP table is sharded so two workers rarely meet on one mutex.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "proxy/config/address.h"

namespace rtmpgate::proxy {

class ConnectionLimiter {
 public:
  // Counts the connection if both limits allow it (0 per IP = unlimited).
  bool tryAcquire(const IpKey& ip, uint32_t max_total, uint32_t max_per_ip);
  void release(const IpKey& ip);

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  uint32_t perIp(const IpKey& ip);

 private:
  struct KeyHash {
    size_t operator()(const IpKey& k) const;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<IpKey, uint32_t, KeyHash> counts;
  };
  Shard& shardOf(const IpKey& ip);

  std::atomic<uint64_t> total_{0};
  std::array<Shard, 16> shards_;
};

}  // namespace rtmpgate::proxy
