#include "proxy/rtmp/digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace rtmpgate::proxy::rtmp {

namespace {

// The well-known keys every Flash-style peer uses: the text, then the same
// 32 bytes for both sides. Digests in C1/S1 are keyed by the text alone.
constexpr uint8_t kKeyTail[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0,
                                  0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80,
                                  0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};
constexpr char kClientText[] = "Genuine Adobe Flash Player 001";
constexpr char kServerText[] = "Genuine Adobe Flash Media Server 001";
constexpr size_t kClientTextSize = sizeof(kClientText) - 1;  // 30
constexpr size_t kServerTextSize = sizeof(kServerText) - 1;  // 36

template <size_t N>
constexpr std::array<uint8_t, N + sizeof(kKeyTail)> makeKey(const char (&text)[N + 1]) {
  std::array<uint8_t, N + sizeof(kKeyTail)> k{};
  for (size_t i = 0; i < N; ++i) k[i] = static_cast<uint8_t>(text[i]);
  for (size_t i = 0; i < sizeof(kKeyTail); ++i) k[N + i] = kKeyTail[i];
  return k;
}

constexpr auto kClientKey = makeKey<kClientTextSize>(kClientText);
constexpr auto kServerKey = makeKey<kServerTextSize>(kServerText);
static_assert(kClientKey.size() == 62 && kServerKey.size() == 68);

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "rtmpgate: OpenSSL HMAC-SHA256 failed: %s\n", what);
  std::abort();
}

// One HMAC context per thread, re-keyed for every digest: fetching the MAC
// and allocating a context per call would cost more than hashing 1.5 KB, and
// worker threads must not share a context.
class ThreadHmac {
 public:
  ThreadHmac() {
    // Fetched once for the process; EVP_MAC objects may be shared by threads.
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (mac == nullptr) die("EVP_MAC_fetch(HMAC)");
    ctx_ = EVP_MAC_CTX_new(mac);
    if (ctx_ == nullptr) die("EVP_MAC_CTX_new");
    char sha256[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx_, params) != 1) die("set digest SHA256");
  }
  ~ThreadHmac() { EVP_MAC_CTX_free(ctx_); }
  ThreadHmac(const ThreadHmac&) = delete;
  ThreadHmac& operator=(const ThreadHmac&) = delete;

  Digest run(std::span<const uint8_t> key, std::span<const uint8_t> a, std::span<const uint8_t> b) {
    Digest out;
    size_t len = 0;
    if (EVP_MAC_init(ctx_, key.data(), key.size(), nullptr) != 1) die("EVP_MAC_init");
    if (!a.empty() && EVP_MAC_update(ctx_, a.data(), a.size()) != 1) die("EVP_MAC_update");
    if (!b.empty() && EVP_MAC_update(ctx_, b.data(), b.size()) != 1) die("EVP_MAC_update");
    if (EVP_MAC_final(ctx_, out.data(), &len, out.size()) != 1 || len != out.size()) {
      die("EVP_MAC_final");
    }
    return out;
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
};

size_t offsetBase(DigestScheme s) { return s == DigestScheme::kOffsetAt8 ? 8 : 772; }

}  // namespace

Digest hmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> a,
                  std::span<const uint8_t> b) {
  thread_local ThreadHmac hmac;
  return hmac.run(key, a, b);
}

std::span<const uint8_t> fullKey(Role r) {
  return r == Role::kClient ? std::span<const uint8_t>(kClientKey)
                            : std::span<const uint8_t>(kServerKey);
}

std::span<const uint8_t> partialKey(Role r) {
  return fullKey(r).first(r == Role::kClient ? kClientTextSize : kServerTextSize);
}

size_t digestOffset(PacketView p, DigestScheme s) {
  const size_t base = offsetBase(s);
  const size_t sum = size_t{p[base]} + p[base + 1] + p[base + 2] + p[base + 3];
  return base + 4 + sum % 728;
}

Digest packetDigest(PacketView p, size_t skip, std::span<const uint8_t> key) {
  return hmacSha256(key, p.first(skip), p.subspan(skip + kDigestSize));
}

std::optional<DigestLocation> findDigest(PacketView p, Role writer) {
  for (DigestScheme s : {DigestScheme::kOffsetAt772, DigestScheme::kOffsetAt8}) {
    const size_t at = digestOffset(p, s);
    const Digest d = packetDigest(p, at, partialKey(writer));
    if (std::equal(d.begin(), d.end(), p.begin() + at)) return DigestLocation{s, at};
  }
  return std::nullopt;
}

DigestLocation writeDigest(PacketSpan p, Role writer, DigestScheme s) {
  const size_t at = digestOffset(p, s);
  const Digest d = packetDigest(p, at, partialKey(writer));
  std::copy(d.begin(), d.end(), p.begin() + at);
  return {s, at};
}

Digest signatureKey(Role writer, std::span<const uint8_t, kDigestSize> peer_digest) {
  return hmacSha256(fullKey(writer), peer_digest);
}

void writeSignature(PacketSpan p, const Digest& key) {
  const Digest sig = hmacSha256(key, p.first(kSignatureOffset));
  std::copy(sig.begin(), sig.end(), p.begin() + kSignatureOffset);
}

bool signatureValid(PacketView p, const Digest& key) {
  const Digest sig = hmacSha256(key, p.first(kSignatureOffset));
  return std::equal(sig.begin(), sig.end(), p.begin() + kSignatureOffset);
}

}  // namespace rtmpgate::proxy::rtmp
