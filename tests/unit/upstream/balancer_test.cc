// Backend choice: nginx's smooth weighted round-robin, least connections per
// weight, and weighted rendezvous hashing of the client IP.

#include "proxy/upstream/balancer.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace rtmpgate::proxy {
namespace {

std::vector<BackendConfig> backendsWithWeights(const std::vector<uint32_t>& weights,
                                               uint16_t first_port = 2000) {
  std::vector<BackendConfig> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    BackendConfig b;
    b.name = "127.0.0.1:" + std::to_string(first_port + i);
    std::string why;
    b.address = parseSocketAddress(b.name, &why).value();
    b.weight = weights[i];
    out.push_back(b);
  }
  return out;
}

// A LivePolicy as the runtime derives it from a Policy.
std::unique_ptr<LivePolicy> livePolicy(Strategy strategy, std::vector<BackendConfig> backends) {
  auto lp = std::make_unique<LivePolicy>();
  lp->policy.upstream.strategy = strategy;
  lp->policy.upstream.backends = std::move(backends);
  for (size_t i = 0; i < lp->policy.upstream.backends.size(); ++i) {
    lp->backend_stats.push_back(std::make_shared<BackendStats>());
  }
  deriveBalancerState(*lp);
  return lp;
}

std::unique_ptr<LivePolicy> livePolicy(Strategy strategy, const std::vector<uint32_t>& weights) {
  return livePolicy(strategy, backendsWithWeights(weights));
}

uint64_t bit(int i) { return uint64_t{1} << i; }

// For strategies that do not use the round-robin cursor.
int pick(const LivePolicy& lp, const IpKey& client, uint64_t tried) {
  uint64_t cursor = 0;
  return pickBackend(lp, client, tried, &cursor);
}

// The i-th of many distinct client IPv4 addresses (v4-mapped keys).
IpKey clientV4(uint32_t i) {
  IpKey k{};
  k[10] = k[11] = 0xff;
  uint32_t ip = 0x0A000000u + i * 2654435761u % 0x00FFFFFFu;  // spread over 10/8
  k[12] = static_cast<uint8_t>(ip >> 24);
  k[13] = static_cast<uint8_t>(ip >> 16);
  k[14] = static_cast<uint8_t>(ip >> 8);
  k[15] = static_cast<uint8_t>(ip);
  return k;
}

IpKey clientSeq(uint32_t i) {
  IpKey k{};
  k[10] = k[11] = 0xff;
  k[12] = 100;
  k[13] = static_cast<uint8_t>(i >> 16);
  k[14] = static_cast<uint8_t>(i >> 8);
  k[15] = static_cast<uint8_t>(i);
  return k;
}

const IpKey kClient = clientSeq(1);

// ---------------------------------------------------------------------------
// smoothWeightedOrder

