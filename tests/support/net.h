#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace rtmpgate::test {

// Owns a file descriptor so early returns and failed assertions close it.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A port on 127.0.0.1 that was free a moment ago. Another process can still
// take it before the caller binds; callers that start servers retry.
uint16_t freeTcpPort();

// Polls until something accepts on 127.0.0.1:port. stillHopeful, when given,
// is asked between attempts; returning false (say, the server exited) gives
// up early.
bool waitForTcpPort(uint16_t port, std::chrono::milliseconds timeout,
                    const std::function<bool()>& stillHopeful = {});

// A blocking connection to 127.0.0.1:port, with SO_RCVTIMEO and SO_SNDTIMEO set
// to ioTimeout so no read or write in a test can hang. Invalid on failure
// (errno tells why).
UniqueFd connectTcp(uint16_t port, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds ioTimeout = std::chrono::seconds(5));

}  // namespace rtmpgate::test
