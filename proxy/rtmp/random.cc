#include "proxy/rtmp/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace rtmpgate::proxy::rtmp {

namespace {
uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

FastRandom::FastRandom() {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s_), sizeof(s_)) != 1) std::abort();
}

FastRandom::FastRandom(uint64_t seed) {
  for (auto& s : s_) s = splitmix(seed);
}

uint64_t FastRandom::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

void FastRandom::fill(uint8_t* out, size_t len) {
  while (len >= 8) {
    uint64_t v = next();
    std::memcpy(out, &v, 8);
    out += 8;
    len -= 8;
  }
  if (len > 0) {
    uint64_t v = next();
    std::memcpy(out, &v, len);
  }
}

}  // namespace rtmpgate::proxy::rtmp
