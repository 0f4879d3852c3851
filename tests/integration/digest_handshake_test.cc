// The digest handshake on real sockets: counted by mode, refused and counted
// as digest_invalid where it must be, and spoken toward backends when
// upstream.handshake is digest (checked by a second gateway in mode digest).
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>

#include "proxy/rtmp/digest.h"
#include "proxy/rtmp/handshake.h"
#include "proxy/rtmp/random.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/rtmp_peers.h"

namespace rtmpgate::test {
namespace {

using proxy::Stat;
namespace rtmp = proxy::rtmp;

std::span<const uint8_t> bytesOf(const Bytes& b) {
  return {reinterpret_cast<const uint8_t*>(b.data()), b.size()};
}
Bytes fromSpan(std::span<const uint8_t> s) {
  return Bytes(reinterpret_cast<const char*>(s.data()), s.size());
}

// Runs the client side of a handshake with `codec` over `c`, then sends C2
// (corrupted when asked) and `after_c2`. Returns "" or what went wrong.
std::string codecHandshake(Conn& c, rtmp::ClientHandshake& codec, const Bytes& after_c2,
                           bool corrupt_c2 = false) {
  if (!c.sendAll(fromSpan(codec.hello()))) return "send C0C1 failed";
  Bytes reply;
  if (!c.recvExact(1 + 2 * rtmp::kPacketSize, &reply)) {
    return "no S0S1S2 (got " + std::to_string(reply.size()) + " bytes)";
  }
  rtmp::FeedResult r = codec.feed(bytesOf(reply));
  if (r.step != rtmp::Step::kDone) return "client codec did not finish";
  Bytes c2 = fromSpan(codec.c2());
  if (corrupt_c2) c2[c2.size() - 1] ^= 0x01;  // the signature's last byte
  if (!c.sendAll(c2 + after_c2)) return "send C2 failed";
  return "";
}

TEST(DigestHandshake, DigestClientIsCountedAsDigestAndForwarded) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});  // mode auto by default
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(c.valid());
  rtmp::FastRandom rnd(7);
  rtmp::ClientHandshake codec(1000, rnd, rtmp::ClientMode::kDigest);
  ASSERT_EQ(codecHandshake(c, codec, "connect"), "");
  EXPECT_TRUE(codec.digestC2()) << "the gateway answered with a digest S1";
  Bytes back;
  EXPECT_TRUE(c.recvExact(7, &back));
  EXPECT_EQ(back, "connect");
  EXPECT_EQ(gw.stat(Stat::handshakes_completed), 1u);
  EXPECT_EQ(gw.stat(Stat::handshakes_digest), 1u);
  EXPECT_EQ(gw.stat(Stat::handshakes_simple), 0u);

  // A simple client next to it is counted as simple.
  Conn s = Conn::connectTo("127.0.0.1", gw.port());
  auto hs = clientHandshake(s, "ping");
  ASSERT_TRUE(hs.ok) << hs.error;
  EXPECT_TRUE(s.recvExact(4, &back));
  EXPECT_EQ(gw.stat(Stat::handshakes_simple), 1u);
  EXPECT_EQ(gw.stat(Stat::handshakes_digest), 1u);
}

TEST(DigestHandshake, CorruptedDigestC2IsRefusedAsDigestInvalid) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  rtmp::FastRandom rnd(8);
  rtmp::ClientHandshake codec(1000, rnd, rtmp::ClientMode::kDigest);
  ASSERT_EQ(codecHandshake(c, codec, "connect", /*corrupt_c2=*/true), "");
  Bytes got;
  EXPECT_TRUE(c.waitClosed(2000, &got));
  EXPECT_TRUE(got.empty()) << "nothing after S2";
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_digest_invalid) == 1; }));
  EXPECT_EQ(gw.stat(Stat::handshakes_failed_echo_mismatch), 0u);
  EXPECT_EQ(gw.stat(Stat::handshakes_completed), 0u);
  EXPECT_EQ(origin.accepted(), 0);
}

TEST(DigestHandshake, ModeDigestRefusesASimpleClientWithNothingSent) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .handshake = "{mode: digest}"});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(c.sendAll(makeC0C1(5)));
  Bytes got;
  EXPECT_TRUE(c.waitClosed(2000, &got));
  EXPECT_TRUE(got.empty()) << "sent " << got.size() << " bytes to a refused client";
  EXPECT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_digest_invalid) == 1; }));
  EXPECT_EQ(gw.stat(Stat::handshakes_completed), 0u);
  EXPECT_EQ(origin.accepted(), 0);
}

TEST(DigestHandshake, ModeSimpleAnswersADigestClientSimply) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .handshake = "{mode: simple}"});
  Conn c = Conn::connectTo("127.0.0.1", gw.port());
  rtmp::FastRandom rnd(9);
  rtmp::ClientHandshake codec(1000, rnd, rtmp::ClientMode::kDigest);
  ASSERT_EQ(codecHandshake(c, codec, "hi"), "");
  EXPECT_FALSE(codec.digestC2()) << "S1 had no digest, so the client echoed it";
  Bytes back;
  EXPECT_TRUE(c.recvExact(2, &back));
  EXPECT_EQ(gw.stat(Stat::handshakes_simple), 1u);
  EXPECT_EQ(gw.stat(Stat::handshakes_digest), 0u);
}

// upstream.handshake: digest, checked by a backend that refuses anything
// else: a second gateway in mode digest in front of the fake origin.
TEST(DigestHandshake, UpstreamDigestPassesABackendInModeDigest) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway strict({.backends = {origin.port()}, .handshake = "{mode: digest}"});
  Gateway edge({.backends = {strict.port()}, .upstream_extra = "handshake: digest"});
  Conn c = Conn::connectTo("127.0.0.1", edge.port());
  auto hs = clientHandshake(c, "through");
  ASSERT_TRUE(hs.ok) << hs.error;
  Bytes back;
  EXPECT_TRUE(c.recvExact(7, &back));
  EXPECT_EQ(back, "through");
  EXPECT_EQ(edge.stat(Stat::handshakes_simple), 1u);
  EXPECT_EQ(strict.stat(Stat::handshakes_digest), 1u) << "the edge spoke digest to it";
  EXPECT_EQ(strict.stat(Stat::handshakes_failed_digest_invalid), 0u);
  EXPECT_EQ(edge.stat(Stat::upstream_handshake_failures), 0u);
}

TEST(DigestHandshake, UpstreamSimpleIsRefusedByABackendInModeDigest) {
  // The test above can fail: without upstream.handshake the strict backend
  // refuses the edge, which runs out of backends.
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway strict({.backends = {origin.port()}, .handshake = "{mode: digest}"});
  Gateway edge({.backends = {strict.port()}});
  Conn c = Conn::connectTo("127.0.0.1", edge.port());
  auto hs = clientHandshake(c, "through");
  ASSERT_TRUE(hs.ok) << hs.error;
  EXPECT_TRUE(c.waitClosed(3000));
  EXPECT_TRUE(eventually([&] { return strict.stat(Stat::handshakes_failed_digest_invalid) == 1; }));
  EXPECT_TRUE(eventually([&] { return edge.stat(Stat::upstream_handshake_failures) == 1; }));
}

}  // namespace
}  // namespace rtmpgate::test
