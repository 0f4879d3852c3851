#include "tests/fuzz/harness.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "proxy/config/loader.h"
#include "proxy/rtmp/digest.h"
#include "proxy/rtmp/random.h"

namespace rtmpgate::fuzz {

namespace {

using rtmp::ClientHandshake;
using rtmp::ClientMode;
using rtmp::DigestLocation;
using rtmp::EchoCheck;
using rtmp::FeedResult;
using rtmp::HandshakeError;
using rtmp::HandshakeMode;
using rtmp::kDigestSize;
using rtmp::kPacketSize;
using rtmp::kRandomOffset;
using rtmp::kRandomSize;
using rtmp::kRtmpVersion;
using rtmp::PacketView;
using rtmp::Role;
using rtmp::ServerHandshake;
using rtmp::ServerOptions;
using rtmp::Step;

using Bytes = std::vector<uint8_t>;
using View = std::span<const uint8_t>;

constexpr size_t kC0C1 = 1 + kPacketSize;
constexpr size_t kWhole = 1 + 2 * kPacketSize;  // C0+C1+C2, or S0+S1+S2

FailureHandler g_handler = nullptr;

[[noreturn]] void fail(const char* target, const char* check, int line) {
  if (g_handler) g_handler(target, check, line);
  std::fprintf(stderr, "fuzz invariant broken in %s: %s (tests/fuzz/harness.cc:%d)\n", target,
               check, line);
  std::fflush(stderr);
  __builtin_trap();
}

// Each run function and helper names its target as kTarget.
#define FUZZ_CHECK(cond)                         \
  do {                                           \
    if (!(cond)) fail(kTarget, #cond, __LINE__); \
  } while (0)

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool same(const uint8_t* a, const uint8_t* b, size_t n) { return std::memcmp(a, b, n) == 0; }
bool allZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}
PacketView packet(const uint8_t* p) { return PacketView(p, kPacketSize); }
std::span<const uint8_t, kDigestSize> digestAt(const uint8_t* p, size_t at) {
  return std::span<const uint8_t, kDigestSize>(p + at, kDigestSize);
}

struct Input {
  uint8_t selector = 0;
  std::vector<uint16_t> sizes;
  View stream;
};

Input parseInput(const uint8_t* data, size_t size) {
  Input in;
  size_t pos = 0;
  if (pos < size) in.selector = data[pos++];
  if (pos < size) {
    const size_t n = data[pos++] % (kMaxChunkSizes + 1);
    for (size_t i = 0; i < n && pos + 2 <= size; ++i, pos += 2) {
      in.sizes.push_back(static_cast<uint16_t>(data[pos] | (data[pos + 1] << 8)));
    }
    if (in.sizes.size() < n) pos = size;  // the table ran off the end: no stream
  }
  in.stream = View(data + pos, size - pos);
  return in;
}

// The reads a peer's bytes arrive in. A whole cycle through the table that
// moves nothing (all zeros) ends with the rest in one chunk.
std::vector<View> chunksOf(const Input& in) {
  if (in.sizes.empty()) return {in.stream};
  std::vector<View> out;
  size_t pos = 0, moved = 0, i = 0;
  while (pos < in.stream.size()) {
    const size_t take = std::min<size_t>(in.sizes[i % in.sizes.size()], in.stream.size() - pos);
    out.push_back(in.stream.subspan(pos, take));
    pos += take;
    moved += take;
    if (++i % in.sizes.size() == 0) {
      if (moved == 0) {
        out.push_back(in.stream.subspan(pos));
        break;
      }
      moved = 0;
    }
  }
  if (out.empty()) out.push_back(in.stream);
  return out;
}

ServerOptions optionsOf(uint8_t selector) {
  static constexpr HandshakeMode kModes[] = {HandshakeMode::kAuto, HandshakeMode::kSimple,
                                             HandshakeMode::kDigest};
  static constexpr EchoCheck kEchoes[] = {EchoCheck::kStrict, EchoCheck::kReport, EchoCheck::kOff};
  ServerOptions o;
  o.mode = kModes[(selector % 9) / 3];
  o.echo_check = kEchoes[selector % 3];
  o.versions.set(kRtmpVersion);
  if ((selector / 9) % 2 == 1) o.versions.set();
  return o;
}

class ServerRun {
 public:
  static constexpr const char* kTarget = "fuzz_server_handshake";

