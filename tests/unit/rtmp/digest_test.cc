// The digest helpers against answers computed elsewhere: RFC 4231 for the
// HMAC plumbing, Python's hmac/hashlib for the Flash-specific layout
// (tests/unit/rtmp/vectors/known_answers.py, run once, output pasted below),
// and handshakes captured from ffmpeg, rtmpdump and nginx-rtmp.
#include "proxy/rtmp/digest.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "tests/unit/rtmp/handshake_harness.h"

namespace rtmpgate::proxy::rtmp {
namespace {

using namespace hstest;

Bytes fromHex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes bytesOf(std::span<const uint8_t> s) { return Bytes(s.begin(), s.end()); }
Bytes bytesOf(const Digest& d) { return Bytes(d.begin(), d.end()); }
std::span<const uint8_t> text(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// known_answers.py's packet: p[i] = (i * 7 + 3) & 0xFF.
Bytes patternPacket() {
  Bytes p(kPacketSize);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 7 + 3);
  return p;
}

std::span<const uint8_t, kDigestSize> digestAt(const Bytes& p, size_t at) {
  return std::span<const uint8_t, kDigestSize>(p.data() + at, kDigestSize);
}

TEST(HmacSha256Test, MatchesRfc4231TestCase2) {
  const Digest d = hmacSha256(text("Jefe"), text("what do ya want "), text("for nothing?"));
  EXPECT_EQ(bytesOf(d),
            fromHex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
}

TEST(DigestKeysTest, AreTheFlashPlayerAndMediaServerKeys) {
  EXPECT_EQ(fullKey(Role::kClient).size(), 62u);
  EXPECT_EQ(fullKey(Role::kServer).size(), 68u);
  EXPECT_EQ(bytesOf(partialKey(Role::kClient)), bytesOf(text("Genuine Adobe Flash Player 001")));
  EXPECT_EQ(bytesOf(partialKey(Role::kServer)),
            bytesOf(text("Genuine Adobe Flash Media Server 001")));
  const Bytes tail = fromHex("f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae");
  EXPECT_EQ(bytesOf(fullKey(Role::kClient).subspan(30)), tail);
  EXPECT_EQ(bytesOf(fullKey(Role::kServer).subspan(36)), tail);
}

TEST(DigestOffsetTest, KnownAnswersForBothSchemes) {
  const Bytes p = patternPacket();
  EXPECT_EQ(digestOffset(view(p), DigestScheme::kOffsetAt8), 290u);    // 12 + (59+66+73+80)
  EXPECT_EQ(digestOffset(view(p), DigestScheme::kOffsetAt772), 942u);  // 776 + (31+38+45+52)
}

TEST(DigestOffsetTest, StaysInsideItsHalfForEveryOffsetSum) {
  Bytes p(kPacketSize, 0);
  for (int a = 0; a < 256; a += 5) {
    for (int b : {0, 1, 127, 255}) {
      for (size_t base : {size_t{8}, size_t{772}}) {
        p[base] = static_cast<uint8_t>(a);
        p[base + 1] = static_cast<uint8_t>(b);
        p[base + 2] = 255;
        p[base + 3] = static_cast<uint8_t>(a ^ b);
      }
      const size_t lo = digestOffset(view(p), DigestScheme::kOffsetAt8);
      const size_t hi = digestOffset(view(p), DigestScheme::kOffsetAt772);
      EXPECT_GE(lo, 12u);
      EXPECT_LE(lo + kDigestSize, 772u) << "never reaches the 772 scheme's offset bytes";
      EXPECT_GE(hi, 776u);
      EXPECT_LE(hi + kDigestSize, kPacketSize);
      const size_t sum = size_t(a) + b + 255 + (a ^ b);
      EXPECT_EQ(lo, 12 + sum % 728);
      EXPECT_EQ(hi, 776 + sum % 728);
    }
  }
}

TEST(PacketDigestTest, KnownAnswers) {
  const Bytes p = patternPacket();
  EXPECT_EQ(bytesOf(packetDigest(view(p), 290, partialKey(Role::kClient))),
            fromHex("36d27b365b84e5e55f376e2f24f3a7dd6b8b5e9b002f035f99366c07e43b8d41"));
  EXPECT_EQ(bytesOf(packetDigest(view(p), 942, partialKey(Role::kServer))),
            fromHex("01d1722f262d0920a2fd6c2cff614d034585bbacbc28b5c77a88ca2fc0c3b984"));
}

TEST(SignatureTest, KnownAnswers) {
  Bytes peer(kDigestSize);
  for (size_t i = 0; i < peer.size(); ++i) peer[i] = static_cast<uint8_t>(i);
  const Digest server_key = signatureKey(Role::kServer, digestAt(peer, 0));
  EXPECT_EQ(bytesOf(server_key),
            fromHex("70063e50114d8225b7b5a0c0b8e5f88b0aa59f9afe641ecc0b577b2e60573406"));
  EXPECT_EQ(bytesOf(signatureKey(Role::kClient, digestAt(peer, 0))),
            fromHex("1a1379dcc7a414db0fa8595cd145052fde9dd6296dbdb97dcb3fcf72904e4a73"));

  Bytes p = patternPacket();
  writeSignature(PacketSpan(p.data(), kPacketSize), server_key);
  EXPECT_EQ(slice(p, kSignatureOffset, kDigestSize),
            fromHex("7fce027fd61c568e1d886d89070214fd2a2391e2c75bf93581cd361dab63b9fa"));
  EXPECT_EQ(slice(p, 0, kSignatureOffset), slice(patternPacket(), 0, kSignatureOffset))
      << "only the last 32 bytes change";
  EXPECT_TRUE(signatureValid(view(p), server_key));
}

TEST(SignatureTest, AnyChangedByteOrKeyInvalidatesIt) {
  Bytes peer(kDigestSize, 0x42);
  const Digest key = signatureKey(Role::kClient, digestAt(peer, 0));
  Bytes p = randomBytes(5, kPacketSize);
  writeSignature(PacketSpan(p.data(), kPacketSize), key);
  ASSERT_TRUE(signatureValid(view(p), key));
  for (size_t i : {size_t{0}, size_t{7}, size_t{800}, kSignatureOffset - 1, kSignatureOffset,
                   kPacketSize - 1}) {
    Bytes bad = p;
    bad[i] ^= 0x01;
    EXPECT_FALSE(signatureValid(view(bad), key)) << "byte " << i;
  }
  const Digest other = signatureKey(Role::kServer, digestAt(peer, 0));
  EXPECT_FALSE(signatureValid(view(p), other)) << "the server's key must not sign a C2";
}

TEST(FindDigestTest, FindsWhatWriteDigestWroteForEitherRoleAndScheme) {
  for (Role role : {Role::kClient, Role::kServer}) {
    for (DigestScheme scheme : {DigestScheme::kOffsetAt8, DigestScheme::kOffsetAt772}) {
      SCOPED_TRACE(std::string(role == Role::kClient ? "client" : "server") +
                   (scheme == DigestScheme::kOffsetAt8 ? " scheme 8" : " scheme 772"));
      Bytes p =
          randomBytes(11 + static_cast<int>(scheme) * 2 + static_cast<int>(role), kPacketSize);
      const DigestLocation w = writeDigest(PacketSpan(p.data(), kPacketSize), role, scheme);
      EXPECT_EQ(w.scheme, scheme);
      EXPECT_EQ(w.offset, digestOffset(view(p), scheme));
      EXPECT_EQ(slice(p, w.offset, kDigestSize),
                bytesOf(packetDigest(view(p), w.offset, partialKey(role))));
      auto found = findDigest(view(p), role);
      ASSERT_TRUE(found);
      EXPECT_EQ(found->scheme, scheme);
      EXPECT_EQ(found->offset, w.offset);
      const Role other = role == Role::kClient ? Role::kServer : Role::kClient;
      EXPECT_FALSE(findDigest(view(p), other)) << "keyed by the wrong side's key";
    }
  }
}

TEST(FindDigestTest, RejectsAnyChangedByte) {
  Bytes p = randomBytes(21, kPacketSize);
  const DigestLocation w =
      writeDigest(PacketSpan(p.data(), kPacketSize), Role::kClient, DigestScheme::kOffsetAt8);
  ASSERT_TRUE(findDigest(view(p), Role::kClient));
  // In the digest, in the offset bytes, before and after it, the last byte.
  for (size_t i : {w.offset, w.offset + kDigestSize - 1, size_t{9}, size_t{0}, size_t{5},
                   w.offset + kDigestSize, kPacketSize - 1}) {
    Bytes bad = p;
    bad[i] ^= 0x20;
    EXPECT_FALSE(findDigest(view(bad), Role::kClient)) << "byte " << i;
  }
}

TEST(FindDigestTest, PlainRandomPacketsHaveNone) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Bytes p = randomBytes(seed, kPacketSize);
    EXPECT_FALSE(findDigest(view(p), Role::kClient));
    EXPECT_FALSE(findDigest(view(p), Role::kServer));
  }
}

// ---------------------------------------------------------------------------
// Handshakes captured from real clients by vectors/capture.py, whose server
// side is Python's, not ours: these check our helpers against the peers.

TEST(CapturedDigestTest, FfmpegC1CarriesAClientDigestInThe8Scheme) {
  for (const char* name : {"ffmpeg_play", "ffmpeg_publish"}) {
    SCOPED_TRACE(name);
    const Captured c = loadCaptured(name);
    EXPECT_EQ(c.c0c1[0], 3);
    EXPECT_EQ(slice(c.c1(), 4, 4), (Bytes{0x09, 0x00, 0x7C, 0x02})) << "Flash Player 9.0.124.2";
    auto found = findDigest(view(c.c1()), Role::kClient);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->scheme, DigestScheme::kOffsetAt8);
    EXPECT_EQ(found->offset, 494u);  // ffmpeg's C1 is the same on every run
  }
}

