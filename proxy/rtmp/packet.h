// Sizes and offsets of the RTMP handshake packets (BRIEF §1), shared by the
// handshake codecs and the digest helpers.
//
// C0/S0 = 1 byte version; C1/S1 = time(4, BE), zero or version(4),
// random(1528); C2/S2 = time(4), time2(4), random echo(1528).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace rtmpgate::proxy::rtmp {

inline constexpr size_t kPacketSize = 1536;
inline constexpr size_t kRandomOffset = 8;
inline constexpr size_t kRandomSize = kPacketSize - kRandomOffset;
inline constexpr uint8_t kRtmpVersion = 3;

// One whole C1/S1/C2/S2: the fixed extent lets the compiler check sizes.
using PacketView = std::span<const uint8_t, kPacketSize>;
using PacketSpan = std::span<uint8_t, kPacketSize>;

}  // namespace rtmpgate::proxy::rtmp