  ServerRun(uint8_t selector, View stream)
      : opt_(optionsOf(selector)),
        random_(kRandomSeed),
        hs_(opt_, kServerTime, random_),
        s_(stream) {}

  Outcome run(const std::vector<View>& chunks) {
    uint32_t index = 0;
    for (View chunk : chunks) {
      const uint32_t now = kNowBase + index++;
      size_t off = 0;
      while (true) {
        const FeedResult r = hs_.feed(chunk.subspan(off), now);
        FUZZ_CHECK(r.consumed <= chunk.size() - off);
        off += r.consumed;
        at_ += r.consumed;
        if (r.step == Step::kNeedMore) {
          FUZZ_CHECK(off == chunk.size());
          break;
        }
        if (r.step == Step::kReply) {
          onReply(now);
          if (off == chunk.size()) break;
          continue;
        }
        onEnd(r.step);
        afterEnd(r.step, s_.subspan(at_), now);
        return outcome(r.step);
      }
    }
    // The stream ran out first: everything was taken, nothing was decided.
    FUZZ_CHECK(at_ == s_.size());
    FUZZ_CHECK(at_ == 0 || c0Accepted());
    FUZZ_CHECK(reply_.has_value() == (at_ >= kC0C1));
    FUZZ_CHECK(at_ < kWhole);
    FUZZ_CHECK(hs_.error() == HandshakeError::kNone);
    return outcome(Step::kNeedMore);
  }

 private:
  Outcome outcome(Step step) const {
    return {step == Step::kDone     ? Outcome::kDone
            : step == Step::kFailed ? Outcome::kFailed
                                    : Outcome::kIncomplete,
            hs_.negotiatedMode() == HandshakeMode::kDigest};
  }
  bool c0Accepted() const { return !s_.empty() && opt_.versions.test(s_[0]); }
  const uint8_t* c1() const { return s_.data() + 1; }
  bool c1Versioned() const { return !allZero(c1() + 4, 4); }

  void onReply(uint32_t now) {
    FUZZ_CHECK(!reply_.has_value());  // kReply at most once
    const auto out = hs_.output();
    FUZZ_CHECK(out.size() == kWhole);
    reply_ = Bytes(out.begin(), out.end());
    FUZZ_CHECK(at_ == kC0C1);
    FUZZ_CHECK(c0Accepted());
    const uint8_t* s1 = reply_->data() + 1;
    const uint8_t* s2 = s1 + kPacketSize;
    FUZZ_CHECK((*reply_)[0] == s_[0]);  // S0 repeats C0
    FUZZ_CHECK(hs_.clientVersion() == s_[0]);
    FUZZ_CHECK(be32(s1) == kServerTime);
    FUZZ_CHECK(same(s2, c1(), 4));    // S2 time = C1 time
    FUZZ_CHECK(be32(s2 + 4) == now);  // S2 time2 = when C1 was read
    const std::optional<DigestLocation> c1_digest = rtmp::findDigest(packet(c1()), Role::kClient);
    if (hs_.negotiatedMode() == HandshakeMode::kSimple) {
      FUZZ_CHECK(opt_.mode != HandshakeMode::kDigest);
      FUZZ_CHECK(allZero(s1 + 4, 4));  // a simple S1 has zero version bytes
      FUZZ_CHECK(same(s2 + kRandomOffset, c1() + kRandomOffset, kRandomSize));
      // Zero version bytes mean a pre-digest client whatever follows
      // (nginx-rtmp's rule, README "Digest handshake").
      if (opt_.mode == HandshakeMode::kAuto) FUZZ_CHECK(!c1_digest || !c1Versioned());
    } else {
      FUZZ_CHECK(hs_.negotiatedMode() == HandshakeMode::kDigest);
      FUZZ_CHECK(opt_.mode != HandshakeMode::kSimple);
      FUZZ_CHECK(c1_digest.has_value());
      FUZZ_CHECK(c1Versioned());
      FUZZ_CHECK(same(s1 + 4, rtmp::kDigestServerVersion, 4));
      const std::optional<DigestLocation> s1_digest = rtmp::findDigest(packet(s1), Role::kServer);
      FUZZ_CHECK(s1_digest.has_value());
      FUZZ_CHECK(s1_digest->scheme == c1_digest->scheme);
      const rtmp::Digest key = rtmp::signatureKey(Role::kServer, digestAt(c1(), c1_digest->offset));
      FUZZ_CHECK(rtmp::signatureValid(packet(s2), key));
    }
  }

