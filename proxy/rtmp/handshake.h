// I/O-free RTMP handshake codecs: the server side (facing clients) and the
// client side (facing backends). Callers feed whatever bytes a read produced,
// at any split, and act on the returned step. Nothing here touches a socket or
// a clock: times are passed in, so every split point can be unit-tested.
//
// Packet layout (BRIEF §1): C0/S0 = 1 byte version; C1/S1 = time(4, BE),
// zero(4), random(1528); C2/S2 = time(4), time2(4), random echo(1528).
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/rtmp/random.h"

namespace rtmpgate::proxy::rtmp {

inline constexpr size_t kPacketSize = 1536;
inline constexpr size_t kRandomOffset = 8;
inline constexpr size_t kRandomSize = kPacketSize - kRandomOffset;
inline constexpr uint8_t kRtmpVersion = 3;

enum class EchoCheck : uint8_t { kStrict, kReport, kOff };
enum class HandshakeMode : uint8_t { kAuto, kSimple, kDigest };

enum class HandshakeError : uint8_t { kNone, kBadVersion, kEchoMismatch, kDigestInvalid };

// What a non-RTMP first byte most likely is, for logs and events
// ("tls_client_hello", "http_or_proxy_v1", "proxy_v2", "rtmpe", "unknown").
std::string_view describeBadVersion(uint8_t c0);

enum class Step : uint8_t {
  kNeedMore,  // all input consumed; feed more
  kReply,     // output() holds bytes to send now; keep feeding the rest
  kDone,      // handshake complete; unconsumed input belongs to the stream
  kFailed,    // error() says why; close the connection
};

struct FeedResult {
  size_t consumed;
  Step step;
};

struct ServerOptions {
  std::bitset<256> versions;  // accepted C0 values
  EchoCheck echo_check = EchoCheck::kStrict;
  HandshakeMode mode = HandshakeMode::kAuto;
};

// Server side. S0+S1+S2 are produced as soon as C1 is complete (ffmpeg waits
// for S2 before it sends C2). C1 is received straight into the S2 slot and C2
// is compared as it streams in, so only the 3073-byte reply is ever held.
class ServerHandshake {
 public:
  // server_time_ms becomes S1's time field.
  ServerHandshake(const ServerOptions& options, uint32_t server_time_ms, FastRandom& random);

  FeedResult feed(std::span<const uint8_t> in, uint32_t now_ms);

  // S0+S1+S2; valid after kReply, until this object dies.
  std::span<const uint8_t> output() const { return {reply_, sizeof(reply_)}; }
  HandshakeError error() const { return error_; }
  uint8_t clientVersion() const { return reply_[0]; }
  // True when C2 did not echo S1 but echo_check: report let it through.
  bool echoMismatchAllowed() const { return mismatch_allowed_; }
  HandshakeMode negotiatedMode() const { return HandshakeMode::kSimple; }

 private:
  enum class State : uint8_t { kC0, kC1, kC2, kDone, kFailed };
  FeedResult fail(size_t consumed, HandshakeError e);

  ServerOptions options_;
  State state_ = State::kC0;
  HandshakeError error_ = HandshakeError::kNone;
  bool c2_mismatch_ = false;
  bool mismatch_allowed_ = false;
  size_t have_ = 0;  // bytes of the current packet received
  uint8_t reply_[1 + 2 * kPacketSize];
};

// Client side, toward a backend: C0 = 3 and a simple C1; reads S0 (must be 3),
// S1 and S2; answers C2 = S1 verbatim (what ffmpeg and rtmpdump do).
class ClientHandshake {
 public:
  ClientHandshake(uint32_t client_time_ms, FastRandom& random);

  std::span<const uint8_t> hello() const { return {hello_, sizeof(hello_)}; }  // C0+C1
  // kDone: c2() is ready to send; unconsumed input is stream data.
  FeedResult feed(std::span<const uint8_t> in);
  std::span<const uint8_t> c2() const { return {c2_, sizeof(c2_)}; }
  uint8_t serverVersion() const { return s0_; }
  HandshakeError error() const { return error_; }

 private:
  enum class State : uint8_t { kS0, kS1, kS2, kDone, kFailed };
  State state_ = State::kS0;
  HandshakeError error_ = HandshakeError::kNone;
  uint8_t s0_ = 0;
  size_t have_ = 0;
  uint8_t hello_[1 + kPacketSize];
  uint8_t c2_[kPacketSize];
};

}  // namespace rtmpgate::proxy::rtmp
