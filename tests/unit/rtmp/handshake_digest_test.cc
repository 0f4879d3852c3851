// The digest handshake in the codecs: what the server answers in each mode,
// how C2 is checked after a digest answer, and the client side toward
// backends, at every split point, with generated and captured C1s.
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <string>

#include "proxy/rtmp/digest.h"
#include "proxy/rtmp/handshake.h"
#include "tests/unit/rtmp/handshake_harness.h"

namespace rtmpgate::proxy::rtmp {
namespace {

using namespace hstest;

const Bytes kServerVersion(std::begin(kDigestServerVersion), std::end(kDigestServerVersion));

std::span<const uint8_t, kDigestSize> digestAt(const Bytes& p, size_t at) {
  return std::span<const uint8_t, kDigestSize>(p.data() + at, kDigestSize);
}

Bytes hello(const Bytes& c1) { return concat({Bytes{kRtmpVersion}, c1}); }

// Checks a digest S0+S1+S2 answering `c0c1_bytes`, whose C1 was completed
// by a feed with now_ms `time2`.
void expectDigestReply(const Bytes& out, const Bytes& c0c1_bytes, uint32_t time2) {
  ASSERT_EQ(out.size(), 1 + 2 * kPacketSize);
  EXPECT_EQ(out[0], c0c1_bytes[0]) << "S0 repeats C0";
  const Bytes c1 = slice(c0c1_bytes, 1, kPacketSize);
  const Bytes s1 = slice(out, 1, kPacketSize);
  const Bytes s2 = slice(out, 1 + kPacketSize, kPacketSize);
  auto c1_digest = findDigest(view(c1), Role::kClient);
  ASSERT_TRUE(c1_digest) << "test input must be a digest C1";

  EXPECT_EQ(be32(s1.data()), kServerTime);
  EXPECT_EQ(slice(s1, 4, 4), kServerVersion) << "non-zero server version: ffmpeg validates";
  auto s1_digest = findDigest(view(s1), Role::kServer);
  ASSERT_TRUE(s1_digest) << "S1 carries a server digest";
  EXPECT_EQ(s1_digest->scheme, c1_digest->scheme) << "placed with the client's scheme";

  EXPECT_EQ(be32(s2.data()), be32(c1.data())) << "S2 time = C1 time";
  EXPECT_EQ(be32(s2.data() + 4), time2) << "S2 time2 = when C1 was read";
  EXPECT_TRUE(
      signatureValid(view(s2), signatureKey(Role::kServer, digestAt(c1, c1_digest->offset))))
      << "S2 signed with the key from C1's digest";
  EXPECT_NE(slice(s2, kRandomOffset, kRandomSize), slice(c1, kRandomOffset, kRandomSize))
      << "digest S2 random is fresh, not C1's";
}

// A digest C2 as ffmpeg players and nginx-rtmp relays send it.
Bytes digestC2(const Bytes& s1, uint64_t seed = 4242) {
  auto s1_digest = findDigest(view(s1), Role::kServer);
  EXPECT_TRUE(s1_digest);
  if (!s1_digest) return Bytes(kPacketSize, 0);
  Bytes c2 = randomBytes(seed, kPacketSize);
  writeSignature(PacketSpan(c2.data(), kPacketSize),
                 signatureKey(Role::kClient, digestAt(s1, s1_digest->offset)));
  return c2;
}

struct Outcome {
  Step step;
  HandshakeError error;
  bool allowed;
  HandshakeMode mode;
};

// A whole exchange: `c1` in `mode`, then C2 made from the S1 we got.
template <typename MakeC2>
Outcome exchange(const Bytes& c1, HandshakeMode mode, EchoCheck echo, MakeC2 make_c2) {
  FastRandom rnd(kSeed);
  ServerHandshake hs(options({kRtmpVersion}, echo, mode), kServerTime, rnd);
  FeedResult r = hs.feed(hello(c1), 1);
  EXPECT_EQ(r.step, Step::kReply);
  if (r.step != Step::kReply) return {r.step, hs.error(), false, hs.negotiatedMode()};
  const Bytes s1 = slice(hs.output(), 1, kPacketSize);
  r = hs.feed(make_c2(s1), 2);
  EXPECT_EQ(r.consumed, kPacketSize);
  return {r.step, hs.error(), hs.echoMismatchAllowed(), hs.negotiatedMode()};
}

// The generated digest C1 most tests use (built on first use, not at start-up).
const Bytes& digestC1() {
  static const Bytes c1 = makeDigestC1(DigestScheme::kOffsetAt8);
  return c1;
}

// ---------------------------------------------------------------------------
// Server, mode auto

TEST(ServerDigestTest, AutoAnswersDigestC1WithDigestS1S2AtEverySplit) {
  for (DigestScheme scheme : {DigestScheme::kOffsetAt8, DigestScheme::kOffsetAt772}) {
    const Bytes in = hello(makeDigestC1(scheme));
    for (size_t split = 0; split <= in.size(); ++split) {
      SCOPED_TRACE("scheme " + std::to_string(static_cast<int>(scheme)) + ", split at " +
                   std::to_string(split));
      FastRandom rnd(kSeed);
      ServerHandshake hs(options(), kServerTime, rnd);
      Trace run = driveServer(hs, in, {split});
      ASSERT_EQ(run.replies, 1);
      EXPECT_EQ(run.dones + run.fails, 0);
      EXPECT_EQ(run.reply_at, in.size());
      const size_t completing_chunk = split == in.size() ? 0 : 1;
      expectDigestReply(run.output, in, kNowBase + static_cast<uint32_t>(completing_chunk));
      EXPECT_EQ(hs.negotiatedMode(), HandshakeMode::kDigest);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(ServerDigestTest, AutoAnswersCapturedFfmpegAndNginxC1WithADigest) {
  for (const char* name : {"ffmpeg_play", "ffmpeg_publish", "nginx_relay"}) {
    SCOPED_TRACE(name);
    const Captured c = loadCaptured(name);
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    ASSERT_EQ(hs.feed(c.c0c1, 77).step, Step::kReply);
    expectDigestReply(Bytes(hs.output().begin(), hs.output().end()), c.c0c1, 77);
    EXPECT_EQ(hs.negotiatedMode(), HandshakeMode::kDigest);
  }
}

TEST(ServerDigestTest, AutoAnswersSimplyWithoutAValidDigest) {
  Bytes corrupted = digestC1();
  corrupted[1000] ^= 0x01;  // the digest covers every other byte
  const Captured rtmpdump = loadCaptured("rtmpdump");
  for (const Bytes& c1 : {makeC1(kC1Time), corrupted, rtmpdump.c1()}) {
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    ASSERT_EQ(hs.feed(hello(c1), 5).step, Step::kReply);
    const Bytes s1 = slice(hs.output(), 1, kPacketSize);
    EXPECT_EQ(slice(s1, 4, 4), Bytes(4, 0)) << "S1[4..7] zero, or ffmpeg players refuse";
    EXPECT_EQ(slice(s1, kRandomOffset, kRandomSize), randomBytes(kSeed, kRandomSize))
        << "S1 untouched by any digest";
    EXPECT_EQ(slice(hs.output(), 1 + kPacketSize + kRandomOffset, kRandomSize),
              slice(c1, kRandomOffset, kRandomSize))
        << "S2 echoes C1";
    EXPECT_EQ(hs.negotiatedMode(), HandshakeMode::kSimple);
  }
}

TEST(ServerDigestTest, ZeroVersionBytesMeanSimpleEvenWithADigest) {
  // nginx-rtmp's rule: C1[4..7] == 0 is a pre-digest client, whatever the
  // rest holds; no HMAC is spent on it (auto), and digest mode refuses it.
  Bytes c1 = makeC1(kC1Time, 91);
  writeDigest(PacketSpan(c1.data(), kPacketSize), Role::kClient, DigestScheme::kOffsetAt8);
  ASSERT_EQ(slice(c1, 4, 4), Bytes(4, 0));
  {
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    ASSERT_EQ(hs.feed(hello(c1), 5).step, Step::kReply);
    EXPECT_EQ(slice(hs.output(), 1 + 4, 4), Bytes(4, 0));
    EXPECT_EQ(hs.negotiatedMode(), HandshakeMode::kSimple);
  }
  {
    FastRandom rnd(kSeed);
    ServerOptions o = options();
    o.mode = HandshakeMode::kDigest;
    ServerHandshake hs(o, kServerTime, rnd);
    EXPECT_EQ(hs.feed(hello(c1), 5).step, Step::kFailed);
    EXPECT_EQ(hs.error(), HandshakeError::kDigestInvalid);
  }
}

// ---------------------------------------------------------------------------
// C2 after a digest answer

TEST(ServerDigestC2Test, EchoOfDigestS1PassesAsFfmpegPublishersSendIt) {
  Outcome o = exchange(digestC1(), HandshakeMode::kAuto, EchoCheck::kStrict,
                       [](const Bytes& s1) { return echoC2(s1, 0); });
  EXPECT_EQ(o.step, Step::kDone);
  EXPECT_EQ(o.error, HandshakeError::kNone);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.mode, HandshakeMode::kDigest);
}

TEST(ServerDigestC2Test, DigestC2PassesAsFfmpegPlayersAndNginxRelaysSendIt) {
  for (HandshakeMode mode : {HandshakeMode::kAuto, HandshakeMode::kDigest}) {
    Outcome o = exchange(digestC1(), mode, EchoCheck::kStrict,
                         [](const Bytes& s1) { return digestC2(s1); });
    EXPECT_EQ(o.step, Step::kDone);
    EXPECT_EQ(o.error, HandshakeError::kNone);
    EXPECT_FALSE(o.allowed);
    EXPECT_EQ(o.mode, HandshakeMode::kDigest);
  }
}

TEST(ServerDigestC2Test, CorruptedDigestC2FailsAsDigestInvalid) {
  for (size_t at : {size_t{0}, size_t{4}, size_t{600}, kSignatureOffset - 1, kSignatureOffset,
                    kPacketSize - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    Outcome o =
        exchange(digestC1(), HandshakeMode::kAuto, EchoCheck::kStrict, [at](const Bytes& s1) {
          Bytes c2 = digestC2(s1);
          c2[at] ^= 0x04;
          return c2;
        });
    EXPECT_EQ(o.step, Step::kFailed);
    EXPECT_EQ(o.error, HandshakeError::kDigestInvalid) << "not echo_mismatch: it spoke digest";
  }
}

TEST(ServerDigestC2Test, BadEchoOfDigestS1FailsAsDigestInvalid) {
  Outcome o = exchange(digestC1(), HandshakeMode::kAuto, EchoCheck::kStrict, [](const Bytes& s1) {
    Bytes c2 = echoC2(s1);
    c2[kRandomOffset + 3] ^= 0x01;
    return c2;
  });
  EXPECT_EQ(o.step, Step::kFailed);
  EXPECT_EQ(o.error, HandshakeError::kDigestInvalid);
}

TEST(ServerDigestC2Test, C2SignedForAnotherS1Fails) {
  // A client replaying a C2 from another connection: signed, but for the
  // S1 of that connection (another random, so another digest).
  FastRandom other_rnd(kSeed + 1);
  ServerHandshake other(options(), kServerTime, other_rnd);
  ASSERT_EQ(other.feed(hello(digestC1()), 1).step, Step::kReply);
  const Bytes other_s1 = slice(other.output(), 1, kPacketSize);
  Outcome o = exchange(digestC1(), HandshakeMode::kAuto, EchoCheck::kStrict, [&](const Bytes& s1) {
    EXPECT_NE(s1, other_s1);
    return digestC2(other_s1);
  });
  EXPECT_EQ(o.step, Step::kFailed);
  EXPECT_EQ(o.error, HandshakeError::kDigestInvalid);
}

TEST(ServerDigestC2Test, SimpleAnswerDoesNotAcceptADigestC2) {
  // After a simple answer S1 has no digest, so nothing can sign a C2 for
  // it; a random C2 (what nginx-rtmp relays send to a simple S1) is a
  // plain echo mismatch.
  Outcome o = exchange(makeC1(kC1Time), HandshakeMode::kAuto, EchoCheck::kStrict,
                       [](const Bytes&) { return randomBytes(31, kPacketSize); });
  EXPECT_EQ(o.step, Step::kFailed);
  EXPECT_EQ(o.error, HandshakeError::kEchoMismatch);
  EXPECT_EQ(o.mode, HandshakeMode::kSimple);
}

TEST(ServerDigestC2Test, ReportLetsABadDigestC2ThroughAndFlagsIt) {
  Outcome o = exchange(digestC1(), HandshakeMode::kAuto, EchoCheck::kReport,
                       [](const Bytes&) { return randomBytes(32, kPacketSize); });
  EXPECT_EQ(o.step, Step::kDone);
  EXPECT_TRUE(o.allowed);
  EXPECT_EQ(o.mode, HandshakeMode::kDigest);
  Outcome good = exchange(digestC1(), HandshakeMode::kAuto, EchoCheck::kReport,
                          [](const Bytes& s1) { return digestC2(s1); });
  EXPECT_EQ(good.step, Step::kDone);
  EXPECT_FALSE(good.allowed) << "a valid digest C2 is no mismatch";
}

TEST(ServerDigestC2Test, OffSkipsTheCheck) {
  Outcome o = exchange(digestC1(), HandshakeMode::kDigest, EchoCheck::kOff,
                       [](const Bytes&) { return randomBytes(33, kPacketSize); });
  EXPECT_EQ(o.step, Step::kDone);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.mode, HandshakeMode::kDigest);
}

TEST(ServerDigestC2Test, DigestC2WithTailAtEverySplitEndsExactlyAfterC2) {
  const Bytes reply = learnReply(options(), hello(digestC1()));
  const Bytes c2 = digestC2(slice(reply, 1, kPacketSize));
  const Bytes tail = fakeConnect();
  const Bytes after = concat({c2, tail});
  for (size_t split = 0; split <= after.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    ASSERT_EQ(hs.feed(hello(digestC1()), 1).step, Step::kReply);
    Trace run = driveServer(hs, after, {split});
    ASSERT_EQ(run.dones, 1);
    EXPECT_EQ(run.fails, 0);
    EXPECT_EQ(run.end_at, kPacketSize);
    EXPECT_EQ(run.rest, tail);
    EXPECT_EQ(hs.negotiatedMode(), HandshakeMode::kDigest);
  }
}

TEST(ServerDigestC2Test, CorruptedDigestC2FailsAtEverySplit) {
  const Bytes reply = learnReply(options(), hello(digestC1()));
  Bytes c2 = digestC2(slice(reply, 1, kPacketSize));
  c2[kPacketSize - 2] ^= 0x80;
  const Bytes after = concat({c2, fakeConnect(20)});
  for (size_t split = 0; split <= after.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    ASSERT_EQ(hs.feed(hello(digestC1()), 1).step, Step::kReply);
    Trace run = driveServer(hs, after, {split});
    ASSERT_EQ(run.fails, 1);
    EXPECT_EQ(hs.error(), HandshakeError::kDigestInvalid);
    EXPECT_LE(run.end_at, kPacketSize);
  }
}

TEST(ServerDigestC2Test, WholeDigestExchangeOneByteAtATime) {
  const Bytes reply = learnReply(options(), hello(digestC1()));
  const Bytes tail = fakeConnect();
  const Bytes stream = concat({hello(digestC1()), digestC2(slice(reply, 1, kPacketSize)), tail});
  FastRandom rnd(kSeed);
  ServerHandshake hs(options(), kServerTime, rnd);
  Trace run = driveServer(hs, stream, everyByte(stream.size()));
  EXPECT_EQ(run.replies, 1);
  EXPECT_EQ(run.dones, 1);
  EXPECT_EQ(run.end_at, kC0C1 + kPacketSize);
  EXPECT_EQ(run.rest, tail);
}

// ---------------------------------------------------------------------------
// Modes digest and simple

TEST(ServerModeTest, DigestRefusesASimpleC1BeforeAnyReply) {
  const Captured rtmpdump = loadCaptured("rtmpdump");
  for (const Bytes& in : {c0c1(), rtmpdump.c0c1}) {
    const Bytes stream = concat({in, fakeConnect(10)});
    for (size_t split : {size_t{0}, size_t{1}, size_t{700}, kC0C1 - 1, kC0C1}) {
      SCOPED_TRACE("split at " + std::to_string(split));
      FastRandom rnd(kSeed);
      ServerHandshake hs(options({kRtmpVersion}, EchoCheck::kStrict, HandshakeMode::kDigest),
                         kServerTime, rnd);
      Trace run = driveServer(hs, stream, {split});
      EXPECT_EQ(run.replies, 0) << "nothing is sent to a refused client";
      ASSERT_EQ(run.fails, 1);
      EXPECT_EQ(run.end_at, kC0C1) << "refused once C1 is complete";
      EXPECT_EQ(hs.error(), HandshakeError::kDigestInvalid);
    }
  }
}

TEST(ServerModeTest, DigestAcceptsCapturedFfmpegC1) {
  const Captured c = loadCaptured("ffmpeg_play");
  FastRandom rnd(kSeed);
  ServerHandshake hs(options({kRtmpVersion}, EchoCheck::kStrict, HandshakeMode::kDigest),
                     kServerTime, rnd);
  ASSERT_EQ(hs.feed(c.c0c1, 3).step, Step::kReply);
  expectDigestReply(Bytes(hs.output().begin(), hs.output().end()), c.c0c1, 3);
}

TEST(ServerModeTest, SimpleAnswersADigestC1Simply) {
  const Captured c = loadCaptured("ffmpeg_play");
  for (const Bytes& in : {hello(digestC1()), c.c0c1}) {
    FastRandom rnd(kSeed);
    ServerHandshake hs(options({kRtmpVersion}, EchoCheck::kStrict, HandshakeMode::kSimple),
                       kServerTime, rnd);
    ASSERT_EQ(hs.feed(in, 9).step, Step::kReply);
    const Bytes out(hs.output().begin(), hs.output().end());
    EXPECT_EQ(slice(out, 1 + 4, 4), Bytes(4, 0)) << "S1[4..7] zero";
    EXPECT_FALSE(findDigest(view(slice(out, 1, kPacketSize)), Role::kServer));
    EXPECT_EQ(slice(out, 1 + kPacketSize + kRandomOffset, kRandomSize),
              slice(in, 1 + kRandomOffset, kRandomSize))
        << "S2 echoes C1";
    // A digest C2 cannot pass then; an echo does.
    const Bytes s1 = slice(out, 1, kPacketSize);
    ASSERT_EQ(hs.feed(echoC2(s1), 10).step, Step::kDone);
    EXPECT_EQ(hs.negotiatedMode(), HandshakeMode::kSimple);
  }
}

TEST(ServerModeTest, CodecMemoryStaysAtTheReplyBuffer) {
  // C2 is kept in the S2 slot after a digest answer: no second buffer.
  EXPECT_LE(sizeof(ServerHandshake), 1 + 2 * kPacketSize + 128);
}

// ---------------------------------------------------------------------------
// ClientHandshake in digest mode (toward backends)

constexpr uint32_t kClientTime = 0x01020304;

TEST(ClientDigestTest, HelloCarriesFlashVersionAndClientDigest) {
  FastRandom rnd(kSeed);
  ClientHandshake hs(kClientTime, rnd, ClientMode::kDigest);
  const Bytes hello_bytes(hs.hello().begin(), hs.hello().end());
  ASSERT_EQ(hello_bytes.size(), kC0C1);
  EXPECT_EQ(hello_bytes[0], kRtmpVersion);
  const Bytes c1 = slice(hello_bytes, 1, kPacketSize);
  EXPECT_EQ(be32(c1.data()), kClientTime);
  EXPECT_EQ(slice(c1, 4, 4), (Bytes{0x09, 0x00, 0x7C, 0x02}));
  auto found = findDigest(view(c1), Role::kClient);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->scheme, DigestScheme::kOffsetAt8) << "the scheme ffmpeg and nginx-rtmp use";
}

TEST(ClientDigestTest, SignsC2ForADigestS1AtEverySplit) {
  FastRandom probe(kSeed);
  ClientHandshake ref(kClientTime, probe, ClientMode::kDigest);
  const Bytes c0c1_bytes(ref.hello().begin(), ref.hello().end());
  const Bytes reply = learnReply(options(), c0c1_bytes);  // our server, auto
  const Bytes s1 = slice(reply, 1, kPacketSize);
  auto s1_digest = findDigest(view(s1), Role::kServer);
  ASSERT_TRUE(s1_digest);
  const Digest key = signatureKey(Role::kClient, digestAt(s1, s1_digest->offset));
  const Bytes extra = fakeConnect(40);
  const Bytes stream = concat({reply, extra});
  Bytes first_c2;
  for (size_t split = 0; split <= stream.size(); split += (split < 1600 ? 1 : 7)) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ClientHandshake hs(kClientTime, rnd, ClientMode::kDigest);
    Trace run = driveClient(hs, stream, {split});
    ASSERT_EQ(run.dones, 1);
    EXPECT_EQ(run.end_at, 1 + 2 * kPacketSize);
    EXPECT_EQ(run.rest, extra);
    EXPECT_TRUE(hs.digestC2());
    const Bytes c2(hs.c2().begin(), hs.c2().end());
    EXPECT_TRUE(signatureValid(view(c2), key));
    EXPECT_NE(slice(c2, kRandomOffset, kRandomSize), slice(s1, kRandomOffset, kRandomSize));
    if (first_c2.empty()) first_c2 = c2;
    EXPECT_EQ(c2, first_c2) << "the same C2 whatever the split";
  }
}

TEST(ClientDigestTest, EchoesAnS1WithoutDigest) {
  Bytes s1 = makeC1(0x55667788, 1234);
  putBe32(s1, 4, 0x0D0E0A0D);  // version bytes but no valid digest
  const Bytes stream = concat({Bytes{3}, s1, makeC1(1, 2)});
  FastRandom rnd(kSeed);
  ClientHandshake hs(kClientTime, rnd, ClientMode::kDigest);
  ASSERT_EQ(hs.feed(stream).step, Step::kDone);
  EXPECT_FALSE(hs.digestC2());
  EXPECT_EQ(Bytes(hs.c2().begin(), hs.c2().end()), s1);
}

TEST(ClientDigestTest, SimpleClientEchoesEvenADigestS1) {
  const Bytes reply = learnReply(options(), hello(digestC1()));
  FastRandom rnd(kSeed);
  ClientHandshake hs(kClientTime, rnd);  // simple
  ASSERT_EQ(hs.feed(reply).step, Step::kDone);
  EXPECT_FALSE(hs.digestC2());
  EXPECT_EQ(Bytes(hs.c2().begin(), hs.c2().end()), slice(reply, 1, kPacketSize));
}

// Our client against our server, each mode pair: who negotiates what, and
// whether the strict check passes.
TEST(ClientDigestTest, AgainstOurServerInEveryMode) {
  struct Case {
    ClientMode client;
    HandshakeMode server;
    Step end;
    HandshakeMode negotiated;
    bool digest_c2;
  };
  const Case cases[] = {
      {ClientMode::kDigest, HandshakeMode::kAuto, Step::kDone, HandshakeMode::kDigest, true},
      {ClientMode::kDigest, HandshakeMode::kDigest, Step::kDone, HandshakeMode::kDigest, true},
      {ClientMode::kDigest, HandshakeMode::kSimple, Step::kDone, HandshakeMode::kSimple, false},
      {ClientMode::kSimple, HandshakeMode::kAuto, Step::kDone, HandshakeMode::kSimple, false},
      {ClientMode::kSimple, HandshakeMode::kSimple, Step::kDone, HandshakeMode::kSimple, false},
      {ClientMode::kSimple, HandshakeMode::kDigest, Step::kFailed, HandshakeMode::kSimple, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("client " + std::to_string(static_cast<int>(c.client)) + ", server " +
                 std::to_string(static_cast<int>(c.server)));
    FastRandom client_rnd(1);
    FastRandom server_rnd(2);
    ClientHandshake client(kClientTime, client_rnd, c.client);
    ServerHandshake server(options({kRtmpVersion}, EchoCheck::kStrict, c.server), kServerTime,
                           server_rnd);
    FeedResult r = server.feed(client.hello(), 10);
    if (c.end == Step::kFailed) {
      EXPECT_EQ(r.step, Step::kFailed);
      EXPECT_EQ(server.error(), HandshakeError::kDigestInvalid);
      continue;
    }
    ASSERT_EQ(r.step, Step::kReply);
    ASSERT_EQ(client.feed(server.output()).step, Step::kDone);
    EXPECT_EQ(client.digestC2(), c.digest_c2);
    r = server.feed(client.c2(), 11);
    EXPECT_EQ(r.step, c.end);
    EXPECT_EQ(server.negotiatedMode(), c.negotiated);
  }
}

}  // namespace
}  // namespace rtmpgate::proxy::rtmp
