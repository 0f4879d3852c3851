// I/O-free RTMP handshake codecs: the server side (facing clients) and the
// client side (facing backends). Callers feed whatever bytes a read produced,
// at any split, and act on the returned step. Nothing here touches a socket or
// a clock: times are passed in, so every split point can be unit-tested.
//
// Packet layout: proxy/rtmp/packet.h. Both codecs speak the simple
// handshake of BRIEF §1 and the Flash Player 9 digest handshake
// (proxy/rtmp/digest.h).
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/rtmp/digest.h"
#include "proxy/rtmp/packet.h"
#include "proxy/rtmp/random.h"

namespace rtmpgate::proxy::rtmp {

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

// S1[4..7] of a digest answer. ffmpeg players validate S1's digest (and S2's
// signature) only when S1[4] >= 3, and echo S1 otherwise; any such value
// works. This one reads as server version 4.5.0.1, as FMS-style servers
// send; nginx-rtmp sends 0D 0E 0A 0D.
inline constexpr uint8_t kDigestServerVersion[4] = {0x04, 0x05, 0x00, 0x01};
// C1[4..7] of a digest hello toward a backend: Flash Player 9.0.124.2, the
// bytes ffmpeg sends (nginx-rtmp relays send 0C 00 0D 0E). Origins only look
// at whether they are zero.
inline constexpr uint8_t kDigestClientVersion[4] = {0x09, 0x00, 0x7C, 0x02};

// Server side. S0+S1+S2 are produced as soon as C1 is complete (ffmpeg waits
// for S2 before it sends C2).
//
// Mode: kSimple answers every C1 simply (S1[4..7] zero, S2 echoing C1).
// kAuto answers a C1 that carries a valid client digest (either scheme) with
// a digest S1 (kDigestServerVersion, server digest placed with the scheme the
// client used) and a digest S2 (time, time2, fresh random, signature keyed by
// the client's digest); any other C1 gets the simple answer. A C1 whose
// bytes 4..7 are zero is a pre-digest client and is not searched for a
// digest at all (nginx-rtmp's rule; it saves two HMACs per simple client).
// kDigest fails a C1 without a valid digest (or with zero bytes 4..7) with
// kDigestInvalid, before any reply.
//
// C2 check (echo_check strict/report; off skips it): after a simple answer C2
// must echo S1 (time and random; time2 is not compared), else kEchoMismatch.
// After a digest answer C2 passes if it echoes S1 (ffmpeg publishers do) or
// carries the C2 signature keyed by S1's digest (ffmpeg players, nginx-rtmp
// relays); one that does neither fails with kDigestInvalid: that client
// proved it speaks digest, so a wrong C2 is a digest failure, not a missed
// echo. report lets either failure through and flags it.
//
// Memory: C1 is received straight into the S2 slot, and C2 is compared with
// S1 as it streams in, so only the 3073-byte reply is held. After a digest
// answer (and only then) C2 is also kept, for the signature check, in the
// S2 slot: output() has been sent by then.
class ServerHandshake {
 public:
  // server_time_ms becomes S1's time field. `random` fills S1 now and a
  // digest S2 later, so it must outlive this object (a worker's does).
  ServerHandshake(const ServerOptions& options, uint32_t server_time_ms, FastRandom& random);

  FeedResult feed(std::span<const uint8_t> in, uint32_t now_ms);

  // S0+S1+S2; valid after kReply, until the next feed().
  std::span<const uint8_t> output() const { return {reply_, sizeof(reply_)}; }
  HandshakeError error() const { return error_; }
  uint8_t clientVersion() const { return reply_[0]; }
  // True when C2 failed its check but echo_check: report let it through.
  bool echoMismatchAllowed() const { return mismatch_allowed_; }
  // kDigest once C1 got a digest answer, else kSimple.
  HandshakeMode negotiatedMode() const {
    return digest_ ? HandshakeMode::kDigest : HandshakeMode::kSimple;
  }

 private:
  enum class State : uint8_t { kC0, kC1, kC2, kDone, kFailed };
  FeedResult fail(size_t consumed, HandshakeError e);
  void answerDigest(DigestLocation c1_digest);
  bool c2SignatureValid() const;
  uint8_t* s1() { return reply_ + 1; }
  uint8_t* s2() { return reply_ + 1 + kPacketSize; }

  ServerOptions options_;
  FastRandom& random_;
  State state_ = State::kC0;
  HandshakeError error_ = HandshakeError::kNone;
  bool digest_ = false;
  bool c2_mismatch_ = false;
  bool mismatch_allowed_ = false;
  uint16_t s1_digest_at_ = 0;  // where S1's digest is, after a digest answer
  size_t have_ = 0;            // bytes of the current packet received
  uint8_t reply_[1 + 2 * kPacketSize];
};

enum class ClientMode : uint8_t { kSimple, kDigest };

// Client side, toward a backend: C0 = 3 and C1; reads S0 (must be 3), S1 and
// S2; then c2() is ready. kSimple: C1[4..7] zero, C2 = S1 verbatim (what
// rtmpdump does). kDigest: C1 carries kDigestClientVersion and a client
// digest (8 scheme, like ffmpeg and nginx-rtmp); if S1 carries a valid
// server digest, C2 is fresh random signed with the key from it, else C2
// echoes S1, which every origin accepts from a simple server. S2 is not
// verified either way: the gateway only has to get through, and origins
// differ in what they put there.
class ClientHandshake {
 public:
  // `random` must outlive this object (a digest C2 is drawn from it late).
  ClientHandshake(uint32_t client_time_ms, FastRandom& random,
                  ClientMode mode = ClientMode::kSimple);

  std::span<const uint8_t> hello() const { return {hello_, sizeof(hello_)}; }  // C0+C1
  // kDone: c2() is ready to send; unconsumed input is stream data.
  FeedResult feed(std::span<const uint8_t> in);
  std::span<const uint8_t> c2() const { return {c2_, sizeof(c2_)}; }
  uint8_t serverVersion() const { return s0_; }
  HandshakeError error() const { return error_; }
  // True when S1 carried a valid server digest and c2() is a digest C2.
  bool digestC2() const { return digest_c2_; }

 private:
  enum class State : uint8_t { kS0, kS1, kS2, kDone, kFailed };
  void answerS1();

  FastRandom& random_;
  ClientMode mode_;
  State state_ = State::kS0;
  HandshakeError error_ = HandshakeError::kNone;
  bool digest_c2_ = false;
  uint8_t s0_ = 0;
  size_t have_ = 0;
  uint8_t hello_[1 + kPacketSize];
  uint8_t c2_[kPacketSize];
};

}  // namespace rtmpgate::proxy::rtmp
