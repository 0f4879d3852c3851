// The data path end to end inside one process: real worker loops, real
// sockets, a fake origin and raw clients.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "tests/integration/gateway_fixture.h"
#include "tests/integration/rtmp_peers.h"

namespace rtmpgate::test {
namespace {

using proxy::Stat;
using Clock = std::chrono::steady_clock;

int64_t msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

TEST(Gateway, ForwardsPipelinedTailAndStreamIntactBothWays) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(c.valid());
  Bytes tail = randomBytes(200, 1);  // stands for the AMF connect pipelined after C2
  auto hs = clientHandshake(c, tail);
  ASSERT_TRUE(hs.ok) << hs.error;
  Bytes body = randomBytes(2 * 1024 * 1024, 2);
  std::thread writer([&] { EXPECT_TRUE(c.sendAll(body)); });
  Bytes back;
  EXPECT_TRUE(c.recvExact(tail.size() + body.size(), &back, 10000));
  writer.join();
  EXPECT_TRUE(back == tail + body) << "echoed bytes differ";
  EXPECT_EQ(origin.handshaken(), 1);
  EXPECT_EQ(gw.stat(Stat::handshakes_completed), 1u);
  EXPECT_EQ(gw.stat(Stat::handshakes_simple), 1u);
  EXPECT_TRUE(eventually([&] {
    return gw.stat(Stat::bytes_client_to_backend) == tail.size() + body.size() &&
           gw.stat(Stat::bytes_backend_to_client) == tail.size() + body.size();
  }));
  EXPECT_EQ(gw.stat(Stat::sessions_active), 1u);
  c.close();
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::sessions_active) == 0; }));
}

TEST(Gateway, HandshakeTrickledInPiecesStillCompletes) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  Bytes c0c1 = makeC0C1(5);
  for (size_t off : {0, 1, 2, 700}) {
    size_t end = off == 700 ? c0c1.size() : (off == 0 ? 1 : (off == 1 ? 2 : 700));
    ASSERT_TRUE(c.sendAll(c0c1.substr(off, end - off)));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Bytes s;
  ASSERT_TRUE(c.recvExact(3073, &s));
  Bytes c2 = s.substr(1, 1536);
  c2[5] = 0x42;  // time2 is not compared
  ASSERT_TRUE(c.sendAll(c2.substr(0, 10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(c.sendAll(c2.substr(10) + "hello"));
  Bytes back;
  EXPECT_TRUE(c.recvExact(5, &back));
  EXPECT_EQ(back, "hello");
}

TEST(Gateway, BadVersionIsClosedWithNothingSent) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(c.sendAll("\x16\x03\x01\x02\x00 TLS ClientHello-ish"));
  Bytes got;
  EXPECT_TRUE(c.waitClosed(2000, &got));
  EXPECT_TRUE(got.empty()) << "gateway answered a bad C0 with " << got.size() << " bytes";
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_bad_version) == 1; }));
  EXPECT_EQ(origin.accepted(), 0);
}

TEST(Gateway, HttpRequestIsRefused) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(c.sendAll("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  Bytes got;
  EXPECT_TRUE(c.waitClosed(2000, &got));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_bad_version) == 1; }));
}

TEST(Gateway, EchoMismatchIsRefusedAndNothingForwarded) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  auto hs = clientHandshake(c, "connect", /*corrupt_c2=*/true);
  ASSERT_TRUE(hs.ok) << hs.error;
  EXPECT_TRUE(c.waitClosed(2000));
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_echo_mismatch) == 1; }));
  EXPECT_EQ(gw.stat(Stat::handshakes_completed), 0u);
  EXPECT_EQ(origin.accepted(), 0);
}

TEST(Gateway, EchoMismatchInReportModeIsCountedAndForwarded) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .handshake = "{echo_check: report}"});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  auto hs = clientHandshake(c, "ping", /*corrupt_c2=*/true);
  ASSERT_TRUE(hs.ok) << hs.error;
  Bytes back;
  EXPECT_TRUE(c.recvExact(4, &back));
  EXPECT_EQ(back, "ping");
  EXPECT_EQ(gw.stat(Stat::echo_mismatches_allowed), 1u);
  EXPECT_EQ(gw.stat(Stat::handshakes_failed_echo_mismatch), 0u);
}

