// Writes the generated seeds of the two handshake fuzz targets into
// SOURCE_DIR/tests/fuzz/corpus/fuzz_{server,client}_handshake/: whole
// handshakes that get through (their C2 echoes or signs the S1 the harness
// codec sends, thanks to its fixed seed), failing ones, truncated ones, at
// several splits, plus the real clients' C1s from tests/unit/rtmp/vectors/.
// Built only in a fuzz build:
//   build-fuzz/tests/fuzz/fuzz_make_seeds "$PWD"
// The files are committed; rerun this only to change them.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "proxy/rtmp/digest.h"
#include "proxy/rtmp/handshake.h"
#include "proxy/rtmp/random.h"
#include "tests/fuzz/harness.h"

namespace {

using namespace rtmpgate::proxy::rtmp;
namespace fz = rtmpgate::fuzz;
using Bytes = std::vector<uint8_t>;

std::string g_root;
int g_failures = 0;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes take(const Bytes& b, size_t from, size_t len) {
  return Bytes(b.begin() + from, b.begin() + from + len);
}

void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

Bytes random(uint64_t seed, size_t n) {
  FastRandom r(seed);
  Bytes b(n);
  r.fill(b.data(), n);
  return b;
}

PacketView view(const Bytes& p) { return PacketView(p.data(), kPacketSize); }

void write(const std::string& target, const std::string& name, const Bytes& data) {
  const std::string path = g_root + "/tests/fuzz/corpus/" + target + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    ++g_failures;
  }
}

Bytes readVector(const std::string& name) {
  const std::string path = g_root + "/tests/unit/rtmp/vectors/" + name + ".bin";
  std::ifstream in(path, std::ios::binary);
  Bytes all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() != (1 + kPacketSize) + (1 + 2 * kPacketSize) + kPacketSize) {
    std::fprintf(stderr, "%s: not a captured handshake\n", path.c_str());
    ++g_failures;
    all.resize((1 + kPacketSize) + (1 + 2 * kPacketSize) + kPacketSize);
  }
  return all;
}

// A C1 as clients build it: time, version bytes, random; with a client
// digest under `scheme` when `digest`.
Bytes makeC1(bool digest, DigestScheme scheme, const uint8_t version[4]) {
  Bytes c1 = random(77, kPacketSize);
  put32(c1, 0, 0xA1B2C3D4);
  std::memcpy(c1.data() + 4, version, 4);
  if (digest) writeDigest(PacketSpan(c1.data(), kPacketSize), Role::kClient, scheme);
  return c1;
}

Bytes s1Of(uint8_t selector, const Bytes& c0c1) {
  Bytes reply = fz::serverReplyFor(selector, c0c1);
  if (reply.empty()) {
    std::fprintf(stderr, "seed C1 got no reply (selector %u)\n", selector);
    ++g_failures;
    return Bytes(kPacketSize, 0);
  }
  return take(reply, 1, kPacketSize);
}

Bytes echoC2(const Bytes& s1) {
  Bytes c2 = s1;
  put32(c2, 4, 0xCAFEBABE);  // time2 is the client's own
  return c2;
}

// C2 as ffmpeg players and nginx-rtmp relays send it: signed with the key
// from S1's server digest.
Bytes signedC2(const Bytes& s1) {
  auto at = findDigest(view(s1), Role::kServer);
  if (!at) {
    std::fprintf(stderr, "seed S1 has no digest\n");
    ++g_failures;
    return Bytes(kPacketSize, 0);
  }
  Bytes c2 = random(4242, kPacketSize);
  writeSignature(PacketSpan(c2.data(), kPacketSize),
                 signatureKey(Role::kClient, std::span<const uint8_t, kDigestSize>(
                                                 s1.data() + at->offset, kDigestSize)));
  return c2;
}

Bytes flip(Bytes b, size_t at) {
  b[at] ^= 0x01;
  return b;
}

