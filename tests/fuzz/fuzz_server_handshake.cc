// ServerHandshake (the client-facing codec) on arbitrary C0+C1+C2 streams,
// split into reads at sizes taken from the input, under every mode x
// echo_check combination. Input format and invariants: tests/fuzz/harness.h.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rtmpgate::fuzz::runServerHandshake(data, size);
  return 0;
}
