// Faults, load and hostile input (issue 7): each case asserts what survives.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "tests/integration/gateway_fixture.h"
#include "tests/integration/rtmp_peers.h"

namespace rtmpgate::test {
namespace {

using proxy::Stat;
using namespace std::chrono_literals;

size_t openFds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

size_t rssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

size_t poolBlocks(Gateway& gw) {
  size_t total = 0;
  for (unsigned i = 0; i < gw.runtime().workerCount(); ++i) {
    total += gw.onWorker(i, [](proxy::Worker& w) { return w.pool().outstanding(); });
  }
  return total;
}

// Per-session user-space bound stated in session.h: high watermark plus one
// read block, per direction.
constexpr size_t kSessionBound = proxy::kHighWatermark + proxy::Block::kSize;

TEST(Fault, BackendKilledMidStreamClosesItsClientsAndSparesOthers) {
  FakeOrigin doomed(FakeOrigin::Mode::kEcho);
  FakeOrigin healthy(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {doomed.port(), healthy.port()}});
  std::vector<Conn> conns;
  for (int i = 0; i < 6; ++i) {  // round robin: 3 on each backend
    conns.push_back(Conn::connectTo("127.0.0.1", gw.port()));
    ASSERT_TRUE(clientHandshake(conns.back(), "x").ok);
    Bytes b;
    ASSERT_TRUE(conns.back().recvExact(1, &b));
  }
  ASSERT_EQ(doomed.handshaken(), 3);
  for (auto& c : conns) ASSERT_TRUE(c.sendAll(randomBytes(1000, 3)));  // unread data pending
  auto start = std::chrono::steady_clock::now();
  doomed.kill();
  int closed = 0;
  for (size_t i = 0; i < conns.size(); i += 2) {  // sessions 0, 2, 4 went to the doomed one
    Bytes got;
    if (conns[i].waitClosed(1000, &got)) ++closed;
  }
  EXPECT_EQ(closed, 3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  for (size_t i = 1; i < conns.size(); i += 2) {
    Bytes echo;
    ASSERT_TRUE(conns[i].recvExact(1000, &echo)) << "a healthy backend's session was hurt";
    ASSERT_TRUE(conns[i].sendAll("alive"));
    ASSERT_TRUE(conns[i].recvExact(5, &echo));
    EXPECT_EQ(echo, "alive");
  }
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 3; }));
  EXPECT_EQ(gw.runtime().policy()->backend_stats[0]->active.load(), 0);
}

TEST(Fault, BackendThatStopsReadingPausesClientsWithinTheBound) {
  FakeOrigin origin(FakeOrigin::Mode::kNoRead);
  origin.countOnly();
  Gateway gw({.backends = {origin.port()}});
  constexpr int kSessions = 100;
  std::vector<Conn> conns;
  for (int i = 0; i < kSessions; ++i) {
    conns.push_back(Conn::connectTo("127.0.0.1", gw.port()));
    ASSERT_TRUE(clientHandshake(conns.back()).ok);
  }
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::sessions_active) == kSessions; }));
  size_t rss_before = rssKib();
  // Every client pushes until its socket stays blocked for 100 ms.
  Bytes chunk = randomBytes(64 * 1024, 5);
  std::atomic<size_t> total{0};
  std::vector<std::thread> pushers;
  for (int t = 0; t < 4; ++t) {
    pushers.emplace_back([&, t] {
      for (int i = t; i < kSessions; i += 4) {
        int small = 64 * 1024;  // keep the test's own buffering (and run time) modest
        setsockopt(conns[i].fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        timeval tv{0, 100000};
        setsockopt(conns[i].fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        while (true) {
          ssize_t n = ::send(conns[i].fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
          if (n <= 0) break;
          total += n;
        }
      }
    });
  }
  for (auto& t : pushers) t.join();
  size_t blocks = poolBlocks(gw);
  size_t rss_after = rssKib();
  EXPECT_LE(blocks * proxy::Block::kSize, kSessions * kSessionBound);
  EXPECT_GE(gw.stat(Stat::backpressure_pauses), static_cast<uint64_t>(kSessions));
  RecordProperty("pushed_bytes", std::to_string(total.load()));
  RecordProperty("gateway_blocks", std::to_string(blocks));
  RecordProperty("rss_growth_kib", std::to_string(rss_after - rss_before));
  // Whole-process RSS also holds the test's own buffers; the gateway part is
  // bounded by the blocks above, so allow them plus slack.
  EXPECT_LE((rss_after - rss_before) * 1024, kSessions * kSessionBound + (64u << 20));
  origin.resume();
  EXPECT_TRUE(origin.waitReceived(total.load(), 20000))
      << "got " << origin.receivedCount() << " of " << total.load();
  EXPECT_EQ(origin.receivedCount(), total.load()) << "bytes lost or duplicated";
}

TEST(Fault, ClientThatStopsReadingPausesTheBackend) {
  FakeOrigin origin(FakeOrigin::Mode::kFlood);
  Gateway gw({.backends = {origin.port()}});
  std::vector<Conn> conns;
  for (int i = 0; i < 20; ++i) {
    conns.push_back(Conn::connectTo("127.0.0.1", gw.port()));
    ASSERT_TRUE(clientHandshake(conns.back()).ok);
  }
  // The clients read nothing; the origin floods until its sockets block.
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::backpressure_pauses) >= 20; }, 5000));
  std::this_thread::sleep_for(300ms);
  uint64_t moved = gw.stat(Stat::bytes_backend_to_client);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(gw.stat(Stat::bytes_backend_to_client), moved) << "the backend was not paused";
  EXPECT_LE(poolBlocks(gw) * proxy::Block::kSize, conns.size() * kSessionBound);
  // A client that reads again gets the stream moving again.
  Bytes got;
  EXPECT_TRUE(conns[0].recvExact(4 << 20, &got, 10000));
}

