// Test harness for the handshake codecs: packet builders and a driver that
// feeds a byte stream split at given offsets the way a read loop would.
// Shared by the simple and digest handshake tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <span>
#include <vector>

#include "proxy/rtmp/handshake.h"
#include "proxy/rtmp/random.h"

namespace rtmpgate::proxy::rtmp::hstest {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kSeed = 0x5eed'1234'abcdULL;
constexpr uint32_t kServerTime = 0x11223344;
constexpr uint32_t kC1Time = 0xA1B2C3D4;
constexpr uint32_t kNowBase = 0x0BADF00D;  // now_ms for chunk i is kNowBase + i
constexpr size_t kC0C1 = 1 + kPacketSize;

inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

inline void putBe32(Bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 24);
  b[at + 1] = static_cast<uint8_t>(v >> 16);
  b[at + 2] = static_cast<uint8_t>(v >> 8);
  b[at + 3] = static_cast<uint8_t>(v);
}

inline Bytes randomBytes(uint64_t seed, size_t n) {
  FastRandom r(seed);
  Bytes b(n);
  r.fill(b.data(), b.size());
  return b;
}

inline Bytes slice(std::span<const uint8_t> s, size_t from, size_t len) {
  return Bytes(s.begin() + from, s.begin() + from + len);
}

inline Bytes concat(std::initializer_list<std::span<const uint8_t>> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// C1 with a given time, zero bytes 4..7 and random bytes from `seed`.
inline Bytes makeC1(uint32_t time, uint64_t seed = 77) {
  Bytes c1(kPacketSize, 0);
  putBe32(c1, 0, time);
  Bytes rnd = randomBytes(seed, kRandomSize);
  std::copy(rnd.begin(), rnd.end(), c1.begin() + kRandomOffset);
  return c1;
}

inline Bytes c0c1(uint8_t version = kRtmpVersion, uint32_t time = kC1Time) {
  Bytes c1 = makeC1(time);
  return concat({Bytes{version}, c1});
}

inline ServerOptions options(std::initializer_list<uint8_t> versions = {kRtmpVersion},
                             EchoCheck echo = EchoCheck::kStrict,
                             HandshakeMode mode = HandshakeMode::kAuto) {
  ServerOptions o;
  for (uint8_t v : versions) o.versions.set(v);
  o.echo_check = echo;
  o.mode = mode;
  return o;
}

// Learns the S0+S1+S2 a codec built with (kSeed, kServerTime, `o`) answers
// `hello` with, through a twin codec driven to its reply at now_ms 1.
inline Bytes learnReply(const ServerOptions& o, const Bytes& hello) {
  FastRandom rnd(kSeed);
  ServerHandshake twin(o, kServerTime, rnd);
  FeedResult r = twin.feed(hello, 1);
  EXPECT_EQ(r.step, Step::kReply);
  if (r.step != Step::kReply) return Bytes(1 + 2 * kPacketSize, 0);
  return Bytes(twin.output().begin(), twin.output().end());
}

// The S1 a codec built with (kSeed, kServerTime) sends to a simple C1.
inline Bytes learnS1() { return slice(learnReply(options(), c0c1()), 1, kPacketSize); }

// C2 as an echoing client sends it: S1 with its own time2 in bytes 4..7.
inline Bytes echoC2(const Bytes& s1, uint32_t time2 = 0xCAFEBABE) {
  Bytes c2 = s1;
  putBe32(c2, 4, time2);
  return c2;
}

// A stand-in for the RTMP connect chunk clients pipeline behind C2.
inline Bytes fakeConnect(size_t n = 200) {
  Bytes b = randomBytes(999, n);
  b[0] = 0x03;  // chunk basic header, csid 3
  return b;
}

// Splits `stream` at `cuts` (ascending offsets) into chunks.
inline std::vector<std::span<const uint8_t>> chunksOf(const Bytes& stream,
                                                      const std::vector<size_t>& cuts) {
  std::vector<std::span<const uint8_t>> out;
  size_t from = 0;
  for (size_t c : cuts) {
    out.emplace_back(stream.data() + from, c - from);
    from = c;
  }
  out.emplace_back(stream.data() + from, stream.size() - from);
  return out;
}

inline std::vector<size_t> everyByte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) cuts.push_back(i);
  return cuts;
}

// What a caller sees when it feeds a codec chunk by chunk the way a read
// loop does: keep feeding after kReply, stop at kDone/kFailed.
struct Trace {
  int replies = 0;
  int dones = 0;
  int fails = 0;
  size_t reply_chunk = SIZE_MAX;  // chunk whose feed returned kReply
  size_t reply_at = 0;            // stream offset consumed when kReply came
  size_t end_at = 0;              // stream offset consumed when kDone/kFailed came
  Bytes output;                   // output() copied at kReply
  Bytes rest;                     // bytes not consumed by the codec, in order
};