void server() {
  const std::string t = "fuzz_server_handshake";
  const uint8_t kZero[4] = {0, 0, 0, 0};
  auto sel = [](HandshakeMode m, EchoCheck e, bool any = false) {
    return fz::serverSelector(m, e, any);
  };
  const uint8_t auto_strict = sel(HandshakeMode::kAuto, EchoCheck::kStrict);
  const Bytes none_split;
  auto input = [](uint8_t s, std::initializer_list<uint16_t> sizes, const Bytes& stream) {
    std::vector<uint16_t> v(sizes);
    return fz::makeHandshakeInput(s, v, stream);
  };
  const Bytes connect = cat({{0x03}, random(999, 40)});

  const Bytes simple = cat({{kRtmpVersion}, makeC1(false, DigestScheme::kOffsetAt8, kZero)});
  const Bytes simple_s1 = s1Of(auto_strict, simple);
  write(t, "simple_echo", input(auto_strict, {}, cat({simple, echoC2(simple_s1), connect})));
  write(t, "simple_echo_split_1_1536_700_0",
        input(auto_strict, {1, 1536, 700, 0}, cat({simple, echoC2(simple_s1), connect})));
  write(t, "simple_mode_split_before_last_c2_byte",
        input(sel(HandshakeMode::kSimple, EchoCheck::kStrict), {1537, 1535, 1, 1},
              cat({simple, echoC2(simple_s1), connect})));
  write(t, "simple_mismatch_strict",
        input(auto_strict, {}, cat({simple, flip(echoC2(simple_s1), 100)})));
  write(t, "simple_mismatch_report",
        input(sel(HandshakeMode::kSimple, EchoCheck::kReport), {600},
              cat({simple, flip(echoC2(simple_s1), 2)})));
  write(t, "simple_junk_c2_off",
        input(sel(HandshakeMode::kAuto, EchoCheck::kOff), {}, cat({simple, random(5, 1536)})));
  write(t, "digest_mode_refuses_simple_c1",
        input(sel(HandshakeMode::kDigest, EchoCheck::kStrict), {}, simple));

  for (DigestScheme scheme : {DigestScheme::kOffsetAt8, DigestScheme::kOffsetAt772}) {
    const std::string s = scheme == DigestScheme::kOffsetAt8 ? "8" : "772";
    const Bytes hello = cat({{kRtmpVersion}, makeC1(true, scheme, kDigestClientVersion)});
    const Bytes s1 = s1Of(auto_strict, hello);
    write(t, "digest" + s + "_signed_c2",
          input(auto_strict, {}, cat({hello, signedC2(s1), connect})));
    write(t, "digest" + s + "_echo_c2_mode_digest",
          input(sel(HandshakeMode::kDigest, EchoCheck::kStrict), {1000, 537},
                cat({hello, echoC2(s1)})));
    write(t, "digest" + s + "_bad_signature",
          input(auto_strict, {}, cat({hello, flip(signedC2(s1), 1530)})));
    write(t, "digest" + s + "_bad_signature_report",
          input(sel(HandshakeMode::kAuto, EchoCheck::kReport), {},
                cat({hello, flip(signedC2(s1), 20)})));
  }
  // A digest behind zero version bytes: answered simply (auto), refused (digest).
  const Bytes zero_digest = cat({{kRtmpVersion}, makeC1(true, DigestScheme::kOffsetAt8, kZero)});
  write(t, "digest8_zero_version_bytes",
        input(auto_strict, {}, cat({zero_digest, echoC2(s1Of(auto_strict, zero_digest))})));
  write(t, "digest8_zero_version_bytes_mode_digest",
        input(sel(HandshakeMode::kDigest, EchoCheck::kReport), {}, zero_digest));

  // Real clients' C0+C1 (tests/unit/rtmp/vectors), with the C2 each would
  // send our S1: ffmpeg players and nginx-rtmp relays sign, the others echo.
  for (const char* name : {"ffmpeg_play", "ffmpeg_publish", "nginx_relay", "rtmpdump"}) {
    const Bytes all = readVector(name);
    const Bytes hello = take(all, 0, 1 + kPacketSize);
    const Bytes s1 = s1Of(auto_strict, hello);
    const bool signs = std::string(name) == "ffmpeg_play" || std::string(name) == "nginx_relay";
    write(t, std::string("captured_") + name,
          input(auto_strict, {}, cat({hello, signs ? signedC2(s1) : echoC2(s1), connect})));
  }
  // The captured C2 as sent to the capturing server: wrong for ours.
  const Bytes relay = readVector("nginx_relay");
  write(
      t, "captured_nginx_relay_foreign_c2",
      input(auto_strict, {},
            cat({take(relay, 0, 1 + kPacketSize), take(relay, 2 + 3 * kPacketSize, kPacketSize)})));

  write(t, "bad_c0_tls_client_hello",
        input(auto_strict, {}, {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}));
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  write(t, "bad_c0_http", input(auto_strict, {}, Bytes(http.begin(), http.end())));
  write(t, "rtmpe_c0_any_version",
        input(sel(HandshakeMode::kAuto, EchoCheck::kStrict, true), {},
              cat({{6}, take(simple, 1, kPacketSize), echoC2(simple_s1)})));
  write(t, "truncated_c0", input(auto_strict, {}, {kRtmpVersion}));
  write(t, "truncated_c1", input(auto_strict, {100}, take(simple, 0, 800)));
  write(t, "truncated_c2",
        input(auto_strict, {1537, 500}, take(cat({simple, echoC2(simple_s1)}), 0, 2537)));
  write(t, "empty_stream", input(auto_strict, {0, 0}, {}));
}