TEST(SmoothWeightedOrderTest, MatchesNginxForFiveOneOne) {
  // nginx's documented example: weights 5,1,1 -> a a b a c a a.
  EXPECT_EQ(smoothWeightedOrder(backendsWithWeights({5, 1, 1})),
            (std::vector<uint32_t>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(SmoothWeightedOrderTest, EqualWeightsAlternate) {
  EXPECT_EQ(smoothWeightedOrder(backendsWithWeights({1, 1, 1})), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(smoothWeightedOrder(backendsWithWeights({2, 2})), (std::vector<uint32_t>{0, 1, 0, 1}));
}

TEST(SmoothWeightedOrderTest, EachBackendAppearsWeightTimesAndNeverClumps) {
  const std::vector<uint32_t> weights = {3, 2, 7, 1};
  auto order = smoothWeightedOrder(backendsWithWeights(weights));
  ASSERT_EQ(order.size(), 13u);
  std::map<uint32_t, uint32_t> count;
  for (uint32_t i : order) ++count[i];
  for (size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(count[i], weights[i]) << "backend " << i;
  // Smoothness: the lighter backends never run twice in a row.
  for (size_t k = 1; k < order.size(); ++k) {
    if (order[k] != 2) {
      EXPECT_NE(order[k], order[k - 1]) << "at " << k;
    }
  }
}

TEST(SmoothWeightedOrderTest, SingleBackendAndNoBackends) {
  EXPECT_EQ(smoothWeightedOrder(backendsWithWeights({4})), (std::vector<uint32_t>{0, 0, 0, 0}));
  EXPECT_TRUE(smoothWeightedOrder({}).empty());
}

// ---------------------------------------------------------------------------
// round_robin

// One session's tries: the first pick takes the next shared position, retries
// walk on from the session's own cursor.
struct Tries {
  uint64_t tried = 0;
  uint64_t cursor = 0xDEADBEEF;  // whatever the session starts with
  int next(const LivePolicy& lp, const IpKey& client = kClient) {
    int i = pickBackend(lp, client, tried, &cursor);
    if (i >= 0) tried |= bit(i);
    return i;
  }
};

TEST(RoundRobinTest, SuccessiveSessionsCycleThroughBackends) {
  auto lp = livePolicy(Strategy::kRoundRobin, {1, 1, 1});
  std::vector<int> picks;
  for (int k = 0; k < 6; ++k) picks.push_back(Tries().next(*lp));
  EXPECT_EQ(picks, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(RoundRobinTest, SuccessiveSessionsFollowTheWeightedOrder) {
  auto lp = livePolicy(Strategy::kRoundRobin, {5, 1, 1});
  std::vector<int> picks;
  for (int k = 0; k < 14; ++k) picks.push_back(Tries().next(*lp));
  EXPECT_EQ(picks, (std::vector<int>{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}));
}

TEST(RoundRobinTest, RetriesWalkOnInTheOrderAndNeverRepeat) {
  auto lp = livePolicy(Strategy::kRoundRobin, {5, 1, 1});  // a a b a c a a
  Tries s;
  EXPECT_EQ(s.next(*lp), 0);   // position 0
  EXPECT_EQ(s.next(*lp), 1);   // a tried: on to b at position 2
  EXPECT_EQ(s.next(*lp), 2);   // then c at position 4
  EXPECT_EQ(s.next(*lp), -1);  // all tried
}

TEST(RoundRobinTest, RetriesDoNotTakeOtherSessionsTurns) {
  // Backend b (1) is dead: every session that lands on it retries. The first
  // picks of sessions must still follow the order, so a and c keep their
  // share and nobody skips a turn because of someone else's retry.
  auto lp = livePolicy(Strategy::kRoundRobin, {5, 1, 1});
  const std::vector<uint32_t> order = lp->rr_order;
  std::vector<int> first, landed;
  for (size_t k = 0; k < 2 * order.size(); ++k) {
    Tries s;
    int i = s.next(*lp);
    first.push_back(i);
    while (i == 1) i = s.next(*lp);
    landed.push_back(i);
  }
  std::vector<int> want;
  for (int round = 0; round < 2; ++round) want.insert(want.end(), order.begin(), order.end());
  EXPECT_EQ(first, want);
  // The sessions that hit b land on the next backend in the order: a (pos 3).
  EXPECT_EQ(landed, (std::vector<int>{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 2, 0, 0}));
}

TEST(RoundRobinTest, NeverReturnsATriedBackend) {
  auto lp = livePolicy(Strategy::kRoundRobin, {5, 1, 1});
  std::set<int> seen;
  for (uint64_t start = 0; start < 21; ++start) {
    uint64_t cursor = start;
    int i = pickBackend(*lp, kClient, bit(0), &cursor);
    EXPECT_NE(i, 0);
    EXPECT_GE(i, 0);
    seen.insert(i);
    cursor = start;
    EXPECT_EQ(pickBackend(*lp, kClient, bit(0) | bit(2), &cursor), 1);
  }
  EXPECT_EQ(seen, (std::set<int>{1, 2})) << "retries from different places spread";
}

TEST(RoundRobinTest, ReturnsMinusOneWhenAllTried) {
  auto lp = livePolicy(Strategy::kRoundRobin, {5, 1, 1});
  uint64_t cursor = 3;
  EXPECT_EQ(pickBackend(*lp, kClient, bit(0) | bit(1) | bit(2), &cursor), -1);
  EXPECT_EQ(pickBackend(*lp, kClient, ~uint64_t{0}, &cursor), -1);
}

TEST(RoundRobinTest, HighBackendIndexesUseTheWholeMask) {
  std::vector<uint32_t> weights(kMaxBackends, 1);
  auto lp = livePolicy(Strategy::kRoundRobin, weights);
  uint64_t cursor = 0;
  EXPECT_EQ(pickBackend(*lp, kClient, ~uint64_t{0} >> 1, &cursor), 63);
  EXPECT_EQ(pickBackend(*lp, kClient, ~uint64_t{0}, &cursor), -1);
}

// ---------------------------------------------------------------------------
// least_conn

void setActive(LivePolicy& lp, const std::vector<int64_t>& active) {
  for (size_t i = 0; i < active.size(); ++i) lp.backend_stats[i]->active = active[i];
}

TEST(LeastConnTest, PicksFewestActive) {
  auto lp = livePolicy(Strategy::kLeastConn, {1, 1, 1});
  setActive(*lp, {5, 2, 7});
  for (int k = 0; k < 5; ++k) EXPECT_EQ(pick(*lp, kClient, 0), 1);
}

TEST(LeastConnTest, DividesActiveByWeight) {
  auto lp = livePolicy(Strategy::kLeastConn, {4, 1});
  setActive(*lp, {6, 2});  // loads 1.5 and 2
  for (int k = 0; k < 4; ++k) EXPECT_EQ(pick(*lp, kClient, 0), 0);
  setActive(*lp, {10, 2});  // loads 2.5 and 2
  for (int k = 0; k < 4; ++k) EXPECT_EQ(pick(*lp, kClient, 0), 1);
}

TEST(LeastConnTest, SkipsTriedBackends) {
  auto lp = livePolicy(Strategy::kLeastConn, {1, 1, 1});
  setActive(*lp, {5, 2, 7});
  for (int k = 0; k < 4; ++k) EXPECT_EQ(pick(*lp, kClient, bit(1)), 0);
  EXPECT_EQ(pick(*lp, kClient, bit(0) | bit(1)), 2);
  EXPECT_EQ(pick(*lp, kClient, bit(0) | bit(1) | bit(2)), -1);
}

TEST(LeastConnTest, TiesSpreadOverTheTiedBackends) {
  auto lp = livePolicy(Strategy::kLeastConn, {1, 1, 1, 1});
  setActive(*lp, {3, 3, 9, 3});
  std::map<int, int> count;
  for (int k = 0; k < 12; ++k) ++count[pick(*lp, kClient, 0)];
  EXPECT_EQ(count.count(2), 0u) << "the loaded backend is never picked";
  EXPECT_GT(count[0], 0);
  EXPECT_GT(count[1], 0);
  EXPECT_GT(count[3], 0);
}

// ---------------------------------------------------------------------------
// hash_client_ip

TEST(HashClientIpTest, SameIpAlwaysGetsSameBackend) {
  auto lp = livePolicy(Strategy::kHashClientIp, {1, 1, 1, 1, 1});
  for (uint32_t c = 0; c < 50; ++c) {
    int first = pick(*lp, clientV4(c), 0);
    ASSERT_GE(first, 0);
    for (int k = 0; k < 5; ++k) EXPECT_EQ(pick(*lp, clientV4(c), 0), first);
  }
}

TEST(HashClientIpTest, SameIpSameBackendAcrossPolicyCopies) {
  // A reload that keeps the backend list keeps every client where it was.
  auto a = livePolicy(Strategy::kHashClientIp, {1, 2, 3});
  auto b = livePolicy(Strategy::kHashClientIp, {1, 2, 3});
  for (int k = 0; k < 10; ++k) Tries().next(*b);  // advance b's shared counter
  for (uint32_t c = 0; c < 2000; ++c) {
    EXPECT_EQ(pick(*a, clientV4(c), 0), pick(*b, clientV4(c), 0));
  }
}

TEST(HashClientIpTest, SpreadsClientsByWeight) {
  const std::vector<uint32_t> weights = {1, 2, 1, 4};
  auto lp = livePolicy(Strategy::kHashClientIp, weights);
  constexpr uint32_t kClients = 20000;
  std::array<int, 4> count{};
  for (uint32_t c = 0; c < kClients; ++c) {
    int i = pick(*lp, clientSeq(c), 0);
    ASSERT_GE(i, 0);
    ++count[i];
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    double expected = kClients * weights[i] / 8.0;
    EXPECT_GT(count[i], expected * 0.85) << "backend " << i;
    EXPECT_LT(count[i], expected * 1.15) << "backend " << i;
  }
}

TEST(HashClientIpTest, Ipv6ClientsSpreadToo) {
  auto lp = livePolicy(Strategy::kHashClientIp, {1, 1});
  std::array<int, 2> count{};
  for (uint32_t c = 0; c < 4000; ++c) {
    IpKey k{};
    k[0] = 0x20;
    k[1] = 0x01;
    k[6] = static_cast<uint8_t>(c >> 8);  // different /64s
    k[7] = static_cast<uint8_t>(c);
    ++count[pick(*lp, k, 0)];
  }
  EXPECT_GT(count[0], 1600);
  EXPECT_GT(count[1], 1600);
}

TEST(HashClientIpTest, TriedBackendMovesOnlyItsOwnClients) {
  auto lp = livePolicy(Strategy::kHashClientIp, {1, 1, 1, 1});
  int moved_from_others = 0;
  int failover = 0;
  for (uint32_t c = 0; c < 5000; ++c) {
    int home = pick(*lp, clientSeq(c), 0);
    int retry = pick(*lp, clientSeq(c), bit(2));
    EXPECT_NE(retry, 2);
    if (home == 2) {
      ++failover;
    } else if (retry != home) {
      ++moved_from_others;
    }
  }
  EXPECT_EQ(moved_from_others, 0);
  EXPECT_GT(failover, 0);
  EXPECT_EQ(pick(*lp, kClient, bit(0) | bit(1) | bit(2) | bit(3)), -1);
}

TEST(HashClientIpTest, RemovingTheLastBackendMovesOnlyItsClients) {
  auto before = livePolicy(Strategy::kHashClientIp, backendsWithWeights({1, 1, 1, 1}));
  auto b = backendsWithWeights({1, 1, 1, 1});
  b.pop_back();
  auto after = livePolicy(Strategy::kHashClientIp, b);
  int moved = 0;
  for (uint32_t c = 0; c < 5000; ++c) {
    int was = pick(*before, clientSeq(c), 0);
    int now = pick(*after, clientSeq(c), 0);
    if (was != 3 && now != was) ++moved;
  }
  EXPECT_EQ(moved, 0);
}

// The balancer promises "only the clients of a removed backend move". That
// must hold for any backend, not just the last one in the list: operators
// remove whichever origin they are draining.
TEST(HashClientIpTest, RemovingAMiddleBackendMovesOnlyItsClients) {
  auto all = backendsWithWeights({1, 1, 1, 1});
  auto before = livePolicy(Strategy::kHashClientIp, all);
  std::vector<BackendConfig> kept = {all[0], all[2], all[3]};  // drop all[1]
  auto after = livePolicy(Strategy::kHashClientIp, kept);
  int moved = 0;
  constexpr uint32_t kClients = 5000;
  for (uint32_t c = 0; c < kClients; ++c) {
    int was = pick(*before, clientSeq(c), 0);
    int now = pick(*after, clientSeq(c), 0);
    ASSERT_GE(now, 0);
    if (was == 1) continue;  // its backend is gone; it must move
    if (after->policy.upstream.backends[now].name != all[was].name) ++moved;
  }
  EXPECT_EQ(moved, 0) << "clients of the backends that stayed were reshuffled";
}

TEST(PickBackendTest, NoBackendsGivesMinusOne) {
  for (Strategy s : {Strategy::kRoundRobin, Strategy::kLeastConn, Strategy::kHashClientIp}) {
    auto lp = livePolicy(s, std::vector<uint32_t>{});
    EXPECT_EQ(pick(*lp, kClient, 0), -1) << static_cast<int>(s);
  }
}

}  // namespace
}  // namespace rtmpgate::proxy
