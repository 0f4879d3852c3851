// Tiny probes of a running gateway, shared by the e2e tests.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/net.h"

namespace rtmpgate::test {

// True when the gateway answers C0+C1 with S0S1S2 bytes; false when it
// closes the connection without a byte (denied) or nothing listens.
inline bool admitted(uint16_t port) {
  using namespace std::chrono_literals;
  UniqueFd fd = connectTcp(port, 1s, 2s);
  if (!fd) return false;
  std::string c0c1(1537, '\x01');
  c0c1[0] = 3;
  if (::send(fd.get(), c0c1.data(), c0c1.size(), MSG_NOSIGNAL) != 1537) return false;
  char buf[4096];
  return ::recv(fd.get(), buf, sizeof(buf), 0) > 0;
}

inline bool eventuallyAdmitted(uint16_t port, bool want,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (admitted(port) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace rtmpgate::test
