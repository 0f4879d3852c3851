// ClientHandshake (the backend-facing codec) in simple and digest mode on
// arbitrary S0+S1+S2 streams, split into reads at sizes taken from the
// input. Input format and invariants: tests/fuzz/harness.h.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rtmpgate::fuzz::runClientHandshake(data, size);
  return 0;
}
