#include "proxy/rtmp/handshake.h"

#include <algorithm>
#include <cstring>

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
    : options_(options) {
  uint8_t* s1 = reply_ + 1;
  putBe32(s1, server_time_ms);
  std::memset(s1 + 4, 0, 4);
  random.fill(s1 + kRandomOffset, kRandomSize);
}

FeedResult ServerHandshake::fail(size_t consumed, HandshakeError e) {
  state_ = State::kFailed;
  error_ = e;
  return {consumed, Step::kFailed};
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
        uint8_t* s2 = reply_ + 1 + kPacketSize;
        size_t n = std::min(in.size() - pos, kPacketSize - have_);
        std::memcpy(s2 + have_, in.data() + pos, n);
        pos += n;
        have_ += n;
        if (have_ < kPacketSize) return {pos, Step::kNeedMore};
        putBe32(s2 + 4, now_ms);  // time2: when C1 was read
        state_ = State::kC2;
        have_ = 0;
        return {pos, Step::kReply};
      }

      case State::kC2: {
        // Compare as it streams: time (0..3) and random (8..) against S1;
        // time2 (4..7) is not compared (clients echo S1's zeros there).
        const uint8_t* s1 = reply_ + 1;
        size_t n = std::min(in.size() - pos, kPacketSize - have_);
        if (options_.echo_check != EchoCheck::kOff && !c2_mismatch_) {
          for (size_t i = 0; i < n; ++i) {
            size_t off = have_ + i;
            if ((off < 4 || off >= kRandomOffset) && in[pos + i] != s1[off]) {
              c2_mismatch_ = true;
              break;
            }
          }
        }
        pos += n;
        have_ += n;
        if (have_ < kPacketSize) return {pos, Step::kNeedMore};
        if (c2_mismatch_) {
          if (options_.echo_check == EchoCheck::kStrict) {
            return fail(pos, HandshakeError::kEchoMismatch);
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

ClientHandshake::ClientHandshake(uint32_t client_time_ms, FastRandom& random) {
  hello_[0] = kRtmpVersion;
  putBe32(hello_ + 1, client_time_ms);
  std::memset(hello_ + 5, 0, 4);
  random.fill(hello_ + 1 + kRandomOffset, kRandomSize);
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
        // S1 lands in C2 directly: our C2 echoes it byte for byte.
        size_t n = std::min(in.size() - pos, kPacketSize - have_);
        std::memcpy(c2_ + have_, in.data() + pos, n);
        pos += n;
        have_ += n;
        if (have_ < kPacketSize) return {pos, Step::kNeedMore};
        state_ = State::kS2;
        have_ = 0;
        break;
      }

      case State::kS2: {
        // S2 is not verified: nginx-rtmp answers a simple C1 with S2 = C1 but
        // other origins differ, and ffmpeg does not check it either.
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