  void onEnd(Step step) {
    const HandshakeError err = hs_.error();
    if (step == Step::kFailed) FUZZ_CHECK(err != HandshakeError::kNone);
    if (step == Step::kDone) FUZZ_CHECK(err == HandshakeError::kNone);
    if (opt_.echo_check == EchoCheck::kStrict) FUZZ_CHECK(!hs_.echoMismatchAllowed());

    if (!reply_) {
      FUZZ_CHECK(step == Step::kFailed);
      if (at_ == 1) {  // C0
        FUZZ_CHECK(!c0Accepted());
        FUZZ_CHECK(err == HandshakeError::kBadVersion);
        return;
      }
      // Mode digest refuses a C1 without a digest, or with zero version
      // bytes, before any reply.
      FUZZ_CHECK(at_ == kC0C1);
      FUZZ_CHECK(c0Accepted());
      FUZZ_CHECK(opt_.mode == HandshakeMode::kDigest);
      FUZZ_CHECK(err == HandshakeError::kDigestInvalid);
      const bool c1_digest = rtmp::findDigest(packet(c1()), Role::kClient).has_value();
      FUZZ_CHECK(!c1_digest || !c1Versioned());
      return;
    }

    // C2 checked against the S1 we sent, by this file's reading of handshake.h.
    FUZZ_CHECK(at_ == kWhole);
    const uint8_t* s1 = reply_->data() + 1;
    const uint8_t* c2 = s_.data() + kC0C1;
    const bool echo = same(c2, s1, 4) && same(c2 + kRandomOffset, s1 + kRandomOffset, kRandomSize);
    const bool digest = hs_.negotiatedMode() == HandshakeMode::kDigest;
    bool signed_c2 = false;
    if (digest) {
      const std::optional<DigestLocation> s1_digest = rtmp::findDigest(packet(s1), Role::kServer);
      FUZZ_CHECK(s1_digest.has_value());
      signed_c2 = rtmp::signatureValid(
          packet(c2), rtmp::signatureKey(Role::kClient, digestAt(s1, s1_digest->offset)));
    }
    const bool pass = echo || signed_c2;
    switch (opt_.echo_check) {
      case EchoCheck::kOff:
        FUZZ_CHECK(step == Step::kDone);
        FUZZ_CHECK(!hs_.echoMismatchAllowed());
        break;
      case EchoCheck::kReport:
        FUZZ_CHECK(step == Step::kDone);
        FUZZ_CHECK(hs_.echoMismatchAllowed() == !pass);
        break;
      case EchoCheck::kStrict:
        if (pass) {
          FUZZ_CHECK(step == Step::kDone);
        } else {
          FUZZ_CHECK(step == Step::kFailed);
          FUZZ_CHECK(err ==
                     (digest ? HandshakeError::kDigestInvalid : HandshakeError::kEchoMismatch));
        }
        break;
    }
  }

  // After kDone/kFailed the codec takes nothing more and says the same.
  void afterEnd(Step step, View rest, uint32_t now) {
    const HandshakeError err = hs_.error();
    static constexpr uint8_t kOne[1] = {kRtmpVersion};
    for (View more : {rest, View(), View(kOne)}) {
      const FeedResult r = hs_.feed(more, now + 1);
      FUZZ_CHECK(r.consumed == 0);
      FUZZ_CHECK(r.step == step);
      FUZZ_CHECK(hs_.error() == err);
    }
  }

