// The bodies of the fuzz targets, shared by the libFuzzer entry points
// (tests/fuzz/fuzz_*.cc, clang) and by the plain GoogleTest that replays
// every committed corpus and crash input (tests/unit/fuzz_replay/, gcc), so
// both check exactly the same invariants. Nothing here depends on libFuzzer.
//
// Handshake input format (one byte string, so any mutation stays valid):
//   [0]      selector: which options the codec is built with (see below)
//   [1]      n = [1] % 9: how many chunk sizes follow
//   [2..]    n little-endian uint16 chunk sizes
//   [rest]   the byte stream the peer sends
// The stream is fed in reads of those sizes, cycling through the table; a
// size of 0 feeds an empty span, one larger than what is left takes the rest,
// a whole cycle of zeros ends with the rest in one read. No table: one read.
// An input too short for its table has an empty stream.
//
// Checked on every run (harness.cc), besides ASan and UBSan: consumed <= the
// read; kNeedMore consumes it all; kReply at most once, exactly when C0+C1 are
// in, with a 3073-byte output(); S0/S1/S2 as handshake.h and the README
// describe them (a simple S1 has zero bytes 4..7, S2 echoes C1, a digest S1
// and S2 verify); the C2 verdict under each echo_check matches an
// independent check against the S1 sent; kFailed has an error, kDone none;
// after kDone/kFailed, feed() consumes 0 and repeats the step. Client side:
// hello() as documented, kDone at most once, exactly when S0+S1+S2 are in,
// c2() 1536 bytes, echoing S1 or signed for a digest S1. Config: a config
// (with a listener and a backend) and no errors, or errors each starting
// with "fuzz.yaml:".
//
// A broken invariant calls the failure handler if one is set (the replay
// test's throws), else prints the check and executes __builtin_trap(),
// which libFuzzer records as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "proxy/rtmp/handshake.h"

namespace rtmpgate::fuzz {

namespace rtmp = proxy::rtmp;

// Fixed so that S1 (server) and hello() (client) are the same on every run:
// a seed can then carry a C2 that really echoes or signs S1.
inline constexpr uint64_t kRandomSeed = 0x5eed'f022'0001ULL;
inline constexpr uint32_t kServerTime = 0x11223344;
inline constexpr uint32_t kClientTime = 0x55667788;
inline constexpr uint32_t kNowBase = 0x0BADF00D;  // now_ms of chunk i is kNowBase + i
inline constexpr size_t kMaxChunkSizes = 8;
// The name loadConfigString is given; every error must start with it.
inline constexpr std::string_view kConfigName = "fuzz.yaml";

// Server selector s: mode = {auto, simple, digest}[(s % 9) / 3], echo_check
// = {strict, report, off}[s % 3]; every C0 value is accepted when (s / 9) is
// odd, else only 3. So s = 0..17 covers all 9 x 2 combinations.
rtmp::ServerOptions serverOptions(uint8_t selector);
uint8_t serverSelector(rtmp::HandshakeMode mode, rtmp::EchoCheck echo, bool any_version = false);

// Client selector: odd = ClientMode::kDigest, even = kSimple.
rtmp::ClientMode clientSelection(uint8_t selector);

// Builds a handshake fuzz input from its parts (for seeds and tests).
std::vector<uint8_t> makeHandshakeInput(uint8_t selector, std::span<const uint16_t> chunk_sizes,
                                        std::span<const uint8_t> stream);

// Build-independent S1 of the server harness and hello() of the client
// harness, for making seeds that get through.
std::vector<uint8_t> serverReplyFor(uint8_t selector, std::span<const uint8_t> c0c1);
std::vector<uint8_t> clientHello(rtmp::ClientMode mode);

// How a run ended, so tests can check that the seeds still reach every end
// (a seed whose C2 no longer matches S1 would quietly stop covering kDone).
struct Outcome {
  enum End : uint8_t { kIncomplete, kDone, kFailed };
  End end = kIncomplete;  // config: kDone = a config, kFailed = errors
  bool digest = false;    // server: digest answer; client: digest C2
};

Outcome runServerHandshake(const uint8_t* data, size_t size);
Outcome runClientHandshake(const uint8_t* data, size_t size);
Outcome runConfig(const uint8_t* data, size_t size);

// Runs the harness of the fuzz target named `target` (fuzz_server_handshake,
// fuzz_client_handshake, fuzz_config); nullopt when there is no such target.
std::optional<Outcome> runTarget(std::string_view target, const uint8_t* data, size_t size);

using FailureHandler = void (*)(const char* target, const char* check, int line);
// The replay test installs one that throws; nullptr restores the default.
void setFailureHandler(FailureHandler handler);

}  // namespace rtmpgate::fuzz
