// loadConfigString on arbitrary text: it never crashes, and returns either
// a config or at least one error, each starting with the file name.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rtmpgate::fuzz::runConfig(data, size);
  return 0;
}
