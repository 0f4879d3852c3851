// Blocking RTMP peers on real loopback sockets for the integration tests:
// a fake origin (a thread per connection) and a raw client. Every wait is
// bounded by a timeout so a broken gateway fails a test instead of hanging.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rtmpgate::test {

using Bytes = std::string;
Bytes randomBytes(size_t n, uint32_t seed);

// A connected TCP socket with blocking I/O and timeouts.
class Conn {
 public:
  Conn() = default;
  explicit Conn(int fd) : fd_(fd) {}
  Conn(Conn&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Conn& operator=(Conn&& o) noexcept;
  ~Conn();

  static Conn connectTo(const std::string& host, uint16_t port, int timeout_ms = 2000);
  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool sendAll(const Bytes& b);
  // Reads exactly n bytes; false on EOF, error or timeout.
  bool recvExact(size_t n, Bytes* out, int timeout_ms = 3000);
  // Reads until EOF; false on timeout or error.
  bool recvUntilEof(Bytes* out, int timeout_ms = 5000);
  // True if the peer closed (EOF or reset) within the timeout, having sent
  // nothing more than `*got` (which receives whatever did arrive).
  bool waitClosed(int timeout_ms, Bytes* got = nullptr);
  void shutdownWrite();
  void close();

 private:
  int fd_ = -1;
};

// Client side of the simple handshake, checking what a strict client checks:
// S0 = 3, S2 echoes C1's time and random. Returns S1.
struct ClientHandshakeResult {
  bool ok = false;
  std::string error;
  Bytes s1;
};
ClientHandshakeResult clientHandshake(Conn& c, const Bytes& after_c2 = {}, bool corrupt_c2 = false);
Bytes makeC0C1(uint32_t seed);

class FakeOrigin {
 public:
  enum class Mode {
    kEcho,        // handshake, then echo every byte
    kHalfClose,   // handshake, read to EOF, send back all it read, close
    kNoRead,      // handshake, then read nothing until resume()
    kBadS0,       // answer S0 = 6
    kSilent,      // accept and never answer
    kCloseAfterHandshake,
    kFlood,       // handshake, then write 64 KiB chunks as fast as the socket takes them
  };
  explicit FakeOrigin(Mode mode);
  ~FakeOrigin();

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int handshaken() const { return handshaken_.load(); }
  // Bytes received after the handshake, over all connections.
  Bytes received();
  size_t receivedCount() const { return received_count_.load(); }
  bool waitReceived(size_t n, int timeout_ms);
  // Wait this long before answering C0C1 (a slow backend).
  void delayHandshake(int ms) { handshake_delay_ms_ = ms; }
  // Keep counting but stop storing received bytes (for tests moving GBs).
  void countOnly() { record_ = false; }
  void resume();  // kNoRead: start reading
  // As if the origin process were killed: every connection is reset (RST)
  // and the listener closes.
  void kill();

 private:
  void acceptLoop();
  void serve(int fd);
  void release(Conn& c);  // forgets and closes a served connection

  Mode mode_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> handshaken_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  Bytes received_;
  std::atomic<size_t> received_count_{0};
  std::atomic<bool> record_{true};
  std::atomic<int> handshake_delay_ms_{0};
  bool resumed_ = false;
  bool killed_ = false;
  std::vector<int> fds_;  // connections being served, for shutdown from other threads
  std::thread acceptor_;
  int serving_ = 0;  // detached serving threads still running
};

}  // namespace rtmpgate::test
