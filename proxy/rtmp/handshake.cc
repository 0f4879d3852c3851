#include "proxy/rtmp/handshake.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <optional>

namespace rtmpgate::proxy::rtmp {

namespace {
void putBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
}  // namespace

std::string_view describeBadVersion(uint8_t c0) {
  switch (c0) {
    case 0x16:
      return "tls_client_hello";
    case 'G':
    case 'P':
    case 'H':
    case 'O':
    case 'D':
    case 'C':
      return "http_or_proxy_v1";  // GET/POST/PUT/PROXY/HEAD/OPTIONS/DELETE/CONNECT
    case 0x0D:
      return "proxy_v2";
    case 6:
    case 8:
    case 9:
      return "rtmpe";
    default:
      return "unknown";
  }
}

ServerHandshake::ServerHandshake(const ServerOptions& options, uint32_t server_time_ms,
                                 FastRandom& random)
    : options_(options), random_(random) {
  putBe32(s1(), server_time_ms);
  std::memset(s1() + 4, 0, 4);
  random.fill(s1() + kRandomOffset, kRandomSize);
}

FeedResult ServerHandshake::fail(size_t consumed, HandshakeError e) {
  state_ = State::kFailed;
  error_ = e;
  return {consumed, Step::kFailed};
}

// Turns the simple reply (S1 as built, S2 = C1 with time2) into a digest one.
// S2 keeps time and time2 so it reads like the simple S2, but its random is
// fresh: the signature, not an echo, is what proves we read C1.
void ServerHandshake::answerDigest(DigestLocation c1_digest) {
  digest_ = true;
  const Digest s2_key = signatureKey(
      Role::kServer, std::span<const uint8_t, kDigestSize>(s2() + c1_digest.offset, kDigestSize));
  std::memcpy(s1() + 4, kDigestServerVersion, 4);
  s1_digest_at_ = static_cast<uint16_t>(
      writeDigest(PacketSpan(s1(), kPacketSize), Role::kServer, c1_digest.scheme).offset);
  random_.fill(s2() + kRandomOffset, kSignatureOffset - kRandomOffset);
  writeSignature(PacketSpan(s2(), kPacketSize), s2_key);
}

bool ServerHandshake::c2SignatureValid() const {
  const uint8_t* s1_digest = reply_ + 1 + s1_digest_at_;
  const Digest key =
      signatureKey(Role::kClient, std::span<const uint8_t, kDigestSize>(s1_digest, kDigestSize));
  return signatureValid(PacketView(reply_ + 1 + kPacketSize, kPacketSize), key);
}

FeedResult ServerHandshake::feed(std::span<const uint8_t> in, uint32_t now_ms) {
  size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::kC0:
        if (pos == in.size()) return {pos, Step::kNeedMore};
        reply_[0] = in[pos++];
        if (!options_.versions.test(reply_[0])) return fail(pos, HandshakeError::kBadVersion);
        state_ = State::kC1;
        have_ = 0;
        break;

      case State::kC1: {
        // C1 lands in the S2 slot: S2 = C1 time, time2, C1 random.
        size_t n = std::min(in.size() - pos, kPacketSize - have_);
        std::memcpy(s2() + have_, in.data() + pos, n);
        pos += n;
        have_ += n;
        if (have_ < kPacketSize) return {pos, Step::kNeedMore};
        std::optional<DigestLocation> c1_digest;
        // Zero version bytes mean a pre-digest client (rtmpdump, most
        // encoders in simple mode): answer simply without two HMACs, as
        // nginx-rtmp does (ngx_rtmp_handshake_parse_challenge).
        static constexpr uint8_t kZero[4] = {0, 0, 0, 0};
        const bool versioned = std::memcmp(s2() + 4, kZero, 4) != 0;
        if (options_.mode != HandshakeMode::kSimple && versioned) {
          c1_digest = findDigest(PacketView(s2(), kPacketSize), Role::kClient);
        }
        if (options_.mode == HandshakeMode::kDigest) {
          if (!c1_digest) return fail(pos, HandshakeError::kDigestInvalid);
        }
        putBe32(s2() + 4, now_ms);  // time2: when C1 was read
        if (c1_digest) answerDigest(*c1_digest);
        state_ = State::kC2;
        have_ = 0;
        return {pos, Step::kReply};
      }

      case State::kC2: {
        // Compare as it streams: time (0..3) and random (8..) against S1;
        // time2 (4..7) is not compared (clients echo S1's bytes there).
        size_t n = std::min(in.size() - pos, kPacketSize - have_);
        if (options_.echo_check != EchoCheck::kOff) {
          if (!c2_mismatch_) {
            // The compared ranges of this chunk: time [0,4) and random [8,1536).
            const size_t end = have_ + n;
            for (auto [lo, hi] : {std::pair<size_t, size_t>{0, 4}, {kRandomOffset, kPacketSize}}) {
              const size_t a = std::max(lo, have_), b = std::min(hi, end);
              if (a < b && std::memcmp(in.data() + pos + (a - have_), s1() + a, b - a) != 0) {
                c2_mismatch_ = true;
              }
            }
          }
          // The S2 slot was sent with the reply; it now keeps C2 in case
          // the echo fails and the signature has to be checked.
          if (digest_) std::memcpy(s2() + have_, in.data() + pos, n);
        }
        pos += n;
        have_ += n;
        if (have_ < kPacketSize) return {pos, Step::kNeedMore};
        if (c2_mismatch_ && !(digest_ && c2SignatureValid())) {
          if (options_.echo_check == EchoCheck::kStrict) {
            return fail(pos,
                        digest_ ? HandshakeError::kDigestInvalid : HandshakeError::kEchoMismatch);
          }
          mismatch_allowed_ = true;
        }
        state_ = State::kDone;
        return {pos, Step::kDone};
      }

      case State::kDone:
        return {0, Step::kDone};
      case State::kFailed:
        return {0, Step::kFailed};
    }
  }
}

