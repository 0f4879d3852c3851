// Counters, the handshake latency histogram, close reasons and the module
// list: the tables that feed GetStats, logs and events.

#include "proxy/stats/stats.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "proxy/module/registry.h"
#include "proxy/session/close_reason.h"

namespace rtmpgate::proxy {
namespace {

size_t bucketOf(uint32_t bound_us) {
  for (size_t i = 0; i < kBucketBoundsUs.size(); ++i) {
    if (kBucketBoundsUs[i] == bound_us) return i;
  }
  ADD_FAILURE() << "no bucket bound " << bound_us;
  return 0;
}

// ---------------------------------------------------------------------------
// Percentiles

TEST(HandshakePercentileTest, EmptyHistogramGivesZero) {
  StatsSnapshot s;
  EXPECT_EQ(s.handshakePercentileUs(50), 0u);
  EXPECT_EQ(s.handshakePercentileUs(99), 0u);
}

TEST(HandshakePercentileTest, AllInOneBucketGivesItsUpperBound) {
  StatsSnapshot s;
  s.buckets[bucketOf(1000)] = 42;
  EXPECT_EQ(s.handshakePercentileUs(50), 1000u);
  EXPECT_EQ(s.handshakePercentileUs(90), 1000u);
  EXPECT_EQ(s.handshakePercentileUs(99), 1000u);
}

TEST(HandshakePercentileTest, SplitsAtTheRightRanks) {
  // 100 handshakes: 50 under 200us, 40 under 2ms, 9 under 20ms, 1 under 1s.
  StatsSnapshot s;
  s.buckets[bucketOf(200)] = 50;
  s.buckets[bucketOf(2000)] = 40;
  s.buckets[bucketOf(20000)] = 9;
  s.buckets[bucketOf(1000000)] = 1;
  EXPECT_EQ(s.handshakePercentileUs(50), 200u);
  EXPECT_EQ(s.handshakePercentileUs(51), 2000u);
  EXPECT_EQ(s.handshakePercentileUs(90), 2000u);
  EXPECT_EQ(s.handshakePercentileUs(91), 20000u);
  EXPECT_EQ(s.handshakePercentileUs(99), 20000u);
  EXPECT_EQ(s.handshakePercentileUs(100), 1000000u);
}

TEST(HandshakePercentileTest, SmallSamplesRoundTheRankUp) {
  StatsSnapshot s;
  s.buckets[bucketOf(50)] = 1;
  s.buckets[bucketOf(750)] = 1;
  EXPECT_EQ(s.handshakePercentileUs(50), 50u);   // rank 1 of 2
  EXPECT_EQ(s.handshakePercentileUs(90), 750u);  // rank 2 of 2
  EXPECT_EQ(s.handshakePercentileUs(0), 50u);    // clamped to the first sample
}

TEST(HandshakePercentileTest, OpenEndedBucketReportsTheLastBound) {
  StatsSnapshot s;
  s.buckets[kBucketCount - 1] = 3;  // slower than every bound
  EXPECT_EQ(s.handshakePercentileUs(50), kBucketBoundsUs.back());
}

TEST(HandshakePercentileTest, RecordedDurationsLandBelowTheirBound) {
  WorkerStats w;
  w.recordHandshakeUs(0);
  w.recordHandshakeUs(49);          // < 50
  w.recordHandshakeUs(50);          // not < 50, so < 100
  w.recordHandshakeUs(1999);        // < 2000
  w.recordHandshakeUs(20'000'000);  // open-ended
  EXPECT_EQ(w.bucket(0), 2u);
  EXPECT_EQ(w.bucket(1), 1u);
  EXPECT_EQ(w.bucket(bucketOf(2000)), 1u);
  EXPECT_EQ(w.bucket(kBucketCount - 1), 1u);

  StatsSnapshot s = sumStats({&w});
  EXPECT_EQ(s.handshakePercentileUs(40), 50u);    // rank 2 of 5
  EXPECT_EQ(s.handshakePercentileUs(60), 100u);   // rank 3
  EXPECT_EQ(s.handshakePercentileUs(80), 2000u);  // rank 4
}

TEST(SumStatsTest, AddsCountersAndBucketsAcrossWorkers) {
  WorkerStats a, b;
  a.add(Stat::connections_accepted, 3);
  b.add(Stat::connections_accepted);
  a.add(Stat::sessions_active, 2);
  b.add(Stat::sessions_active, 2);
  b.add(Stat::sessions_active, -1);
  a.recordHandshakeUs(100);
  b.recordHandshakeUs(120);
  StatsSnapshot s = sumStats({&a, &b});
  EXPECT_EQ(s[Stat::connections_accepted], 4u);
  EXPECT_EQ(s[Stat::sessions_active], 3u);
  EXPECT_EQ(s[Stat::handshakes_completed], 0u);
  EXPECT_EQ(s.buckets[bucketOf(200)], 2u);
  EXPECT_EQ(s.handshakePercentileUs(50), 200u);
}

// ---------------------------------------------------------------------------
// Names

TEST(StatNameTest, NamesMatchTheProtoFields) {
  EXPECT_EQ(statName(Stat::connections_accepted), "connections_accepted");
  EXPECT_EQ(statName(Stat::handshakes_failed_echo_mismatch), "handshakes_failed_echo_mismatch");
  EXPECT_EQ(statName(Stat::handshakes_in_progress), "handshakes_in_progress");
}

TEST(StatNameTest, NamesAreUniqueAndNonEmpty) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kStatCount; ++i) {
    std::string_view n = statName(static_cast<Stat>(i));
    EXPECT_FALSE(n.empty()) << i;
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

TEST(StatNameTest, GaugesAreTheUpDownFigures) {
  EXPECT_TRUE(statIsGauge(Stat::sessions_active));
  EXPECT_TRUE(statIsGauge(Stat::handshakes_in_progress));
  EXPECT_TRUE(statIsGauge(Stat::connections_open));
  EXPECT_FALSE(statIsGauge(Stat::connections_accepted));
  EXPECT_FALSE(statIsGauge(Stat::bytes_client_to_backend));
  EXPECT_FALSE(statIsGauge(Stat::handshakes_failed_timeout));
}

// ---------------------------------------------------------------------------
// Close reasons

TEST(CloseReasonTest, HandshakeFailuresCountUnderTheirReason) {
  EXPECT_EQ(closeReasonStat(CloseReason::kBadVersion), Stat::handshakes_failed_bad_version);
  EXPECT_EQ(closeReasonStat(CloseReason::kEchoMismatch), Stat::handshakes_failed_echo_mismatch);
  EXPECT_EQ(closeReasonStat(CloseReason::kDigestInvalid), Stat::handshakes_failed_digest_invalid);
  EXPECT_EQ(closeReasonStat(CloseReason::kHandshakeTimeout), Stat::handshakes_failed_timeout);
  EXPECT_EQ(closeReasonStat(CloseReason::kClientClosedHandshake),
            Stat::handshakes_failed_client_closed);
}

TEST(CloseReasonTest, RefusalsCountUnderTheirReason) {
  EXPECT_EQ(closeReasonStat(CloseReason::kDeniedAccess), Stat::connections_denied_access);
  EXPECT_EQ(closeReasonStat(CloseReason::kDeniedLimits), Stat::connections_denied_limits);
  EXPECT_EQ(closeReasonStat(CloseReason::kNoBackend), Stat::upstream_no_backend);
}

TEST(CloseReasonTest, OrdinaryEndsCountNothing) {
  for (CloseReason r : {CloseReason::kNone, CloseReason::kClientClosed, CloseReason::kBackendClosed,
                        CloseReason::kClientError, CloseReason::kBackendError,
                        CloseReason::kShutdown, CloseReason::kAdminClose}) {
    EXPECT_EQ(closeReasonStat(r), std::nullopt) << closeReasonName(r);
  }
}

TEST(CloseReasonTest, NamesForLogsAndEvents) {
  EXPECT_EQ(closeReasonName(CloseReason::kBadVersion), "bad_version");
  EXPECT_EQ(closeReasonName(CloseReason::kEchoMismatch), "echo_mismatch");
  EXPECT_EQ(closeReasonName(CloseReason::kHandshakeTimeout), "timeout");
  EXPECT_EQ(closeReasonName(CloseReason::kClientClosedHandshake), "client_closed");
  EXPECT_EQ(closeReasonName(CloseReason::kClientClosed), "client_closed_session");
  EXPECT_EQ(closeReasonName(CloseReason::kAdminClose), "admin_close");
}

TEST(CloseReasonTest, NamesAreUnique) {
  std::set<std::string_view> names;
  for (int r = 0; r <= static_cast<int>(CloseReason::kAdminClose); ++r) {
    std::string_view n = closeReasonName(static_cast<CloseReason>(r));
    EXPECT_FALSE(n.empty());
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

// ---------------------------------------------------------------------------
// Module list

TEST(ModuleRegistryTest, ModulesAreInPhaseOrder) {
  auto mods = allModules();
  ASSERT_FALSE(mods.empty());
  EXPECT_LE(mods.size(), kMaxModules);
  for (size_t i = 1; i < mods.size(); ++i) {
    EXPECT_LE(mods[i - 1]->phase, mods[i]->phase)
        << mods[i - 1]->name << " (" << phaseName(mods[i - 1]->phase) << ") before "
        << mods[i]->name << " (" << phaseName(mods[i]->phase) << ")";
  }
}

TEST(ModuleRegistryTest, NamesAndConfigKeysAreUnique) {
  std::set<std::string_view> names, keys;
  for (const ModuleDef* m : allModules()) {
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(m->name.empty());
    EXPECT_TRUE(names.insert(m->name).second) << "duplicate module " << m->name;
    EXPECT_NE(m->create, nullptr) << m->name;
    if (!m->config_key.empty()) {
      EXPECT_TRUE(keys.insert(m->config_key).second) << "duplicate key " << m->config_key;
      EXPECT_NE(m->parse, nullptr) << m->name << " owns a key but cannot parse it";
    }
  }
}

TEST(ModuleRegistryTest, ModuleKeysDoNotCollideWithCoreKeys) {
  for (const ModuleDef* m : allModules()) {
    for (std::string_view core : {"workers", "listen", "control", "shutdown_timeout", "log"}) {
      EXPECT_NE(m->config_key, core) << m->name;
    }
  }
}

TEST(ModuleRegistryTest, TheRequestPathStartsWithAccessAndEndsWithLog) {
  auto mods = allModules();
  ASSERT_GE(mods.size(), 2u);
  EXPECT_EQ(mods.front()->phase, Phase::kAccess);
  EXPECT_EQ(mods.back()->phase, Phase::kLog);
  std::set<std::string_view> keys;
  for (const ModuleDef* m : mods) keys.insert(m->config_key);
  for (std::string_view k : {"handshake", "limits", "access", "upstream"}) {
    EXPECT_TRUE(keys.count(k)) << "no module owns the '" << k << "' block";
  }
}

TEST(PhaseNameTest, NamesEachPhase) {
  EXPECT_EQ(phaseName(Phase::kAccess), "access");
  EXPECT_EQ(phaseName(Phase::kHandshake), "handshake");
  EXPECT_EQ(phaseName(Phase::kUpstream), "upstream");
  EXPECT_EQ(phaseName(Phase::kForward), "forward");
  EXPECT_EQ(phaseName(Phase::kLog), "log");
}

}  // namespace
}  // namespace rtmpgate::proxy
