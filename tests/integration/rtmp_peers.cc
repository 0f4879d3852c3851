#include "tests/integration/rtmp_peers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

namespace rtmpgate::test {

namespace {
constexpr size_t kPacket = 1536;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits for readability; false on timeout.
bool waitReadable(int fd, int64_t deadline_ms) {
  while (true) {
    int64_t left = deadline_ms - nowMs();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}
}  // namespace

Bytes randomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n, '\0');
  for (auto& c : b) c = static_cast<char>(rng());
  return b;
}

Conn& Conn::operator=(Conn&& o) noexcept {
  close();
  fd_ = o.fd_;
  o.fd_ = -1;
  return *this;
}

Conn::~Conn() { close(); }

void Conn::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Conn Conn::connectTo(const std::string& host, uint16_t port, int timeout_ms) {
  bool v6 = host.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &a->sin_addr);
    len = sizeof(*a);
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return Conn();
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return Conn(fd);
}

bool Conn::sendAll(const Bytes& b) {
  size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

bool Conn::recvExact(size_t n, Bytes* out, int timeout_ms) {
  out->clear();
  int64_t deadline = nowMs() + timeout_ms;
  char buf[65536];
  while (out->size() < n) {
    if (!waitReadable(fd_, deadline)) return false;
    ssize_t r = ::recv(fd_, buf, std::min(sizeof(buf), n - out->size()), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out->append(buf, r);
  }
  return true;
}

bool Conn::recvUntilEof(Bytes* out, int timeout_ms) {
  out->clear();
  int64_t deadline = nowMs() + timeout_ms;
  char buf[65536];
  while (true) {
    if (!waitReadable(fd_, deadline)) return false;
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return true;
    if (r < 0) return false;
    out->append(buf, r);
  }
}

bool Conn::waitClosed(int timeout_ms, Bytes* got) {
  Bytes sink;
  Bytes& into = got ? *got : sink;
  into.clear();
  int64_t deadline = nowMs() + timeout_ms;
  char buf[4096];
  while (true) {
    if (!waitReadable(fd_, deadline)) return false;
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 || (r < 0 && errno == ECONNRESET)) return true;
    if (r < 0) return false;
    into.append(buf, r);
  }
}

void Conn::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

Bytes makeC0C1(uint32_t seed) {
  Bytes c = randomBytes(1 + kPacket, seed);
  c[0] = 3;
  std::memset(&c[5], 0, 4);
  return c;
}

ClientHandshakeResult clientHandshake(Conn& c, const Bytes& after_c2, bool corrupt_c2) {
  ClientHandshakeResult r;
  Bytes c0c1 = makeC0C1(static_cast<uint32_t>(nowMs()));
  if (!c.sendAll(c0c1)) {
    r.error = "send C0C1 failed";
    return r;
  }
  Bytes s;
  if (!c.recvExact(1 + 2 * kPacket, &s)) {
    r.error = "did not get S0S1S2 (got " + std::to_string(s.size()) + " bytes)";
    return r;
  }
  if (s[0] != 3) {
    r.error = "S0 is not 3";
    return r;
  }
  r.s1 = s.substr(1, kPacket);
  Bytes s2 = s.substr(1 + kPacket);
  if (s2.compare(0, 4, c0c1, 1, 4) != 0 || s2.compare(8, kPacket - 8, c0c1, 9, kPacket - 8) != 0) {
    r.error = "S2 does not echo C1";
    return r;
  }
  if (r.s1.compare(4, 4, std::string(4, '\0')) != 0) {
    r.error = "S1[4..7] is not zero";
    return r;
  }
  Bytes c2 = r.s1;
  if (corrupt_c2) c2[100] ^= 0x5a;
  if (!c.sendAll(c2 + after_c2)) {
    r.error = "send C2 failed";
    return r;
  }
  r.ok = true;
  return r;
}

FakeOrigin::FakeOrigin(Mode mode) : mode_(mode) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  ::listen(listen_fd_, 512);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeOrigin::~FakeOrigin() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  {
    // Wake every serving thread; each closes its own socket on the way out.
    std::lock_guard lock(mu_);
    resumed_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  acceptor_.join();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return serving_ == 0; });
  lock.unlock();
  ::close(listen_fd_);
}

