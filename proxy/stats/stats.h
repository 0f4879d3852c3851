// The one list of counters and gauges, and the per-worker cells behind them.
//
// Each worker owns one WorkerStats and is its only writer, so increments are a
// relaxed load + store (no lock, no RMW). Readers on other threads (the control
// plane) sum relaxed loads across workers; a snapshot is therefore not atomic
// across fields, which is fine for monitoring.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace rtmpgate::proxy {

// COUNTER(name): monotonic. GAUGE(name): up/down, summed across workers.
#define RTMPGATE_ALL_STATS(COUNTER, GAUGE)       \
  COUNTER(connections_accepted)                  \
  COUNTER(connections_denied_access)             \
  COUNTER(connections_denied_limits)             \
  COUNTER(handshakes_completed)                  \
  COUNTER(handshakes_failed_bad_version)         \
  COUNTER(handshakes_failed_echo_mismatch)       \
  COUNTER(handshakes_failed_digest_invalid)      \
  COUNTER(handshakes_failed_timeout)             \
  COUNTER(handshakes_failed_client_closed)       \
  COUNTER(handshakes_simple)                     \
  COUNTER(handshakes_digest)                     \
  COUNTER(echo_mismatches_allowed)               \
  COUNTER(upstream_connect_failures)             \
  COUNTER(upstream_handshake_failures)           \
  COUNTER(upstream_no_backend)                   \
  COUNTER(sessions_forwarded)                    \
  COUNTER(sessions_closed)                       \
  COUNTER(bytes_client_to_backend)               \
  COUNTER(bytes_backend_to_client)               \
  COUNTER(backpressure_pauses)                   \
  GAUGE(connections_open)                        \
  GAUGE(sessions_active)                         \
  GAUGE(handshakes_in_progress)

enum class Stat : uint16_t {
#define RTMPGATE_STAT_ENUM(name) name,
  RTMPGATE_ALL_STATS(RTMPGATE_STAT_ENUM, RTMPGATE_STAT_ENUM)
#undef RTMPGATE_STAT_ENUM
      kCount
};
inline constexpr size_t kStatCount = static_cast<size_t>(Stat::kCount);

std::string_view statName(Stat s);
bool statIsGauge(Stat s);

// Handshake duration histogram: bucket i counts durations < kBucketBoundsUs[i];
// the last bucket is open-ended.
inline constexpr std::array<uint32_t, 24> kBucketBoundsUs = {
    50,     100,    200,    300,     500,     750,     1000,    1500,
    2000,   3000,   5000,   7500,    10000,   15000,   20000,   30000,
    50000,  75000,  100000, 200000,  500000,  1000000, 5000000, 10000000};
inline constexpr size_t kBucketCount = kBucketBoundsUs.size() + 1;

class alignas(64) WorkerStats {
 public:
  // Single writer (the owning worker's loop thread).
  void add(Stat s, int64_t delta = 1) {
    auto& cell = cells_[static_cast<size_t>(s)];
    cell.store(cell.load(std::memory_order_relaxed) + static_cast<uint64_t>(delta),
               std::memory_order_relaxed);
  }
  void recordHandshakeUs(uint64_t us);

  uint64_t get(Stat s) const {
    return cells_[static_cast<size_t>(s)].load(std::memory_order_relaxed);
  }
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t handshakeUsSum() const { return us_sum_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kStatCount> cells_{};
  std::array<std::atomic<uint64_t>, kBucketCount> buckets_{};
  std::atomic<uint64_t> us_sum_{0};
};

struct StatsSnapshot {
  std::array<uint64_t, kStatCount> values{};
  std::array<uint64_t, kBucketCount> buckets{};
  uint64_t handshake_us_sum = 0;

  uint64_t operator[](Stat s) const { return values[static_cast<size_t>(s)]; }
  // Percentile (0..100) of the handshake duration in microseconds, estimated
  // as the upper bound of the bucket that holds it; 0 when nothing recorded.
  uint64_t handshakePercentileUs(double pct) const;
};

StatsSnapshot sumStats(const std::vector<const WorkerStats*>& workers);

}  // namespace rtmpgate::proxy