TEST(CapturedDigestTest, NginxRelayC1CarriesAClientDigest) {
  const Captured c = loadCaptured("nginx_relay");
  EXPECT_EQ(slice(c.c1(), 4, 4), (Bytes{0x0C, 0x00, 0x0D, 0x0E}));
  auto found = findDigest(view(c.c1()), Role::kClient);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->scheme, DigestScheme::kOffsetAt8);
}

TEST(CapturedDigestTest, RtmpdumpC1IsSimple) {
  const Captured c = loadCaptured("rtmpdump");
  EXPECT_EQ(slice(c.c1(), 4, 4), Bytes(4, 0));
  EXPECT_FALSE(findDigest(view(c.c1()), Role::kClient));
}

TEST(CapturedDigestTest, ServerS2SignatureThatFfmpegAcceptedVerifies) {
  // ffmpeg players check S2 ("Signature mismatch") before they send C2, so
  // a captured C2 means this S2 was right.
  const Captured c = loadCaptured("ffmpeg_play");
  const Bytes c1 = c.c1();
  auto c1_digest = findDigest(view(c1), Role::kClient);
  ASSERT_TRUE(c1_digest);
  const Digest key = signatureKey(Role::kServer, digestAt(c1, c1_digest->offset));
  EXPECT_TRUE(signatureValid(view(c.s2()), key));
}

