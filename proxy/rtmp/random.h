// Fast per-worker random bytes for S1/C1 payloads.
//
// xoshiro256** seeded from OpenSSL's CSPRNG. The handshake random only has to
// be unpredictable enough that a client cannot produce C2 without reading S1;
// a CSPRNG call per connection would cost more than the rest of the handshake.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rtmpgate::proxy::rtmp {

class FastRandom {
 public:
  FastRandom();                        // seeded from RAND_bytes
  explicit FastRandom(uint64_t seed);  // deterministic, for tests
  uint64_t next();
  void fill(uint8_t* out, size_t len);

 private:
  uint64_t s_[4];
};

}  // namespace rtmpgate::proxy::rtmp