TEST(Gateway, SlowLorisIsClosedAtTheTotalDeadline) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .handshake = "{timeout: 400ms}"});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  auto start = Clock::now();
  Bytes c0c1 = makeC0C1(9);
  bool closed = false;
  // One byte every 50 ms: each byte arrives well inside any idle timeout.
  for (size_t i = 0; i < c0c1.size() && msSince(start) < 3000; ++i) {
    if (!c.sendAll(c0c1.substr(i, 1))) {
      closed = true;
      break;
    }
    Bytes got;
    if (c.waitClosed(50, &got)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_GE(msSince(start), 350);
  EXPECT_LE(msSince(start), 1500);
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_timeout) == 1; }));
  // The gauge drops when the close completes (its handles' close callbacks,
  // one loop turn after the counter above).
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_in_progress) == 0; }));
}

TEST(Gateway, ClientVanishingMidHandshakeIsCounted) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  {
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    ASSERT_TRUE(c.sendAll(makeC0C1(3).substr(0, 900)));
  }
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_client_closed) == 1; }));
  EXPECT_TRUE(eventually([&] {
    return gw.stat(Stat::handshakes_in_progress) == 0 && gw.stat(Stat::connections_open) == 0;
  }));
}

TEST(Gateway, FailsOverToTheNextBackend) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  // A port with nothing listening: bind, learn the port, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t dead_port = ntohs(a.sin_port);
  ::close(fd);

  Gateway gw({.backends = {dead_port, origin.port()}, .upstream_extra = "max_tries: 2"});
  for (int i = 0; i < 4; ++i) {
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    auto hs = clientHandshake(c, "x" + std::to_string(i));
    ASSERT_TRUE(hs.ok) << hs.error;
    Bytes back;
    EXPECT_TRUE(c.recvExact(2, &back)) << "session " << i;
  }
  EXPECT_EQ(origin.handshaken(), 4);
  EXPECT_EQ(gw.stat(Stat::upstream_connect_failures), 2u);  // round robin: every other session
  EXPECT_EQ(gw.stat(Stat::upstream_no_backend), 0u);
  auto lp = gw.runtime().policy();
  EXPECT_EQ(lp->backend_stats[0]->connect_failures.load(), 2u);
  EXPECT_EQ(lp->backend_stats[1]->sessions.load(), 4u);
}

TEST(Gateway, NoBackendClosesTheClientPromptly) {
  FakeOrigin silent(FakeOrigin::Mode::kBadS0);
  Gateway gw({.backends = {silent.port()}, .upstream_extra = "max_tries: 3"});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  auto start = Clock::now();
  auto hs = clientHandshake(c, "connect");
  ASSERT_TRUE(hs.ok) << hs.error;
  EXPECT_TRUE(c.waitClosed(2000));
  EXPECT_LE(msSince(start), 1000);
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::upstream_no_backend) == 1; }));
  // One backend: tried once, never twice, whatever max_tries says.
  EXPECT_EQ(gw.stat(Stat::upstream_handshake_failures), 1u);
}

TEST(Gateway, BackendAnsweringBadS0IsSkipped) {
  FakeOrigin bad(FakeOrigin::Mode::kBadS0);
  FakeOrigin good(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {bad.port(), good.port()}});
  for (int i = 0; i < 2; ++i) {
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    ASSERT_TRUE(clientHandshake(c, "ok").ok);
    Bytes back;
    EXPECT_TRUE(c.recvExact(2, &back));
  }
  EXPECT_EQ(gw.stat(Stat::upstream_handshake_failures), 1u);
  EXPECT_EQ(good.handshaken(), 2);
}

TEST(Gateway, SilentBackendTimesOutAndNextIsUsed) {
  FakeOrigin silent(FakeOrigin::Mode::kSilent);
  FakeOrigin good(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {silent.port(), good.port()},
              .upstream_extra = "connect_timeout: 300ms"});
  auto start = Clock::now();
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(c, "ok").ok);
  Bytes back;
  EXPECT_TRUE(c.recvExact(2, &back));
  EXPECT_GE(msSince(start), 250);
  EXPECT_EQ(gw.stat(Stat::upstream_handshake_failures), 1u);
}

TEST(Gateway, BackendClosingEndsTheClientToo) {
  FakeOrigin origin(FakeOrigin::Mode::kCloseAfterHandshake);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(c).ok);
  EXPECT_TRUE(c.waitClosed(2000)) << "the backend's FIN was not passed on";
  c.close();
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 0; }));
}