  const ServerOptions opt_;
  rtmp::FastRandom random_;
  ServerHandshake hs_;
  const View s_;
  size_t at_ = 0;  // stream bytes consumed so far
  std::optional<Bytes> reply_;
};

class ClientRun {
 public:
  static constexpr const char* kTarget = "fuzz_client_handshake";

  ClientRun(uint8_t selector, View stream)
      : mode_(clientSelection(selector)),
        random_(kRandomSeed),
        hs_(kClientTime, random_, mode_),
        s_(stream) {}

  Outcome run(const std::vector<View>& chunks) {
    checkHello();
    for (View chunk : chunks) {
      size_t off = 0;
      while (true) {
        const FeedResult r = hs_.feed(chunk.subspan(off));
        FUZZ_CHECK(r.consumed <= chunk.size() - off);
        off += r.consumed;
        at_ += r.consumed;
        FUZZ_CHECK(r.step != Step::kReply);  // the client side never replies mid-way
        if (r.step == Step::kNeedMore) {
          FUZZ_CHECK(off == chunk.size());
          break;
        }
        onEnd(r.step);
        afterEnd(r.step, s_.subspan(at_));
        return {r.step == Step::kDone ? Outcome::kDone : Outcome::kFailed, hs_.digestC2()};
      }
    }
    FUZZ_CHECK(at_ == s_.size());
    FUZZ_CHECK(at_ < kWhole);
    FUZZ_CHECK(at_ == 0 || s_[0] == kRtmpVersion);
    FUZZ_CHECK(hs_.error() == HandshakeError::kNone);
    return {Outcome::kIncomplete, false};
  }

 private:
  void checkHello() {
    const auto hello = hs_.hello();
    FUZZ_CHECK(hello.size() == kC0C1);
    FUZZ_CHECK(hello[0] == kRtmpVersion);
    const uint8_t* c1 = hello.data() + 1;
    FUZZ_CHECK(be32(c1) == kClientTime);
    if (mode_ == ClientMode::kDigest) {
      FUZZ_CHECK(same(c1 + 4, rtmp::kDigestClientVersion, 4));
      FUZZ_CHECK(rtmp::findDigest(packet(c1), Role::kClient).has_value());
    } else {
      FUZZ_CHECK(allZero(c1 + 4, 4));
    }
  }

  void onEnd(Step step) {
    const HandshakeError err = hs_.error();
    if (step == Step::kFailed) {
      FUZZ_CHECK(err == HandshakeError::kBadVersion);  // the only way it fails
      FUZZ_CHECK(at_ == 1);
      FUZZ_CHECK(s_[0] != kRtmpVersion);
      FUZZ_CHECK(hs_.serverVersion() == s_[0]);
      return;
    }
    FUZZ_CHECK(step == Step::kDone);  // kDone once: afterEnd sees no second one
    FUZZ_CHECK(err == HandshakeError::kNone);
    FUZZ_CHECK(at_ == kWhole);
    FUZZ_CHECK(hs_.serverVersion() == kRtmpVersion);
    const auto c2 = hs_.c2();
    FUZZ_CHECK(c2.size() == kPacketSize);
    const uint8_t* s1 = s_.data() + 1;
    std::optional<DigestLocation> s1_digest;
    if (mode_ == ClientMode::kDigest) s1_digest = rtmp::findDigest(packet(s1), Role::kServer);
    if (s1_digest) {
      FUZZ_CHECK(hs_.digestC2());
      FUZZ_CHECK(rtmp::signatureValid(
          packet(c2.data()), rtmp::signatureKey(Role::kClient, digestAt(s1, s1_digest->offset))));
    } else {
      FUZZ_CHECK(!hs_.digestC2());
      FUZZ_CHECK(same(c2.data(), s1, kPacketSize));  // C2 echoes S1
    }
  }