void FakeOrigin::acceptLoop() {
  while (!stop_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stop_) return;
      continue;
    }
    ++accepted_;
    std::lock_guard lock(mu_);
    fds_.push_back(fd);
    ++serving_;
    // Detached: a churn test serves tens of thousands of connections, and a
    // finished joinable thread would keep its stack until the end.
    std::thread([this, fd] {
      serve(fd);
      std::lock_guard lock(mu_);
      --serving_;
      cv_.notify_all();
    }).detach();
  }
}

Bytes FakeOrigin::received() {
  std::lock_guard lock(mu_);
  return received_;
}

bool FakeOrigin::waitReceived(size_t n, int timeout_ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return received_count_.load() >= n; });
}

void FakeOrigin::resume() {
  std::lock_guard lock(mu_);
  resumed_ = true;
  cv_.notify_all();
}

void FakeOrigin::kill() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  std::lock_guard lock(mu_);
  killed_ = true;
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd : fds_) {
    linger l{1, 0};  // dropping the socket now sends RST, as for a killed process
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    // A thread blocked in poll() holds the socket; SHUT_RD (nothing on the
    // wire) wakes it so that it lets go.
    ::shutdown(fd, SHUT_RD);
    // Swap /dev/null in under the same number: the socket's last reference
    // goes (RST at once) while the serving thread's fd stays valid until it
    // notices (socket calls on it fail) and releases it.
    ::dup2(devnull, fd);
  }
  ::close(devnull);
  resumed_ = true;
  cv_.notify_all();
}

void FakeOrigin::release(Conn& c) {
  int fd = c.fd();
  {
    std::lock_guard lock(mu_);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
    // An orderly end sends FIN now; a killed origin just closes (RST).
    if (!killed_) ::shutdown(fd, SHUT_RDWR);
  }
  c.close();
}

void FakeOrigin::serve(int fd) {
  Conn c(fd);
  struct Release {
    FakeOrigin* o;
    Conn& c;
    ~Release() { o->release(c); }
  } release{this, c};
  if (mode_ == Mode::kSilent) {
    Bytes ignore;
    c.recvUntilEof(&ignore, 30000);
    return;
  }
  Bytes c0c1;
  if (!c.recvExact(1 + kPacket, &c0c1, 5000)) return;
  if (int d = handshake_delay_ms_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(d));
  Bytes s1 = randomBytes(kPacket, 7);
  std::memset(&s1[4], 0, 4);
  Bytes reply = Bytes(1, mode_ == Mode::kBadS0 ? 6 : 3) + s1 + c0c1.substr(1);
  if (!c.sendAll(reply)) return;
  if (mode_ == Mode::kBadS0) {
    Bytes ignore;
    c.recvUntilEof(&ignore, 5000);
    return;
  }
  Bytes c2;
  if (!c.recvExact(kPacket, &c2, 5000)) return;
  ++handshaken_;
  if (mode_ == Mode::kCloseAfterHandshake) return;
  if (mode_ == Mode::kNoRead) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return resumed_; });
  }
  if (mode_ == Mode::kFlood) {
    Bytes chunk = randomBytes(64 * 1024, 11);
    while (!stop_ && c.sendAll(chunk)) {
    }
    return;
  }
  Bytes all;
  char buf[65536];
  while (true) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) break;
    ssize_t n = ::recv(c.fd(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    {
      std::lock_guard lock(mu_);
      if (record_) received_.append(buf, n);
      received_count_ += n;
    }
    cv_.notify_all();
    if (mode_ == Mode::kEcho && !c.sendAll(Bytes(buf, n))) break;
    if (mode_ == Mode::kHalfClose) all.append(buf, n);
  }
  if (mode_ == Mode::kHalfClose) c.sendAll(all);
}

}  // namespace rtmpgate::test
