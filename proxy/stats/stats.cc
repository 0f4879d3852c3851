#include "proxy/stats/stats.h"

#include <algorithm>

namespace rtmpgate::proxy {

namespace {
constexpr std::string_view kNames[] = {
#define RTMPGATE_STAT_NAME(name) #name,
    RTMPGATE_ALL_STATS(RTMPGATE_STAT_NAME, RTMPGATE_STAT_NAME)
#undef RTMPGATE_STAT_NAME
};
constexpr bool kIsGauge[] = {
#define RTMPGATE_STAT_COUNTER(name) false,
#define RTMPGATE_STAT_GAUGE(name) true,
    RTMPGATE_ALL_STATS(RTMPGATE_STAT_COUNTER, RTMPGATE_STAT_GAUGE)
#undef RTMPGATE_STAT_COUNTER
#undef RTMPGATE_STAT_GAUGE
};
}  // namespace

std::string_view statName(Stat s) { return kNames[static_cast<size_t>(s)]; }
bool statIsGauge(Stat s) { return kIsGauge[static_cast<size_t>(s)]; }

void WorkerStats::recordHandshakeUs(uint64_t us) {
  size_t i = std::upper_bound(kBucketBoundsUs.begin(), kBucketBoundsUs.end(), us) -
             kBucketBoundsUs.begin();
  auto& b = buckets_[i];
  b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  us_sum_.store(us_sum_.load(std::memory_order_relaxed) + us, std::memory_order_relaxed);
}

uint64_t StatsSnapshot::handshakePercentileUs(double pct) const {
  uint64_t total = 0;
  for (uint64_t b : buckets) total += b;
  if (total == 0) return 0;
  // Rank of the requested percentile, 1-based, rounded up.
  uint64_t rank = static_cast<uint64_t>(pct / 100.0 * static_cast<double>(total) + 0.999999);
  rank = std::clamp<uint64_t>(rank, 1, total);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets[i];
    if (seen >= rank) {
      return i < kBucketBoundsUs.size() ? kBucketBoundsUs[i] : kBucketBoundsUs.back();
    }
  }
  return kBucketBoundsUs.back();
}

StatsSnapshot sumStats(const std::vector<const WorkerStats*>& workers) {
  StatsSnapshot snap;
  for (const WorkerStats* w : workers) {
    for (size_t i = 0; i < kStatCount; ++i) snap.values[i] += w->get(static_cast<Stat>(i));
    for (size_t i = 0; i < kBucketCount; ++i) snap.buckets[i] += w->bucket(i);
    snap.handshake_us_sum += w->handshakeUsSum();
  }
  return snap;
}

}  // namespace rtmpgate::proxy