TEST(Gateway, HalfCloseIsPropagatedAndTheOtherDirectionFinishes) {
  FakeOrigin origin(FakeOrigin::Mode::kHalfClose);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  Bytes data = randomBytes(300000, 4);
  ASSERT_TRUE(clientHandshake(c, data).ok);
  c.shutdownWrite();  // the origin answers only once it sees our FIN
  Bytes back;
  EXPECT_TRUE(c.recvUntilEof(&back, 5000));
  EXPECT_TRUE(back == data) << "got " << back.size() << " of " << data.size();
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 0; }));
}

TEST(Gateway, SlowBackendPausesTheClientAndMemoryStaysBounded) {
  FakeOrigin origin(FakeOrigin::Mode::kNoRead);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(c).ok);
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::sessions_active) == 1; }));
  // Push until the client's socket blocks for 300 ms: every buffer on the
  // way is full, including the gateway's.
  Bytes chunk = randomBytes(64 * 1024, 8);
  Bytes sent;
  timeval tv{0, 300000};
  setsockopt(c.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  while (sent.size() < 64u * 1024 * 1024) {
    ssize_t n = ::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent.append(chunk.data(), n);
  }
  EXPECT_LT(sent.size(), 64u * 1024 * 1024) << "the gateway never pushed back";
  EXPECT_GE(gw.stat(Stat::backpressure_pauses), 1u);
  size_t blocks = gw.onWorker(0, [](proxy::Worker& w) { return w.pool().outstanding(); });
  // The bound stated in session.h: high watermark + one read per direction.
  EXPECT_LE(blocks * proxy::Block::kSize, proxy::kHighWatermark + 2 * proxy::Block::kSize);
  origin.resume();
  EXPECT_TRUE(origin.waitReceived(sent.size(), 10000));
  EXPECT_TRUE(origin.received() == sent) << "bytes lost or reordered under backpressure";
}

TEST(Gateway, PerIpLimitRefusesTheExtraConnection) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .limits = "{max_connections_per_ip: 2}"});
  Conn a = Conn::connectTo("127.0.0.1", gw.port());
  Conn b = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 2; }));
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  EXPECT_TRUE(c.waitClosed(2000));
  EXPECT_EQ(gw.stat(Stat::connections_denied_limits), 1u);
  a.close();
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 1; }));
  Conn d = Conn::connectTo("127.0.0.1", gw.port());
  EXPECT_TRUE(clientHandshake(d).ok) << "a freed slot must be usable again";
}

TEST(Gateway, TotalLimitHoldsAcrossWorkers) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2, .limits = "{max_connections: 3}"});
  std::vector<Conn> conns;
  for (int i = 0; i < 10; ++i) conns.push_back(Conn::connectTo("127.0.0.1", gw.port()));
  ASSERT_TRUE(eventually([&] {
    return gw.stat(Stat::connections_open) == 3 && gw.stat(Stat::connections_denied_limits) == 7;
  })) << "open=" << gw.stat(Stat::connections_open)
      << " denied=" << gw.stat(Stat::connections_denied_limits);
}

TEST(Gateway, DenyListRefusesAndAllowListAdmits) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  {
    Gateway gw({.backends = {origin.port()}, .access = "{deny: [127.0.0.0/8]}"});
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    Bytes got;
    EXPECT_TRUE(c.waitClosed(2000, &got));
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(gw.stat(Stat::connections_denied_access), 1u);
  }
  {
    Gateway gw({.backends = {origin.port()}, .access = "{allow: [10.0.0.0/8]}"});
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    EXPECT_TRUE(c.waitClosed(2000));
    EXPECT_EQ(gw.stat(Stat::connections_denied_access), 1u);
  }
  {
    Gateway gw({.backends = {origin.port()}, .access = "{allow: [127.0.0.1/32], deny: [::1]}"});
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    EXPECT_TRUE(clientHandshake(c).ok);
    EXPECT_EQ(gw.stat(Stat::connections_denied_access), 0u);
  }
}

TEST(Gateway, Ipv6ClientsAreMatchedByIpv6Rules) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .listen = "[::1]:0", .access = "{deny: [::1/128]}"});
  Conn c = Conn::connectTo("::1", gw.port());
  ASSERT_TRUE(c.valid());
  EXPECT_TRUE(c.waitClosed(2000));
  EXPECT_EQ(gw.stat(Stat::connections_denied_access), 1u);
}