  void afterEnd(Step step, View rest) {
    const HandshakeError err = hs_.error();
    static constexpr uint8_t kOne[1] = {kRtmpVersion};
    for (View more : {rest, View(), View(kOne)}) {
      const FeedResult r = hs_.feed(more);
      FUZZ_CHECK(r.consumed == 0);
      FUZZ_CHECK(r.step == step);
      FUZZ_CHECK(hs_.error() == err);
    }
  }

  const ClientMode mode_;
  rtmp::FastRandom random_;
  ClientHandshake hs_;
  const View s_;
  size_t at_ = 0;
};

}  // namespace

ServerOptions serverOptions(uint8_t selector) { return optionsOf(selector); }

uint8_t serverSelector(HandshakeMode mode, EchoCheck echo, bool any_version) {
  const int m = mode == HandshakeMode::kAuto ? 0 : mode == HandshakeMode::kSimple ? 1 : 2;
  const int e = echo == EchoCheck::kStrict ? 0 : echo == EchoCheck::kReport ? 1 : 2;
  return static_cast<uint8_t>(m * 3 + e + (any_version ? 9 : 0));
}

ClientMode clientSelection(uint8_t selector) {
  return selector % 2 == 1 ? ClientMode::kDigest : ClientMode::kSimple;
}

Bytes makeHandshakeInput(uint8_t selector, std::span<const uint16_t> chunk_sizes, View stream) {
  Bytes out{selector, static_cast<uint8_t>(std::min(chunk_sizes.size(), kMaxChunkSizes))};
  for (size_t i = 0; i < out[1]; ++i) {
    out.push_back(static_cast<uint8_t>(chunk_sizes[i]));
    out.push_back(static_cast<uint8_t>(chunk_sizes[i] >> 8));
  }
  out.insert(out.end(), stream.begin(), stream.end());
  return out;
}

Bytes serverReplyFor(uint8_t selector, View c0c1) {
  rtmp::FastRandom random(kRandomSeed);
  ServerHandshake hs(optionsOf(selector), kServerTime, random);
  const FeedResult r = hs.feed(c0c1, kNowBase);
  if (r.step != Step::kReply) return {};
  return Bytes(hs.output().begin(), hs.output().end());
}

Bytes clientHello(ClientMode mode) {
  rtmp::FastRandom random(kRandomSeed);
  ClientHandshake hs(kClientTime, random, mode);
  return Bytes(hs.hello().begin(), hs.hello().end());
}

Outcome runServerHandshake(const uint8_t* data, size_t size) {
  const Input in = parseInput(data, size);
  return ServerRun(in.selector, in.stream).run(chunksOf(in));
}

Outcome runClientHandshake(const uint8_t* data, size_t size) {
  const Input in = parseInput(data, size);
  return ClientRun(in.selector, in.stream).run(chunksOf(in));
}

Outcome runConfig(const uint8_t* data, size_t size) {
  static constexpr const char* kTarget = "fuzz_config";
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string name(kConfigName);
  const proxy::LoadResult r = proxy::loadConfigString(text, name);
  if (r.config) {
    FUZZ_CHECK(r.errors.empty());
    FUZZ_CHECK(!r.config->listen.empty());                    // 'listen' is required
    FUZZ_CHECK(!r.config->policy.upstream.backends.empty());  // so is a backend
  } else {
    FUZZ_CHECK(!r.errors.empty());
    for (const std::string& e : r.errors) FUZZ_CHECK(e.rfind(name + ":", 0) == 0);
  }
  return {r.config ? Outcome::kDone : Outcome::kFailed, false};
}

std::optional<Outcome> runTarget(std::string_view target, const uint8_t* data, size_t size) {
  if (target == "fuzz_server_handshake") return runServerHandshake(data, size);
  if (target == "fuzz_client_handshake") return runClientHandshake(data, size);
  if (target == "fuzz_config") return runConfig(data, size);
  return std::nullopt;
}

void setFailureHandler(FailureHandler handler) { g_handler = handler; }

}  // namespace rtmpgate::fuzz