template <typename FeedFn, typename OnReply>
Trace drive(const Bytes& stream, const std::vector<size_t>& cuts, FeedFn feed, OnReply on_reply) {
  Trace run;
  auto chunks = chunksOf(stream, cuts);
  size_t abs = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::span<const uint8_t> chunk = chunks[i];
    size_t off = 0;
    for (int guard = 0; guard < 4; ++guard) {
      FeedResult r = feed(chunk.subspan(off), i);
      EXPECT_LE(r.consumed, chunk.size() - off);
      if (r.consumed > chunk.size() - off) return run;
      off += r.consumed;
      abs += r.consumed;
      if (r.step == Step::kReply) {
        ++run.replies;
        run.reply_chunk = i;
        run.reply_at = abs;
        run.output = on_reply();
        if (off == chunk.size()) break;
        continue;
      }
      if (r.step == Step::kNeedMore) {
        EXPECT_EQ(off, chunk.size()) << "kNeedMore must consume all input";
        break;
      }
      (r.step == Step::kDone ? run.dones : run.fails)++;
      run.end_at = abs;
      run.rest.assign(chunk.begin() + off, chunk.end());
      for (size_t j = i + 1; j < chunks.size(); ++j) {
        run.rest.insert(run.rest.end(), chunks[j].begin(), chunks[j].end());
      }
      return run;
    }
  }
  return run;
}

inline Trace driveServer(ServerHandshake& hs, const Bytes& stream,
                         const std::vector<size_t>& cuts) {
  return drive(
      stream, cuts,
      [&](std::span<const uint8_t> in, size_t i) {
        return hs.feed(in, kNowBase + static_cast<uint32_t>(i));
      },
      [&] { return Bytes(hs.output().begin(), hs.output().end()); });
}

inline Trace driveClient(ClientHandshake& hs, const Bytes& stream,
                         const std::vector<size_t>& cuts) {
  return drive(
      stream, cuts, [&](std::span<const uint8_t> in, size_t) { return hs.feed(in); },
      [] { return Bytes(); });
}

// A handshake captured from a real client by tests/unit/rtmp/vectors/capture.py:
// what it sent (C0+C1, then C2) and what the capturing server answered.
struct Captured {
  Bytes c0c1;   // 1537
  Bytes reply;  // S0+S1+S2, 3073
  Bytes c2;     // 1536

  Bytes c1() const { return slice(c0c1, 1, kPacketSize); }
  Bytes s1() const { return slice(reply, 1, kPacketSize); }
  Bytes s2() const { return slice(reply, 1 + kPacketSize, kPacketSize); }
};

#ifndef RTMPGATE_SOURCE_DIR
#error "RTMPGATE_SOURCE_DIR must name the source tree"
#endif

// Loads tests/unit/rtmp/vectors/<name>.bin; a missing or short file fails the
// calling test.
inline Captured loadCaptured(const std::string& name) {
  const std::string path =
      std::string(RTMPGATE_SOURCE_DIR) + "/tests/unit/rtmp/vectors/" + name + ".bin";
  std::ifstream in(path, std::ios::binary);
  Bytes all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t want = (1 + kPacketSize) + (1 + 2 * kPacketSize) + kPacketSize;
  EXPECT_EQ(all.size(), want) << path;
  if (all.size() != want) all.resize(want, 0);
  Captured c;
  c.c0c1 = slice(all, 0, 1 + kPacketSize);
  c.reply = slice(all, 1 + kPacketSize, 1 + 2 * kPacketSize);
  c.c2 = slice(all, 2 + 3 * kPacketSize, kPacketSize);
  return c;
}

// A digest C1 as ffmpeg builds one: time, Flash Player version, random from
// `seed`, client digest under `scheme`.
inline Bytes makeDigestC1(DigestScheme scheme, uint32_t time = kC1Time, uint64_t seed = 78) {
  Bytes c1 = makeC1(time, seed);
  std::copy(std::begin(kDigestClientVersion), std::end(kDigestClientVersion), c1.begin() + 4);
  writeDigest(PacketSpan(c1.data(), kPacketSize), Role::kClient, scheme);
  return c1;
}

inline PacketView view(const Bytes& packet) { return PacketView(packet.data(), kPacketSize); }

}  // namespace rtmpgate::proxy::rtmp::hstest