TEST(CapturedDigestTest, DigestC2FromFfmpegPlayerAndNginxRelayVerify) {
  for (const char* name : {"ffmpeg_play", "nginx_relay"}) {
    SCOPED_TRACE(name);
    const Captured c = loadCaptured(name);
    const Bytes s1 = c.s1();
    auto s1_digest = findDigest(view(s1), Role::kServer);
    ASSERT_TRUE(s1_digest) << "the capturing server's S1 carries a digest";
    const Digest key = signatureKey(Role::kClient, digestAt(s1, s1_digest->offset));
    EXPECT_TRUE(signatureValid(view(c.c2), key));
    EXPECT_NE(slice(c.c2, kRandomOffset, kRandomSize), slice(s1, kRandomOffset, kRandomSize))
        << "a digest C2 is not an echo";
    Bytes bad = c.c2;
    bad[100] ^= 0x01;
    EXPECT_FALSE(signatureValid(view(bad), key));
  }
}

TEST(CapturedDigestTest, FfmpegPublisherEchoesS1EvenAfterADigestS1) {
  const Captured c = loadCaptured("ffmpeg_publish");
  const Bytes s1 = c.s1();
  EXPECT_TRUE(findDigest(view(s1), Role::kServer));
  EXPECT_EQ(slice(c.c2, 0, 4), slice(s1, 0, 4));
  EXPECT_EQ(slice(c.c2, kRandomOffset, kRandomSize), slice(s1, kRandomOffset, kRandomSize));
}

}  // namespace
}  // namespace rtmpgate::proxy::rtmp