TEST(Fault, ChurnOfTwentyThousandMixedSessionsLeaksNothing) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2, .handshake = "{timeout: 2s}",
              .limits = "{max_connections_per_ip: 0}"});
  auto churn = [&](int count) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < count; i += 4) {
          Conn c = Conn::connectTo("127.0.0.1", gw.port());
          switch (i % 4) {
            case 0: {
              if (clientHandshake(c, "z").ok) {
                Bytes b;
                c.recvExact(1, &b);
              }
              break;
            }
            case 1:
              c.sendAll("\x16\x03\x01 nope");
              c.waitClosed(1000);
              break;
            case 2:
              clientHandshake(c, "", true);
              c.waitClosed(1000);
              break;
            case 3:
              c.sendAll(makeC0C1(i).substr(0, 200));  // vanish mid-handshake
              break;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
  };
  churn(2000);  // warm up pools and allocator arenas before measuring
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 0; }, 10000));
  size_t fds_before = openFds();
  size_t rss_before = rssKib();
  churn(20000);
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 0; }, 10000));
  ASSERT_TRUE(eventually([&] { return openFds() <= fds_before; }, 5000))
      << "fds before " << fds_before << ", after " << openFds();
  EXPECT_EQ(gw.stat(Stat::handshakes_in_progress), 0u);
  EXPECT_EQ(gw.stat(Stat::sessions_active), 0u);
  EXPECT_EQ(gw.runtime().limiter().total(), 0u);
  EXPECT_EQ(gw.stat(Stat::connections_accepted), 22000u);
  EXPECT_EQ(gw.stat(Stat::handshakes_failed_bad_version), 5500u);
  EXPECT_EQ(gw.stat(Stat::handshakes_failed_echo_mismatch), 5500u);
  EXPECT_EQ(gw.stat(Stat::handshakes_completed), 5500u);
  size_t rss_after = rssKib();
  RecordProperty("rss_growth_kib", std::to_string(rss_after - rss_before));
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan, freed memory sits in its quarantine (256 MiB by default), so
  // RSS says nothing about leaks; LeakSanitizer checks those at exit instead.
  (void)rss_after;
#else
  EXPECT_LT(rss_after, rss_before + 8 * 1024) << "RSS grew by " << rss_after - rss_before
                                              << " KiB over 20000 sessions";
#endif
}

TEST(Fault, ConnectionLimitsHoldExactlyUnderABurst) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2,
              .limits = "{max_connections: 50, max_connections_per_ip: 0}"});
  std::vector<Conn> conns(400);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 400; i += 4) conns[i] = Conn::connectTo("127.0.0.1", gw.port());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(eventually([&] {
    return gw.stat(Stat::connections_accepted) == 400 &&
           gw.stat(Stat::connections_denied_limits) == 350;
  })) << "denied " << gw.stat(Stat::connections_denied_limits);
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 50; }));
  EXPECT_EQ(gw.runtime().limiter().total(), 50u);

  conns.clear();
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 0; }));
  Gateway per_ip({.backends = {origin.port()}, .workers = 2,
                  .limits = "{max_connections_per_ip: 7}"});
  std::vector<Conn> more(100);
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 100; i += 4) more[i] = Conn::connectTo("127.0.0.1", per_ip.port());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(eventually([&] {
    return per_ip.stat(Stat::connections_open) == 7 &&
           per_ip.stat(Stat::connections_denied_limits) == 93;
  }));
}

