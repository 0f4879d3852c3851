// Flash Player 9 style ("digest") handshake helpers, as ffmpeg
// (libavformat/rtmpproto.c), librtmp and nginx-rtmp (ngx_rtmp_handshake.c)
// speak it. HMAC-SHA256 comes from OpenSSL; nothing here keeps state between
// calls but a per-thread OpenSSL context.
//
// C1/S1: four bytes at a fixed place (8..11 or 772..775) give, summed
// modulo 728, where a 32-byte digest sits; the digest is HMAC-SHA256 keyed by
// the writer's partial key over the packet without those 32 bytes.
// C2/S2: the last 32 bytes are a signature, HMAC-SHA256 over the first 1504
// bytes keyed by HMAC-SHA256(writer's full key, the peer's C1/S1 digest).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "proxy/rtmp/packet.h"

namespace rtmpgate::proxy::rtmp {

inline constexpr size_t kDigestSize = 32;
inline constexpr size_t kSignatureOffset = kPacketSize - kDigestSize;  // 1504

using Digest = std::array<uint8_t, kDigestSize>;

// Whose keys: the client's ("Genuine Adobe Flash Player 001" + 32 bytes) or
// the server's ("Genuine Adobe Flash Media Server 001" + 32 bytes).
enum class Role : uint8_t { kClient, kServer };

// Where the four offset bytes are. The digest follows them:
// kOffsetAt8 puts it at 12 + sum % 728 (within 12..771), kOffsetAt772 at
// 776 + sum % 728 (within 776..1535). ffmpeg and nginx-rtmp write the
// first; Flash Player 10 and some servers the second.
enum class DigestScheme : uint8_t { kOffsetAt8, kOffsetAt772 };

struct DigestLocation {
  DigestScheme scheme;
  size_t offset;  // of the 32 digest bytes in the packet
};

std::span<const uint8_t> fullKey(Role r);     // 62 bytes (client) or 68 (server)
std::span<const uint8_t> partialKey(Role r);  // the text part: 30 or 36 bytes

// Where the digest of `p` sits under scheme `s` (reads only the offset bytes).
size_t digestOffset(PacketView p, DigestScheme s);

// HMAC-SHA256 keyed by `key` over `p` without the 32 bytes at `skip`.
Digest packetDigest(PacketView p, size_t skip, std::span<const uint8_t> key);

// The digest `writer` put into C1/S1 `p`: the 772 scheme is tried first, then
// the 8 scheme (nginx-rtmp's and ffmpeg's order). nullopt when neither holds.
std::optional<DigestLocation> findDigest(PacketView p, Role writer);

// Puts `writer`'s digest into `p` under scheme `s` and returns its location.
// Everything else in `p`, the offset bytes included, must be final: the
// digest covers it.
DigestLocation writeDigest(PacketSpan p, Role writer, DigestScheme s);

// The key that signs `writer`'s C2/S2: HMAC-SHA256(full key of writer, the
// 32-byte digest the peer put into its C1/S1).
Digest signatureKey(Role writer, std::span<const uint8_t, kDigestSize> peer_digest);

// Sets the last 32 bytes of `p` to HMAC-SHA256(key, first 1504 bytes).
void writeSignature(PacketSpan p, const Digest& key);
bool signatureValid(PacketView p, const Digest& key);

// HMAC-SHA256(key, a || b). Aborts if OpenSSL cannot compute it (no memory):
// the handshake has no sane way on without it.
Digest hmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> a,
                  std::span<const uint8_t> b = {});

}  // namespace rtmpgate::proxy::rtmp