TEST(Gateway, PolicySwapAppliesToNewSessionsOnly) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  Conn old_session = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(old_session, "a").ok);
  Bytes back;
  ASSERT_TRUE(old_session.recvExact(1, &back));

  proxy::Policy p = gw.runtime().policy()->policy;
  std::string err;
  p.access.deny.push_back(*proxy::parseCidr("127.0.0.1", &err));
  EXPECT_EQ(gw.runtime().setPolicy(p), 2u);

  ASSERT_TRUE(eventually([&] {
    Conn n = Conn::connectTo("127.0.0.1", gw.port());
    return n.waitClosed(500);
  }));
  EXPECT_GE(gw.stat(Stat::connections_denied_access), 1u);
  ASSERT_TRUE(old_session.sendAll("still here"));
  EXPECT_TRUE(old_session.recvExact(10, &back));
  EXPECT_EQ(back, "still here");
}

TEST(Gateway, DrainRefusesNewConnectionsAndLetsSessionsFinish) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .shutdown_timeout = "600ms"});
  uint16_t port = gw.port();
  Conn c = Conn::connectTo("127.0.0.1", port);
  ASSERT_TRUE(clientHandshake(c, "a").ok);
  Bytes back;
  ASSERT_TRUE(c.recvExact(1, &back));
  auto start = Clock::now();
  gw.runtime().drain();
  ASSERT_TRUE(eventually([&] { return !Conn::connectTo("127.0.0.1", port, 200).valid(); }, 1000))
      << "still accepting after drain";
  ASSERT_TRUE(c.sendAll("during drain"));
  EXPECT_TRUE(c.recvExact(12, &back));
  EXPECT_TRUE(c.waitClosed(3000)) << "session outlived shutdown_timeout";
  EXPECT_GE(msSince(start), 500);
  gw.stop();
}

TEST(Gateway, ManyMixedSessionsLeaveNoHandleOrSlotBehind) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2, .handshake = "{timeout: 500ms}"});
  for (int i = 0; i < 60; ++i) {
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    switch (i % 4) {
      case 0: {
        ASSERT_TRUE(clientHandshake(c, "z").ok);
        Bytes back;
        EXPECT_TRUE(c.recvExact(1, &back));
        break;
      }
      case 1:
        c.sendAll("\x09garbage");
        break;
      case 2:
        clientHandshake(c, "", true);
        break;
      case 3:
        c.sendAll(makeC0C1(i).substr(0, 100));
        break;
    }
  }
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 0; }, 5000));
  EXPECT_EQ(gw.stat(Stat::handshakes_in_progress), 0u);
  EXPECT_EQ(gw.runtime().limiter().total(), 0u);
  // ~Gateway checks uv_loop_close() == 0 on both workers.
}

}  // namespace
}  // namespace rtmpgate::test

namespace rtmpgate::test {
namespace {

TEST(Gateway, ClientHangingUpWhileTheBackendIsSetUpIsClosedAtOnce) {
  FakeOrigin silent(FakeOrigin::Mode::kSilent);  // accepts, never answers
  Gateway gw({.backends = {silent.port()}, .upstream_extra = "connect_timeout: 5s"});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(c).ok);  // C2 and nothing after it
  ASSERT_TRUE(eventually([&] { return silent.accepted() == 1; }));
  auto start = std::chrono::steady_clock::now();
  c.close();
  EXPECT_TRUE(eventually([&] { return gw.stat(proxy::Stat::connections_open) == 0; }, 1000))
      << "the session waited for the backend instead of noticing the hang-up";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace rtmpgate::test

namespace rtmpgate::test {
namespace {

TEST(Gateway, DataThenFinBeforeTheBackendAnswersStillReachesIt) {
  // The backend is slow to accept the handshake: the client's connect and
  // its FIN both arrive while the gateway is still setting the backend up.
  FakeOrigin origin(FakeOrigin::Mode::kHalfClose);
  origin.delayHandshake(100);
  Gateway gw({.backends = {origin.port()}});
  for (int i = 0; i < 5; ++i) {
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    Bytes data = randomBytes(200 + i, 50 + i);
    ASSERT_TRUE(clientHandshake(c, data).ok);
    c.shutdownWrite();
    Bytes back;
    EXPECT_TRUE(c.recvUntilEof(&back, 3000));
    EXPECT_TRUE(back == data) << "session " << i << ": got " << back.size() << " bytes";
  }
}

}  // namespace
}  // namespace rtmpgate::test