ClientHandshake::ClientHandshake(uint32_t client_time_ms, FastRandom& random, ClientMode mode)
    : random_(random), mode_(mode) {
  uint8_t* c1 = hello_ + 1;
  hello_[0] = kRtmpVersion;
  putBe32(c1, client_time_ms);
  if (mode == ClientMode::kDigest) {
    std::memcpy(c1 + 4, kDigestClientVersion, 4);
  } else {
    std::memset(c1 + 4, 0, 4);
  }
  random.fill(c1 + kRandomOffset, kRandomSize);
  if (mode == ClientMode::kDigest) {
    writeDigest(PacketSpan(c1, kPacketSize), Role::kClient, DigestScheme::kOffsetAt8);
  }
}

// S1 sits in c2_. A digest client answers a digest S1 with a signed C2 and
// anything else with the echo already in place.
void ClientHandshake::answerS1() {
  if (mode_ != ClientMode::kDigest) return;
  std::optional<DigestLocation> s1_digest = findDigest(PacketView(c2_, kPacketSize), Role::kServer);
  if (!s1_digest) return;
  const Digest key = signatureKey(
      Role::kClient, std::span<const uint8_t, kDigestSize>(c2_ + s1_digest->offset, kDigestSize));
  random_.fill(c2_, kSignatureOffset);
  writeSignature(PacketSpan(c2_, kPacketSize), key);
  digest_c2_ = true;
}

FeedResult ClientHandshake::feed(std::span<const uint8_t> in) {
  size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::kS0:
        if (pos == in.size()) return {pos, Step::kNeedMore};
        s0_ = in[pos++];
        if (s0_ != kRtmpVersion) {
          state_ = State::kFailed;
          error_ = HandshakeError::kBadVersion;
          return {pos, Step::kFailed};
        }
        state_ = State::kS1;
        have_ = 0;
        break;

      case State::kS1: {
        // S1 lands in C2 directly: a simple C2 echoes it byte for byte.
        size_t n = std::min(in.size() - pos, kPacketSize - have_);
        std::memcpy(c2_ + have_, in.data() + pos, n);
        pos += n;
        have_ += n;
        if (have_ < kPacketSize) return {pos, Step::kNeedMore};
        answerS1();
        state_ = State::kS2;
        have_ = 0;
        break;
      }

      case State::kS2: {
        // S2 is not verified: nginx-rtmp answers a simple C1 with S2 = C1 but
        // other origins differ, and only ffmpeg players (after a digest S1)
        // check it; the backend is ours to reach, not to police.
        size_t n = std::min(in.size() - pos, kPacketSize - have_);
        pos += n;
        have_ += n;
        if (have_ < kPacketSize) return {pos, Step::kNeedMore};
        state_ = State::kDone;
        return {pos, Step::kDone};
      }

      case State::kDone:
        return {0, Step::kDone};
      case State::kFailed:
        return {0, Step::kFailed};
    }
  }
}

}  // namespace rtmpgate::proxy::rtmp