TEST(Fault, PolicyReloadWhileTwoHundredSessionsStreamDropsNothing) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2,
              .limits = "{max_connections_per_ip: 0}"});
  constexpr int kSessions = 200;
  std::vector<Conn> conns;
  for (int i = 0; i < kSessions; ++i) {
    conns.push_back(Conn::connectTo("127.0.0.1", gw.port()));
    ASSERT_TRUE(clientHandshake(conns.back()).ok);
  }
  std::atomic<int> intact{0};
  std::vector<std::thread> streams;
  for (int t = 0; t < 4; ++t) {
    streams.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (int i = t; i < kSessions; i += 4) {
          Bytes data = randomBytes(4096, i * 10 + round);
          Bytes back;
          if (conns[i].sendAll(data) && conns[i].recvExact(data.size(), &back) && back == data) {
            ++intact;
          }
        }
      }
    });
  }
  // Reload mid-stream, several times: new policies for new sessions only.
  for (int r = 0; r < 5; ++r) {
    proxy::Policy p = gw.runtime().policy()->policy;
    p.handshake.timeout = proxy::Millis(1000 + r);
    gw.runtime().setPolicy(p);
    std::this_thread::sleep_for(20ms);
  }
  proxy::Policy deny = gw.runtime().policy()->policy;
  std::string err;
  deny.access.deny.push_back(*proxy::parseCidr("127.0.0.0/8", &err));
  gw.runtime().setPolicy(deny);
  for (auto& t : streams) t.join();
  EXPECT_EQ(intact.load(), kSessions * 5);
  EXPECT_EQ(gw.stat(Stat::sessions_active), static_cast<uint64_t>(kSessions));
  EXPECT_TRUE(eventually([&] {
    Conn n = Conn::connectTo("127.0.0.1", gw.port());
    return n.waitClosed(500);
  })) << "the newest policy was not applied to new sessions";
}

TEST(Fault, HostileHandshakesCostOnlyTheirOwnConnection) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2, .handshake = "{timeout: 600ms}",
              .limits = "{max_connections_per_ip: 0}"});
  // A legitimate session that must survive everything below.
  Conn good = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(good, "g").ok);
  Bytes b;
  ASSERT_TRUE(good.recvExact(1, &b));

  // Random garbage, with a valid version byte so it reaches the echo check.
  for (int i = 0; i < 50; ++i) {
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    Bytes junk = randomBytes(1 + 1536 + 1536 + 100, 100 + i);
    junk[0] = 3;
    c.sendAll(junk);
    Bytes got;
    EXPECT_TRUE(c.waitClosed(2000, &got));
  }
  // Truncated packets: a C0C1 cut short, then silence.
  std::vector<Conn> truncated;
  for (int i = 0; i < 50; ++i) {
    truncated.push_back(Conn::connectTo("127.0.0.1", gw.port()));
    truncated.back().sendAll(makeC0C1(i).substr(0, 1 + i * 20));
  }
  // One byte at a time, slowly.
  Conn trickle = Conn::connectTo("127.0.0.1", gw.port());
  bool trickle_closed = false;
  for (int i = 0; i < 20 && !trickle_closed; ++i) {
    trickle.sendAll(std::string(1, i == 0 ? '\x03' : 'x'));
    trickle_closed = trickle.waitClosed(100);
  }
  EXPECT_TRUE(trickle_closed || trickle.waitClosed(1000));
  // Many half-open connections that never send a byte.
  std::vector<Conn> idle;
  for (int i = 0; i < 3000; ++i) idle.push_back(Conn::connectTo("127.0.0.1", gw.port()));

  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 1; }, 10000))
      << "open: " << gw.stat(Stat::connections_open);
  EXPECT_EQ(gw.stat(Stat::handshakes_failed_echo_mismatch), 50u);
  EXPECT_EQ(gw.stat(Stat::handshakes_failed_timeout), 50u + 1 + 3000u);
  ASSERT_TRUE(good.sendAll("still"));
  ASSERT_TRUE(good.recvExact(5, &b));
  EXPECT_EQ(b, "still");
}

}  // namespace
}  // namespace rtmpgate::test