void client() {
  const std::string t = "fuzz_client_handshake";
  auto input = [](uint8_t s, std::initializer_list<uint16_t> sizes, const Bytes& stream) {
    std::vector<uint16_t> v(sizes);
    return fz::makeHandshakeInput(s, v, stream);
  };
  const uint8_t simple_sel = 0, digest_sel = 1;
  const Bytes connect = cat({{0x02}, random(998, 30)});
  const uint8_t auto_strict = fz::serverSelector(HandshakeMode::kAuto, EchoCheck::kStrict);

  // What our own server side answers each hello with.
  const Bytes simple_reply = fz::serverReplyFor(auto_strict, fz::clientHello(ClientMode::kSimple));
  const Bytes digest_reply = fz::serverReplyFor(auto_strict, fz::clientHello(ClientMode::kDigest));
  if (simple_reply.empty() || digest_reply.empty()) ++g_failures;

  write(t, "simple_server", input(simple_sel, {}, cat({simple_reply, connect})));
  write(t, "simple_server_split_1_1536_1536",
        input(simple_sel, {1, 1536, 1536}, cat({simple_reply, connect})));
  write(t, "digest_client_digest_server", input(digest_sel, {}, cat({digest_reply, connect})));
  write(t, "digest_client_digest_server_split",
        input(digest_sel, {3, 1000, 0, 2000}, cat({digest_reply, connect})));
  write(t, "digest_client_simple_server", input(digest_sel, {}, simple_reply));
  write(t, "simple_client_digest_server", input(simple_sel, {700}, digest_reply));

  // S1 with a server digest under the 772 scheme, S2 anything.
  Bytes s1 = random(31, kPacketSize);
  std::memcpy(s1.data() + 4, kDigestServerVersion, 4);
  writeDigest(PacketSpan(s1.data(), kPacketSize), Role::kServer, DigestScheme::kOffsetAt772);
  write(t, "digest_client_s1_772",
        input(digest_sel, {}, cat({{kRtmpVersion}, s1, random(32, 1536)})));

  // S0+S1+S2 from the capturing server (flash_digest.py, not our code).
  const Bytes play = readVector("ffmpeg_play");
  write(t, "captured_flash_digest_reply",
        input(digest_sel, {}, take(play, 1 + kPacketSize, 1 + 2 * kPacketSize)));
  const Bytes dump = readVector("rtmpdump");
  write(t, "captured_simple_reply",
        input(simple_sel, {}, take(dump, 1 + kPacketSize, 1 + 2 * kPacketSize)));

  write(t, "bad_s0_rtmpe", input(simple_sel, {}, cat({{6}, take(simple_reply, 1, 100)})));
  write(t, "truncated_s1", input(digest_sel, {}, take(digest_reply, 0, 900)));
  write(t, "truncated_s2", input(simple_sel, {2000}, take(simple_reply, 0, 2500)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  server();
  client();
  return g_failures == 0 ? 0 : 1;
}
