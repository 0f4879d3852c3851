// The handshake codecs are pure functions of the bytes fed and the times
// passed in, so every split point of a real exchange is checked here.

#include "proxy/rtmp/handshake.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "proxy/rtmp/random.h"
#include "tests/unit/rtmp/handshake_harness.h"

namespace rtmpgate::proxy::rtmp {
namespace {

using namespace hstest;

// Checks S0+S1+S2 against BRIEF §1 for a C0C1 fed as `c0c1_bytes`, with C1
// completed by a feed whose now_ms was `time2`.
void expectReply(const Bytes& out, const Bytes& c0c1_bytes, uint32_t time2) {
  ASSERT_EQ(out.size(), 1 + 2 * kPacketSize);
  EXPECT_EQ(out[0], c0c1_bytes[0]) << "S0 repeats C0";
  const uint8_t* s1 = out.data() + 1;
  EXPECT_EQ(be32(s1), kServerTime) << "S1 time is the server time";
  EXPECT_EQ(Bytes(s1 + 4, s1 + 8), Bytes(4, 0)) << "S1 bytes 4..7 are zero";
  EXPECT_EQ(Bytes(s1 + kRandomOffset, s1 + kPacketSize), randomBytes(kSeed, kRandomSize))
      << "S1 random comes from the codec's generator";
  const uint8_t* s2 = out.data() + 1 + kPacketSize;
  const uint8_t* c1 = c0c1_bytes.data() + 1;
  EXPECT_EQ(be32(s2), be32(c1)) << "S2 time = C1 time";
  EXPECT_EQ(be32(s2 + 4), time2) << "S2 time2 = when C1 was read";
  EXPECT_EQ(Bytes(s2 + kRandomOffset, s2 + kPacketSize),
            Bytes(c1 + kRandomOffset, c1 + kPacketSize))
      << "S2 echoes C1's random";
}

// ---------------------------------------------------------------------------
// ServerHandshake: the happy path at every split

TEST(ServerHandshakeTest, C0C1SplitAtEveryByteRepliesOnceWithS0S1S2) {
  const Bytes in = c0c1();
  for (size_t split = 0; split <= in.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    Trace run = driveServer(hs, in, {split});
    ASSERT_EQ(run.replies, 1);
    EXPECT_EQ(run.dones + run.fails, 0);
    EXPECT_EQ(run.reply_at, in.size()) << "the reply comes exactly when C1 is complete";
    // C1 completes in the second chunk unless the first one holds all of it.
    size_t completing_chunk = split == in.size() ? 0 : 1;
    EXPECT_EQ(run.reply_chunk, completing_chunk);
    expectReply(run.output, in, kNowBase + static_cast<uint32_t>(completing_chunk));
    EXPECT_EQ(hs.clientVersion(), kRtmpVersion);
    EXPECT_EQ(hs.error(), HandshakeError::kNone);
    if (HasFatalFailure()) return;
  }
}

TEST(ServerHandshakeTest, C2WithPipelinedTailSplitAtEveryByteEndsExactlyAfterC2) {
  const Bytes s1 = learnS1();
  const Bytes c2 = echoC2(s1);
  const Bytes tail = fakeConnect();
  const Bytes after = concat({c2, tail});
  for (size_t split = 0; split <= after.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    ASSERT_EQ(hs.feed(c0c1(), 5).step, Step::kReply);
    Trace run = driveServer(hs, after, {split});
    ASSERT_EQ(run.dones, 1);
    EXPECT_EQ(run.fails, 0);
    EXPECT_EQ(run.replies, 0);
    EXPECT_EQ(run.end_at, kPacketSize) << "kDone exactly when C2 completes";
    EXPECT_EQ(run.rest, tail) << "bytes after C2 belong to the stream, all of them, in order";
    EXPECT_EQ(hs.error(), HandshakeError::kNone);
    EXPECT_FALSE(hs.echoMismatchAllowed());
    if (HasFatalFailure()) return;
  }
}

TEST(ServerHandshakeTest, WholeExchangeOneByteAtATime) {
  const Bytes s1 = learnS1();
  const Bytes hello = c0c1();
  const Bytes tail = fakeConnect();
  const Bytes stream = concat({hello, echoC2(s1, 0), tail});

  FastRandom rnd(kSeed);
  ServerHandshake hs(options(), kServerTime, rnd);
  Trace run = driveServer(hs, stream, everyByte(stream.size()));
  EXPECT_EQ(run.replies, 1);
  EXPECT_EQ(run.reply_chunk, kC0C1 - 1) << "reply right after the last C1 byte";
  expectReply(run.output, hello, kNowBase + static_cast<uint32_t>(kC0C1 - 1));
  EXPECT_EQ(run.dones, 1);
  EXPECT_EQ(run.end_at, kC0C1 + kPacketSize);
  EXPECT_EQ(run.rest, tail);
}

TEST(ServerHandshakeTest, WholeClientStreamInOneBuffer) {
  const Bytes s1 = learnS1();
  const Bytes hello = c0c1();
  const Bytes tail = fakeConnect();
  const Bytes stream = concat({hello, echoC2(s1), tail});

  FastRandom rnd(kSeed);
  ServerHandshake hs(options(), kServerTime, rnd);
  FeedResult r1 = hs.feed(stream, 42);
  ASSERT_EQ(r1.step, Step::kReply);
  EXPECT_EQ(r1.consumed, kC0C1);
  expectReply(Bytes(hs.output().begin(), hs.output().end()), hello, 42);
  FeedResult r2 = hs.feed(std::span(stream).subspan(r1.consumed), 43);
  ASSERT_EQ(r2.step, Step::kDone);
  EXPECT_EQ(r2.consumed, kPacketSize);
  EXPECT_EQ(slice(stream, r1.consumed + r2.consumed, stream.size() - r1.consumed - r2.consumed),
            tail);
}

TEST(ServerHandshakeTest, S2TimeIsTheTimeC1CompletedNotWhenC0Arrived) {
  const Bytes hello = c0c1();
  FastRandom rnd(kSeed);
  ServerHandshake hs(options(), kServerTime, rnd);
  EXPECT_EQ(hs.feed(std::span(hello).first(100), 1000).step, Step::kNeedMore);
  EXPECT_EQ(hs.feed(std::span(hello).subspan(100, 1000), 2000).step, Step::kNeedMore);
  ASSERT_EQ(hs.feed(std::span(hello).subspan(1100), 3000).step, Step::kReply);
  EXPECT_EQ(be32(hs.output().data() + 1 + kPacketSize + 4), 3000u);
}

TEST(ServerHandshakeTest, S1RandomIsFreshPerConnection) {
  FastRandom rnd(kSeed);  // one generator, as a worker shares it
  ServerHandshake a(options(), kServerTime, rnd);
  ServerHandshake b(options(), kServerTime, rnd);
  const Bytes hello = c0c1();
  ASSERT_EQ(a.feed(hello, 1).step, Step::kReply);
  ASSERT_EQ(b.feed(hello, 1).step, Step::kReply);
  EXPECT_NE(slice(a.output(), 1 + kRandomOffset, kRandomSize),
            slice(b.output(), 1 + kRandomOffset, kRandomSize));
}

TEST(ServerHandshakeTest, FeedingAfterDoneConsumesNothing) {
  const Bytes s1 = learnS1();
  FastRandom rnd(kSeed);
  ServerHandshake hs(options(), kServerTime, rnd);
  ASSERT_EQ(hs.feed(c0c1(), 1).step, Step::kReply);
  ASSERT_EQ(hs.feed(echoC2(s1), 2).step, Step::kDone);
  const Bytes more = fakeConnect(10);
  FeedResult r = hs.feed(more, 3);
  EXPECT_EQ(r.step, Step::kDone);
  EXPECT_EQ(r.consumed, 0u);
}

// ---------------------------------------------------------------------------
// Version check

TEST(ServerHandshakeTest, BadVersionFailsOnTheFirstByteWithoutReply) {
  const Bytes in = c0c1(0x16);
  FastRandom rnd(kSeed);
  ServerHandshake hs(options(), kServerTime, rnd);
  FeedResult r = hs.feed(in, 1);
  EXPECT_EQ(r.step, Step::kFailed);
  EXPECT_EQ(r.consumed, 1u);
  EXPECT_EQ(hs.error(), HandshakeError::kBadVersion);
  EXPECT_EQ(hs.clientVersion(), 0x16);
  // Nothing more is accepted, and no reply ever comes.
  FeedResult again = hs.feed(std::span(in).subspan(1), 2);
  EXPECT_EQ(again.step, Step::kFailed);
  EXPECT_EQ(again.consumed, 0u);
}

TEST(ServerHandshakeTest, BadVersionAloneFailsWithoutWaitingForC1) {
  FastRandom rnd(kSeed);
  ServerHandshake hs(options(), kServerTime, rnd);
  const Bytes c0{'G'};
  FeedResult r = hs.feed(c0, 1);
  EXPECT_EQ(r.step, Step::kFailed);
  EXPECT_EQ(r.consumed, 1u);
  EXPECT_EQ(hs.error(), HandshakeError::kBadVersion);
}

TEST(ServerHandshakeTest, ConfiguredExtraVersionIsAcceptedAndEchoedInS0) {
  const Bytes in = c0c1(6);
  FastRandom rnd(kSeed);
  ServerHandshake hs(options({3, 6}), kServerTime, rnd);
  FeedResult r = hs.feed(in, 9);
  ASSERT_EQ(r.step, Step::kReply);
  EXPECT_EQ(r.consumed, kC0C1);
  EXPECT_EQ(hs.output()[0], 6);
  EXPECT_EQ(hs.clientVersion(), 6);
  expectReply(Bytes(hs.output().begin(), hs.output().end()), in, 9);
}

TEST(ServerHandshakeTest, VersionNotInTheListIsRefused) {
  FastRandom rnd(kSeed);
  ServerHandshake hs(options({3}), kServerTime, rnd);
  FeedResult r = hs.feed(c0c1(6), 1);
  EXPECT_EQ(r.step, Step::kFailed);
  EXPECT_EQ(hs.error(), HandshakeError::kBadVersion);
}

TEST(ServerHandshakeTest, Version3IsRefusedWhenNotListed) {
  FastRandom rnd(kSeed);
  ServerHandshake hs(options({6}), kServerTime, rnd);
  FeedResult r = hs.feed(c0c1(3), 1);
  EXPECT_EQ(r.step, Step::kFailed);
  EXPECT_EQ(hs.error(), HandshakeError::kBadVersion);
}

TEST(DescribeBadVersionTest, NamesTheLikelyProtocol) {
  EXPECT_EQ(describeBadVersion(0x16), "tls_client_hello");
  EXPECT_EQ(describeBadVersion('G'), "http_or_proxy_v1");
  EXPECT_EQ(describeBadVersion('P'), "http_or_proxy_v1");
  EXPECT_EQ(describeBadVersion(0x0D), "proxy_v2");
  EXPECT_EQ(describeBadVersion(6), "rtmpe");
  EXPECT_EQ(describeBadVersion(8), "rtmpe");
  EXPECT_EQ(describeBadVersion(9), "rtmpe");
  EXPECT_EQ(describeBadVersion(0x01), "unknown");
  EXPECT_EQ(describeBadVersion(0xFF), "unknown");
}

// ---------------------------------------------------------------------------
// Echo check

// Runs a full exchange with C2 = `c2` in `mode`; returns the final step.
struct EchoOutcome {
  Step step;
  HandshakeError error;
  bool allowed;
};

EchoOutcome runWithC2(const Bytes& c2, EchoCheck mode) {
  FastRandom rnd(kSeed);
  ServerHandshake hs(options({kRtmpVersion}, mode), kServerTime, rnd);
  EXPECT_EQ(hs.feed(c0c1(), 1).step, Step::kReply);
  FeedResult r = hs.feed(c2, 2);
  EXPECT_EQ(r.consumed, kPacketSize);
  return {r.step, hs.error(), hs.echoMismatchAllowed()};
}

TEST(ServerEchoCheckTest, StrictRejectsC2WithWrongTime) {
  const Bytes s1 = learnS1();
  for (size_t i : {0, 3}) {
    SCOPED_TRACE("byte " + std::to_string(i));
    Bytes c2 = echoC2(s1);
    c2[i] ^= 0x01;
    EchoOutcome o = runWithC2(c2, EchoCheck::kStrict);
    EXPECT_EQ(o.step, Step::kFailed);
    EXPECT_EQ(o.error, HandshakeError::kEchoMismatch);
  }
}

TEST(ServerEchoCheckTest, StrictRejectsC2WithWrongFirstRandomByte) {
  Bytes c2 = echoC2(learnS1());
  c2[kRandomOffset] ^= 0x80;
  EchoOutcome o = runWithC2(c2, EchoCheck::kStrict);
  EXPECT_EQ(o.step, Step::kFailed);
  EXPECT_EQ(o.error, HandshakeError::kEchoMismatch);
}

TEST(ServerEchoCheckTest, StrictRejectsC2WithWrongLastByte) {
  Bytes c2 = echoC2(learnS1());
  c2[kPacketSize - 1] ^= 0xFF;
  EchoOutcome o = runWithC2(c2, EchoCheck::kStrict);
  EXPECT_EQ(o.step, Step::kFailed);
  EXPECT_EQ(o.error, HandshakeError::kEchoMismatch);
}

TEST(ServerEchoCheckTest, StrictIgnoresTime2Bytes) {
  const Bytes s1 = learnS1();
  for (uint32_t time2 : {0u, 0xFFFFFFFFu, 0x12345678u}) {
    EchoOutcome o = runWithC2(echoC2(s1, time2), EchoCheck::kStrict);
    EXPECT_EQ(o.step, Step::kDone) << "time2 " << time2;
    EXPECT_EQ(o.error, HandshakeError::kNone);
    EXPECT_FALSE(o.allowed);
  }
}

TEST(ServerEchoCheckTest, StrictRejectsC2ThatEchoesC1InsteadOfS1) {
  // A client that echoes its own C1 (or replays S2) must not pass.
  EchoOutcome o = runWithC2(makeC1(kC1Time), EchoCheck::kStrict);
  EXPECT_EQ(o.step, Step::kFailed);
  EXPECT_EQ(o.error, HandshakeError::kEchoMismatch);
}

TEST(ServerEchoCheckTest, ReportModeLetsMismatchThroughAndFlagsIt) {
  Bytes c2 = echoC2(learnS1());
  c2[kRandomOffset + 100] ^= 0x01;
  EchoOutcome o = runWithC2(c2, EchoCheck::kReport);
  EXPECT_EQ(o.step, Step::kDone);
  EXPECT_EQ(o.error, HandshakeError::kNone);
  EXPECT_TRUE(o.allowed);
}

TEST(ServerEchoCheckTest, ReportModeDoesNotFlagAGoodEcho) {
  EchoOutcome o = runWithC2(echoC2(learnS1()), EchoCheck::kReport);
  EXPECT_EQ(o.step, Step::kDone);
  EXPECT_FALSE(o.allowed);
}

TEST(ServerEchoCheckTest, OffModeCompletesWithoutFlag) {
  Bytes c2 = echoC2(learnS1());
  c2[0] ^= 0x01;
  c2[kPacketSize - 1] ^= 0x01;
  EchoOutcome o = runWithC2(c2, EchoCheck::kOff);
  EXPECT_EQ(o.step, Step::kDone);
  EXPECT_EQ(o.error, HandshakeError::kNone);
  EXPECT_FALSE(o.allowed);
}

TEST(ServerEchoCheckTest, MismatchIsDetectedAtEverySplitOfC2) {
  Bytes c2 = echoC2(learnS1());
  const size_t bad = 700;
  c2[bad] ^= 0x10;
  const Bytes tail = fakeConnect(20);
  const Bytes after = concat({c2, tail});
  for (size_t split = 0; split <= after.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ServerHandshake hs(options(), kServerTime, rnd);
    ASSERT_EQ(hs.feed(c0c1(), 1).step, Step::kReply);
    Trace run = driveServer(hs, after, {split});
    ASSERT_EQ(run.fails, 1);
    EXPECT_EQ(run.dones, 0);
    EXPECT_EQ(hs.error(), HandshakeError::kEchoMismatch);
    EXPECT_LE(run.end_at, kPacketSize) << "a failed check never eats stream bytes";
  }
}

TEST(ServerEchoCheckTest, ReportModeFlagsMismatchAtEverySplitOfC2) {
  Bytes c2 = echoC2(learnS1());
  c2[kPacketSize - 1] ^= 0x10;
  const Bytes tail = fakeConnect(20);
  const Bytes after = concat({c2, tail});
  for (size_t split = 0; split <= after.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ServerHandshake hs(options({kRtmpVersion}, EchoCheck::kReport), kServerTime, rnd);
    ASSERT_EQ(hs.feed(c0c1(), 1).step, Step::kReply);
    Trace run = driveServer(hs, after, {split});
    ASSERT_EQ(run.dones, 1);
    EXPECT_TRUE(hs.echoMismatchAllowed());
    EXPECT_EQ(run.rest, tail);
  }
}

// ---------------------------------------------------------------------------
// ClientHandshake (toward a backend)

constexpr uint32_t kClientTime = 0x01020304;

TEST(ClientHandshakeTest, HelloIsVersion3AndSimpleC1) {
  FastRandom rnd(kSeed);
  ClientHandshake hs(kClientTime, rnd);
  auto hello = hs.hello();
  ASSERT_EQ(hello.size(), kC0C1);
  EXPECT_EQ(hello[0], 3);
  EXPECT_EQ(be32(hello.data() + 1), kClientTime);
  EXPECT_EQ(slice(hello, 5, 4), Bytes(4, 0)) << "C1 bytes 4..7 are zero (simple handshake)";
  EXPECT_EQ(slice(hello, 1 + kRandomOffset, kRandomSize), randomBytes(kSeed, kRandomSize));
}

TEST(ClientHandshakeTest, ServerReplySplitAtEveryByteGivesC2EchoingS1) {
  // What a backend sends: S0, S1 (digest-style bytes 4..7 too), S2, then
  // the start of its own stream.
  Bytes s1 = makeC1(0x55667788, 1234);
  putBe32(s1, 4, 0x0D0E0A0D);
  FastRandom probe(kSeed);
  ClientHandshake ref(kClientTime, probe);
  const Bytes s2 = slice(ref.hello(), 1, kPacketSize);  // S2 echoing our C1
  const Bytes extra = fakeConnect(50);
  const Bytes stream = concat({Bytes{3}, s1, s2, extra});

  for (size_t split = 0; split <= stream.size(); ++split) {
    SCOPED_TRACE("split at " + std::to_string(split));
    FastRandom rnd(kSeed);
    ClientHandshake hs(kClientTime, rnd);
    Trace run = driveClient(hs, stream, {split});
    ASSERT_EQ(run.dones, 1);
    EXPECT_EQ(run.fails, 0);
    EXPECT_EQ(run.replies, 0);
    EXPECT_EQ(run.end_at, 1 + 2 * kPacketSize) << "kDone exactly when S2 completes";
    EXPECT_EQ(Bytes(hs.c2().begin(), hs.c2().end()), s1) << "C2 = S1 byte for byte";
    EXPECT_EQ(run.rest, extra);
    EXPECT_EQ(hs.serverVersion(), 3);
    EXPECT_EQ(hs.error(), HandshakeError::kNone);
    if (HasFatalFailure()) return;
  }
}

TEST(ClientHandshakeTest, ServerReplyOneByteAtATime) {
  const Bytes s1 = makeC1(7, 8);
  const Bytes s2 = makeC1(9, 10);
  const Bytes extra = fakeConnect(5);
  const Bytes stream = concat({Bytes{3}, s1, s2, extra});
  FastRandom rnd(kSeed);
  ClientHandshake hs(kClientTime, rnd);
  Trace run = driveClient(hs, stream, everyByte(stream.size()));
  ASSERT_EQ(run.dones, 1);
  EXPECT_EQ(run.end_at, 1 + 2 * kPacketSize);
  EXPECT_EQ(Bytes(hs.c2().begin(), hs.c2().end()), s1);
  EXPECT_EQ(run.rest, extra);
}

TEST(ClientHandshakeTest, WrongS0FailsWithBadVersion) {
  for (uint8_t v : std::initializer_list<uint8_t>{0, 6, 0x16, 'H'}) {
    SCOPED_TRACE("S0 " + std::to_string(v));
    FastRandom rnd(kSeed);
    ClientHandshake hs(kClientTime, rnd);
    const Bytes stream = concat({Bytes{v}, makeC1(1), makeC1(2)});
    FeedResult r = hs.feed(stream);
    EXPECT_EQ(r.step, Step::kFailed);
    EXPECT_EQ(r.consumed, 1u);
    EXPECT_EQ(hs.error(), HandshakeError::kBadVersion);
    EXPECT_EQ(hs.serverVersion(), v);
  }
}

TEST(ClientHandshakeTest, NeedsAllOfS2BeforeDone) {
  FastRandom rnd(kSeed);
  ClientHandshake hs(kClientTime, rnd);
  const Bytes stream = concat({Bytes{3}, makeC1(1), makeC1(2)});
  FeedResult r = hs.feed(std::span(stream).first(stream.size() - 1));
  EXPECT_EQ(r.step, Step::kNeedMore);
  EXPECT_EQ(r.consumed, stream.size() - 1);
  r = hs.feed(std::span(stream).last(1));
  EXPECT_EQ(r.step, Step::kDone);
  EXPECT_EQ(r.consumed, 1u);
}

}  // namespace
}  // namespace rtmpgate::proxy::rtmp
