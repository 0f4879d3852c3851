// loadgen: the RTMP load generator and origin stand-in of the benchmark kit.
//
// One process, one thread, epoll, non-blocking sockets, no framework: it
// drives thousands of sockets from one core. Every mode is bounded in time
// (and optionally in count) and talks to 127.0.0.1 only.
//
//   loadgen handshake  --target PORT --conns N --duration S [--max-loops M]
//   loadgen throughput --target PORT --conns N --duration S [--write-size B] [--both]
//                      [--bytes B] [--sink-stats FILE]
//   loadgen idle       --target PORT --conns N [--hold S] --target-pids P[,P...]
//   loadgen sink       --listen PORT --stats-file FILE [--write-size B]
//   loadgen freeport
//
// Client modes print one `RESULT key=value ...` line on stdout (the compare
// script parses it) and a readable summary on stderr. --target-pids and
// --sink-pids name processes whose CPU time (utime+stime from /proc/PID/stat)
// is measured over the same window as the result; the load generator's own
// CPU comes from getrusage().
//
// Wire behaviour of a client session: connect, C0+C1 (simple handshake,
// random C1), read S0+S1+S2 and check S0 = 3 and that S2 echoes C1 (time and
// random), send C2 = S1 verbatim followed by a ~200-byte AMF0 `connect`
// command message (chunked at 128 bytes, as a real client would pipeline it),
// then, per mode: close (handshake), stream fixed-size writes (throughput),
// or hold the session open (idle).
//
// The sink answers the server side of the simple handshake (S0 = 3, S1 with
// zero bytes 4..7, S2 = C1), checks that C2 echoes S1, then parses the
// connect message's chunk header and counts a session as `reached` only once
// every byte of that message has arrived (its header fields and command name
// are checked too; a malformed one is an error). It counts bytes after C2 and
// writes its counters to --stats-file every 50 ms (atomically, by rename) and
// on SIGTERM, so "every session reached the origin" is checked, not assumed.
// A session whose connect names an app containing "duplex" also gets a
// stream of fixed-size writes back (the both-ways throughput variant).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rtmpgate::bench {
namespace {

constexpr size_t kPacket = 1536;
constexpr size_t kRandomOffset = 8;
constexpr size_t kReplySize = 1 + 2 * kPacket;  // S0 + S1 + S2
constexpr size_t kChunkSize = 128;              // RTMP default chunk size
constexpr size_t kConnectPrefixMax = 512;
constexpr int kMaxEvents = 512;

// ----- small utilities -----

uint64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

[[noreturn]] void die(const char* fmt, const char* arg = "") {
  std::fprintf(stderr, "loadgen: ");
  std::fprintf(stderr, fmt, arg);
  std::fprintf(stderr, "\n");
  std::exit(2);
}

// xorshift64*: cheap, good enough for handshake random bytes.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dull;
  }
  void fill(uint8_t* p, size_t n) {
    while (n >= 8) {
      uint64_t v = next();
      std::memcpy(p, &v, 8);
      p += 8;
      n -= 8;
    }
    if (n) {
      uint64_t v = next();
      std::memcpy(p, &v, n);
    }
  }
};

void putBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

void raiseNofile() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

size_t nofileLimit() {
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  return static_cast<size_t>(rl.rlim_cur);
}

// Accepts "PORT" or "127.0.0.1:PORT"; anything else is refused, so the tool
// can only ever load the local machine.
sockaddr_in loopbackAddr(const std::string& s) {
  std::string port = s;
  if (auto c = s.rfind(':'); c != std::string::npos) {
    if (s.substr(0, c) != "127.0.0.1") die("only 127.0.0.1 is allowed, not '%s'", s.c_str());
    port = s.substr(c + 1);
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p <= 0 || p > 65535) die("bad port in '%s'", s.c_str());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(p));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// utime+stime of a process (all its threads), in clock ticks; 0 if gone.
uint64_t procCpuTicks(int pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  // Fields after the command: state(3) ppid ... utime(14) stime(15).
  unsigned long long v[13] = {};
  int got =
      std::sscanf(p + 2, "%*c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                  &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]);
  if (got < 12) return 0;
  return v[10] + v[11];
}

uint64_t rssKib(int pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::strtoull(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib;
}

std::vector<int> parsePids(const std::string& s) {
  std::vector<int> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) {
      int pid = std::atoi(s.substr(i, j - i).c_str());
      if (pid <= 0) die("bad pid list '%s'", s.c_str());
      out.push_back(pid);
    }
    i = j + 1;
  }
  return out;
}

uint64_t sumCpuTicks(const std::vector<int>& pids) {
  uint64_t t = 0;
  for (int p : pids) t += procCpuTicks(p);
  return t;
}

uint64_t sumRssKib(const std::vector<int>& pids) {
  uint64_t t = 0;
  for (int p : pids) t += rssKib(p);
  return t;
}

uint64_t selfCpuNs() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000ull +
           static_cast<uint64_t>(tv.tv_usec) * 1000ull;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

// The sink's stats file: one line of key=value pairs.
std::map<std::string, uint64_t> readStatsFile(const std::string& path) {
  std::map<std::string, uint64_t> m;
  if (path.empty()) return m;
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return m;
  char buf[2048];
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  char* save = nullptr;
  for (char* tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(nullptr, " \n", &save)) {
    char* eq = std::strchr(tok, '=');
    if (!eq) continue;
    *eq = '\0';
    m[tok] = std::strtoull(eq + 1, nullptr, 10);
  }
  return m;
}

// An AMF0 `connect` command message, chunked at 128 bytes (fmt-0 header on
// chunk stream 3, then 0xC3 continuation headers), about 200 bytes on the
// wire: what a client pipelines right behind C2.
std::vector<uint8_t> buildConnect(std::string_view app) {
  std::vector<uint8_t> body;
  auto u16 = [&](size_t v) {
    body.push_back(static_cast<uint8_t>(v >> 8));
    body.push_back(static_cast<uint8_t>(v));
  };
  auto str = [&](std::string_view s) {
    body.push_back(0x02);
    u16(s.size());
    body.insert(body.end(), s.begin(), s.end());
  };
  auto num = [&](double d) {
    body.push_back(0x00);
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    for (int i = 7; i >= 0; --i) body.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  };
  auto key = [&](std::string_view k) {
    u16(k.size());
    body.insert(body.end(), k.begin(), k.end());
  };
  str("connect");
  num(1.0);
  body.push_back(0x03);
  key("app");
  str(app);
  key("type");
  str("nonprivate");
  key("flashVer");
  str("FMLE/3.0 (compatible; rtmpgate-bench)");
  key("tcUrl");
  str(std::string("rtmp://127.0.0.1:1935/") + std::string(app));
  key("fpad");
  body.push_back(0x01);
  body.push_back(0x00);
  key("capabilities");
  num(15.0);
  key("audioCodecs");
  num(3191.0);
  body.insert(body.end(), {0x00, 0x00, 0x09});

  std::vector<uint8_t> out;
  const size_t len = body.size();
  out.insert(out.end(),
             {0x03, 0, 0, 0, static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 8),
              static_cast<uint8_t>(len), 0x14, 0, 0, 0, 0});
  for (size_t off = 0; off < len; off += kChunkSize) {
    if (off > 0) out.push_back(0xC3);
    size_t n = std::min(kChunkSize, len - off);
    out.insert(out.end(), body.begin() + off, body.begin() + off + n);
  }
  return out;
}

// Wire length of a chunked message given its fmt-0 header (12 bytes).
size_t connectWireLength(const uint8_t* hdr) {
  size_t len = (size_t{hdr[4]} << 16) | (size_t{hdr[5]} << 8) | hdr[6];
  return 12 + len + (len > 0 ? (len - 1) / kChunkSize : 0);
}

volatile sig_atomic_t g_stop = 0;
void onStopSignal(int) { g_stop = 1; }

void installStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// ----- options -----

struct Options {
  std::string mode;
  std::string target;
  std::string listen;
  std::string stats_file;   // sink: where to write counters
  std::string sink_stats;   // clients: the sink's stats file, to read bytes at the origin
  std::string target_pids;  // CPU% (and RSS in idle mode) of the system under test
  std::string sink_pids;    // CPU% of the origin sink (load side)
  size_t conns = 100;
  double duration_s = 5;
  uint64_t max_loops = 0;  // handshake: 0 = bounded by duration only
  size_t write_size = 16384;
  bool both = false;
  uint64_t bytes = 0;  // throughput: stop after this many bytes sent (0 = duration)
  double hold_s = 2;
  double warmup_s = 0.5;
  double loop_timeout_s = 10;
  size_t inflight = 256;      // idle: handshakes in flight while ramping up
  double max_seconds = 3600;  // sink: exit after this long whatever happens
  std::string app;
};

Options parseOptions(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: loadgen handshake|throughput|idle|sink|freeport [--option value ...]\n"
                 "  see the comment at the top of bench/loadgen.cc\n");
    std::exit(2);
  }
  Options o;
  o.mode = argv[1];
  auto num = [](const char* v, const char* name) {
    char* end = nullptr;
    double d = std::strtod(v, &end);
    if (!v[0] || *end != '\0' || d < 0) die("bad number for %s", name);
    return d;
  };
  const std::map<std::string, std::function<void(const char*)>> setters = {
      {"--target", [&](const char* v) { o.target = v; }},
      {"--listen", [&](const char* v) { o.listen = v; }},
      {"--stats-file", [&](const char* v) { o.stats_file = v; }},
      {"--sink-stats", [&](const char* v) { o.sink_stats = v; }},
      {"--target-pids", [&](const char* v) { o.target_pids = v; }},
      {"--sink-pids", [&](const char* v) { o.sink_pids = v; }},
      {"--conns", [&](const char* v) { o.conns = static_cast<size_t>(num(v, "--conns")); }},
      {"--duration", [&](const char* v) { o.duration_s = num(v, "--duration"); }},
      {"--max-loops",
       [&](const char* v) { o.max_loops = static_cast<uint64_t>(num(v, "--max-loops")); }},
      {"--write-size",
       [&](const char* v) { o.write_size = static_cast<size_t>(num(v, "--write-size")); }},
      {"--bytes", [&](const char* v) { o.bytes = static_cast<uint64_t>(num(v, "--bytes")); }},
      {"--hold", [&](const char* v) { o.hold_s = num(v, "--hold"); }},
      {"--warmup", [&](const char* v) { o.warmup_s = num(v, "--warmup"); }},
      {"--loop-timeout", [&](const char* v) { o.loop_timeout_s = num(v, "--loop-timeout"); }},
      {"--inflight",
       [&](const char* v) { o.inflight = static_cast<size_t>(num(v, "--inflight")); }},
      {"--max-seconds", [&](const char* v) { o.max_seconds = num(v, "--max-seconds"); }},
      {"--app", [&](const char* v) { o.app = v; }},
  };
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--both") {
      o.both = true;
      continue;
    }
    if (i + 1 >= argc) die("missing value for %s", a.c_str());
    const char* v = argv[++i];
    auto it = setters.find(a);
    if (it == setters.end()) die("unknown option %s", a.c_str());
    it->second(v);
  }
  if (o.conns == 0) die("--conns must be at least 1");
  if (o.write_size == 0 || o.write_size > (1u << 20)) die("--write-size must be 1..1048576");
  if (o.inflight == 0) o.inflight = 1;
  return o;
}

// ----- the client side (handshake, throughput, idle) -----

enum class CState : uint8_t {
  kFree,
  kConnecting,
  kSendHello,  // C0+C1 being written
  kReadReply,  // waiting for S0+S1+S2
  kSendC2,     // C2 + connect being written
  kEstablished,
  kDraining,  // our FIN sent; reading until the peer's
};

enum Err : uint8_t {
  kErrConnect,
  kErrIo,
  kErrClosed,  // peer closed before the handshake was done, or while idle
  kErrBadS0,
  kErrS2Echo,  // S2 does not echo C1
  kErrTimeout,
  kErrCount,
};
constexpr const char* kErrNames[kErrCount] = {"connect", "io",      "closed",
                                              "bad_s0",  "s2_echo", "timeout"};

struct HsBuf {
  uint8_t out[1 + kPacket + 1024];  // C0+C1, later C2 + connect
  size_t out_len = 0;
  uint8_t in[kReplySize];
  size_t in_have = 0;
  uint8_t c1[kPacket];
};

struct Client {
  int fd = -1;
  CState st = CState::kFree;
  uint32_t interest = 0;
  uint32_t gen = 0;
  uint64_t t_start = 0;
  uint64_t deadline = 0;
  size_t off = 0;  // write offset (handshake output, or within one fixed-size write)
  std::unique_ptr<HsBuf> hs;
};

class ClientDriver {
 public:
  explicit ClientDriver(const Options& o)
      : o_(o),
        target_(loopbackAddr(o.target)),
        rng_(nowNs() ^ (static_cast<uint64_t>(getpid()) << 32)) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1: %s", strerror(errno));
    std::string app = o.app;
    if (app.empty()) app = o.both ? "bench-duplex" : "bench";
    connect_msg_ = buildConnect(app);
    if (connect_msg_.size() > sizeof(HsBuf::out) - kPacket) die("--app is too long");
    payload_.resize(o.write_size);
    for (size_t i = 0; i < payload_.size(); ++i) payload_[i] = static_cast<uint8_t>(i * 131 + 7);
    scratch_.resize(256 * 1024);
    target_pids_ = parsePids(o.target_pids);
    sink_pids_ = parsePids(o.sink_pids);
  }

  int runHandshake();
  int runThroughput();
  int runIdle();

 private:
  // Window measurements: CPU of the target, of the sink and of ourselves.
  struct CpuMark {
    uint64_t t_ns, target_ticks, sink_ticks, self_ns;
  };
  CpuMark mark() const {
    return {nowNs(), sumCpuTicks(target_pids_), sumCpuTicks(sink_pids_), selfCpuNs()};
  }
  std::string cpuFields(const CpuMark& a, const CpuMark& b) const;

  void start(size_t slot);
  void fail(size_t slot, Err e);
  void finish(size_t slot);  // orderly close, slot freed
  void setInterest(Client& c, uint32_t ev);
  void onEvent(size_t slot, uint32_t ev);
  void sendHello(Client& c, size_t slot);
  bool flushOut(Client& c, size_t slot);  // false: failed or still pending
  void onReply(Client& c, size_t slot);
  void onHandshakeDone(Client& c, size_t slot);
  void streamWrite(Client& c, size_t slot);
  void readAvailable(Client& c, size_t slot);
  void checkDeadlines(uint64_t now);
  int poll(int timeout_ms);
  void drainAll(double seconds);
  uint64_t errorTotal() const {
    uint64_t t = 0;
    for (uint64_t e : errors_) t += e;
    return t;
  }
  std::string errorFields() const;

  const Options& o_;
  sockaddr_in target_;
  Rng rng_;
  int ep_ = -1;
  std::vector<Client> clients_;
  std::vector<uint8_t> connect_msg_;
  std::vector<uint8_t> payload_;
  std::vector<uint8_t> scratch_;
  std::vector<int> target_pids_, sink_pids_;
  std::vector<size_t> restart_;

  // Mode switches read by the event handlers.
  bool close_after_connect_ = false;  // handshake mode
  bool streaming_ = false;            // throughput: write while writable
  uint64_t byte_budget_ = 0;          // 0 = unlimited

  uint64_t errors_[kErrCount] = {};
  uint64_t started_ = 0;
  uint64_t completed_ = 0;  // handshake loops done / sessions established
  uint64_t active_ = 0;
  uint64_t in_handshake_ = 0;
  uint64_t sent_ = 0, recvd_ = 0;
  std::vector<uint32_t> lat_hs_us_, lat_loop_us_;
};

void ClientDriver::setInterest(Client& c, uint32_t ev) {
  if (c.interest == ev) return;
  epoll_event e{};
  e.events = ev;
  e.data.u64 = (static_cast<uint64_t>(c.gen) << 32) | static_cast<uint64_t>(&c - clients_.data());
  int op = c.interest == 0 ? EPOLL_CTL_ADD : (ev == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
  if (epoll_ctl(ep_, op, c.fd, &e) != 0) die("epoll_ctl: %s", strerror(errno));
  c.interest = ev;
}

void ClientDriver::start(size_t slot) {
  Client& c = clients_[slot];
  const uint32_t gen = c.gen + 1;
  c = Client{};
  c.gen = gen;
  ++started_;
  ++active_;
  ++in_handshake_;
  c.t_start = nowNs();
  c.deadline = c.t_start + static_cast<uint64_t>(o_.loop_timeout_s * 1e9);
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return fail(slot, kErrConnect);
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c.hs = std::make_unique<HsBuf>();
  int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&target_), sizeof(target_));
  if (rc == 0) return sendHello(c, slot);
  if (errno != EINPROGRESS) return fail(slot, kErrConnect);
  c.st = CState::kConnecting;
  setInterest(c, EPOLLOUT);
}

void ClientDriver::fail(size_t slot, Err e) {
  Client& c = clients_[slot];
  ++errors_[e];
  if (c.st != CState::kEstablished && c.st != CState::kDraining) --in_handshake_;
  if (c.fd >= 0) {
    // RST rather than FIN: a failed session should not linger in TIME_WAIT.
    linger l{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(c.fd);
  }
  c.fd = -1;
  c.interest = 0;
  c.st = CState::kFree;
  c.hs.reset();
  --active_;
  restart_.push_back(slot);
}

void ClientDriver::finish(size_t slot) {
  Client& c = clients_[slot];
  close(c.fd);
  c.fd = -1;
  c.interest = 0;
  c.st = CState::kFree;
  c.hs.reset();
  --active_;
  restart_.push_back(slot);
}

void ClientDriver::sendHello(Client& c, size_t slot) {
  HsBuf& h = *c.hs;
  h.out[0] = 3;
  putBe32(h.out + 1, static_cast<uint32_t>(c.t_start / 1'000'000));
  std::memset(h.out + 5, 0, 4);
  rng_.fill(h.out + 1 + kRandomOffset, kPacket - kRandomOffset);
  std::memcpy(h.c1, h.out + 1, kPacket);
  h.out_len = 1 + kPacket;
  c.off = 0;
  c.st = CState::kSendHello;
  if (!flushOut(c, slot)) return;
  c.st = CState::kReadReply;
  setInterest(c, EPOLLIN);
}

bool ClientDriver::flushOut(Client& c, size_t slot) {
  HsBuf& h = *c.hs;
  while (c.off < h.out_len) {
    ssize_t n = send(c.fd, h.out + c.off, h.out_len - c.off, MSG_NOSIGNAL);
    if (n > 0) {
      c.off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      setInterest(c, EPOLLOUT);
      return false;
    }
    fail(slot, kErrIo);
    return false;
  }
  return true;
}

void ClientDriver::onReply(Client& c, size_t slot) {
  HsBuf& h = *c.hs;
  while (h.in_have < kReplySize) {
    ssize_t n = recv(c.fd, h.in + h.in_have, kReplySize - h.in_have, 0);
    if (n > 0) {
      h.in_have += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    return fail(slot, n == 0 ? kErrClosed : kErrIo);
  }
  if (h.in[0] != 3) return fail(slot, kErrBadS0);
  const uint8_t* s2 = h.in + 1 + kPacket;
  if (std::memcmp(s2, h.c1, 4) != 0 ||
      std::memcmp(s2 + kRandomOffset, h.c1 + kRandomOffset, kPacket - kRandomOffset) != 0) {
    return fail(slot, kErrS2Echo);
  }
  const uint64_t now = nowNs();
  lat_hs_us_.push_back(static_cast<uint32_t>((now - c.t_start) / 1000));
  // C2 = S1 verbatim, then the connect command pipelined behind it.
  std::memcpy(h.out, h.in + 1, kPacket);
  std::memcpy(h.out + kPacket, connect_msg_.data(), connect_msg_.size());
  h.out_len = kPacket + connect_msg_.size();
  c.off = 0;
  c.st = CState::kSendC2;
  if (!flushOut(c, slot)) return;
  onHandshakeDone(c, slot);
}

void ClientDriver::onHandshakeDone(Client& c, size_t slot) {
  c.hs.reset();
  --in_handshake_;
  ++completed_;
  if (close_after_connect_) {
    lat_loop_us_.push_back(static_cast<uint32_t>((nowNs() - c.t_start) / 1000));
    return finish(slot);
  }
  c.st = CState::kEstablished;
  c.off = 0;
  uint32_t ev = EPOLLIN;  // idle sessions still notice a close
  if (streaming_) ev |= EPOLLOUT;
  setInterest(c, ev);
}

void ClientDriver::streamWrite(Client& c, size_t slot) {
  // A few writes per wakeup keeps N sessions fair.
  for (int i = 0; i < 8; ++i) {
    size_t len = payload_.size() - c.off;
    if (byte_budget_) {
      if (sent_ >= byte_budget_) return setInterest(c, EPOLLIN);
      len = std::min<uint64_t>(len, byte_budget_ - sent_);
    }
    ssize_t n = send(c.fd, payload_.data() + c.off, len, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<uint64_t>(n);
      c.off = (c.off + static_cast<size_t>(n)) % payload_.size();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    return fail(slot, kErrIo);
  }
}

void ClientDriver::readAvailable(Client& c, size_t slot) {
  for (int i = 0; i < 8; ++i) {
    ssize_t n = recv(c.fd, scratch_.data(), scratch_.size(), 0);
    if (n > 0) {
      recvd_ += static_cast<uint64_t>(n);
      if (static_cast<size_t>(n) < scratch_.size()) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n == 0 && c.st == CState::kDraining) return finish(slot);
    return fail(slot, n == 0 ? kErrClosed : kErrIo);
  }
}

void ClientDriver::onEvent(size_t slot, uint32_t ev) {
  Client& c = clients_[slot];
  switch (c.st) {
    case CState::kFree:
      return;
    case CState::kConnecting: {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) return fail(slot, kErrConnect);
      return sendHello(c, slot);
    }
    case CState::kSendHello:
      if (!flushOut(c, slot)) return;
      c.st = CState::kReadReply;
      return setInterest(c, EPOLLIN);
    case CState::kReadReply:
      return onReply(c, slot);
    case CState::kSendC2:
      if (!flushOut(c, slot)) return;
      return onHandshakeDone(c, slot);
    case CState::kEstablished:
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        readAvailable(c, slot);
        if (c.st != CState::kEstablished) return;
      }
      if ((ev & EPOLLOUT) && streaming_) streamWrite(c, slot);
      return;
    case CState::kDraining:
      return readAvailable(c, slot);
  }
}

void ClientDriver::checkDeadlines(uint64_t now) {
  for (size_t i = 0; i < clients_.size(); ++i) {
    Client& c = clients_[i];
    if (c.st != CState::kFree && c.st != CState::kEstablished && now > c.deadline) {
      if (c.st == CState::kDraining) {
        finish(i);  // the far side did not close in time; not an error of the test
      } else {
        fail(i, kErrTimeout);
      }
    }
  }
}

int ClientDriver::poll(int timeout_ms) {
  epoll_event evs[kMaxEvents];
  int n = epoll_wait(ep_, evs, kMaxEvents, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    die("epoll_wait: %s", strerror(errno));
  }
  for (int i = 0; i < n; ++i) {
    size_t slot = static_cast<uint32_t>(evs[i].data.u64);
    uint32_t gen = static_cast<uint32_t>(evs[i].data.u64 >> 32);
    if (slot >= clients_.size() || clients_[slot].gen != gen) continue;  // stale
    onEvent(slot, evs[i].events);
  }
  return n;
}

// Half-closes every session and reads until the peer closes too, so that
// teardown is orderly (no RST through the proxy); bounded in time.
void ClientDriver::drainAll(double seconds) {
  streaming_ = false;
  const uint64_t deadline = nowNs() + static_cast<uint64_t>(seconds * 1e9);
  for (size_t i = 0; i < clients_.size(); ++i) {
    Client& c = clients_[i];
    if (c.st == CState::kEstablished) {
      shutdown(c.fd, SHUT_WR);
      c.st = CState::kDraining;
      c.deadline = deadline;
      setInterest(c, EPOLLIN);
    } else if (c.st != CState::kFree) {
      fail(i, kErrTimeout);  // never finished its handshake
    }
  }
  restart_.clear();
  while (active_ > 0 && nowNs() < deadline + 100'000'000ull) {
    poll(50);
    checkDeadlines(nowNs());
    restart_.clear();
  }
}

std::string ClientDriver::cpuFields(const CpuMark& a, const CpuMark& b) const {
  const double wall = static_cast<double>(b.t_ns - a.t_ns) / 1e9;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto pct = [&](double cpu_s) { return wall > 0 ? 100.0 * cpu_s / wall : 0.0; };
  const double target_s = static_cast<double>(b.target_ticks - a.target_ticks) / tick;
  const double sink_s = static_cast<double>(b.sink_ticks - a.sink_ticks) / tick;
  const double self_s = static_cast<double>(b.self_ns - a.self_ns) / 1e9;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "window_s=%.3f target_cpu_pct=%.1f target_cpu_s=%.3f loadgen_cpu_pct=%.1f "
                "sink_cpu_pct=%.1f load_cpu_pct=%.1f",
                wall, target_pids_.empty() ? -1.0 : pct(target_s), target_s, pct(self_s),
                sink_pids_.empty() ? -1.0 : pct(sink_s), pct(self_s + sink_s));
  return buf;
}

std::string ClientDriver::errorFields() const {
  std::string s = "errors=" + std::to_string(errorTotal());
  for (int i = 0; i < kErrCount; ++i) {
    s += " err_" + std::string(kErrNames[i]) + "=" + std::to_string(errors_[i]);
  }
  return s;
}

std::string percentiles(const char* name, std::vector<uint32_t>& v) {
  char buf[160];
  if (v.empty()) {
    std::snprintf(buf, sizeof(buf), "%s_p50_ms=0 %s_p99_ms=0 %s_p999_ms=0", name, name, name);
    return buf;
  }
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return static_cast<double>(v[std::min(i, v.size() - 1)]) / 1000.0;
  };
  std::snprintf(buf, sizeof(buf), "%s_p50_ms=%.3f %s_p99_ms=%.3f %s_p999_ms=%.3f", name, at(0.5),
                name, at(0.99), name, at(0.999));
  return buf;
}

int ClientDriver::runHandshake() {
  close_after_connect_ = true;
  clients_.resize(o_.conns);
  lat_hs_us_.reserve(1 << 20);
  lat_loop_us_.reserve(1 << 20);
  const uint64_t t0 = nowNs();
  const uint64_t end = t0 + static_cast<uint64_t>(o_.duration_s * 1e9);
  const uint64_t grace_end = end + 3'000'000'000ull;
  auto mayStart = [&] { return (o_.max_loops == 0 || started_ < o_.max_loops) && nowNs() < end; };
  const CpuMark a = mark();
  for (size_t i = 0; i < clients_.size() && mayStart(); ++i) start(i);
  uint64_t last_check = t0;
  CpuMark b{};
  bool window_closed = false;
  uint64_t completed_in_window = 0;
  while (!g_stop) {
    poll(10);
    const uint64_t now = nowNs();
    if (!window_closed &&
        (now >= end || (o_.max_loops && completed_ + errorTotal() >= o_.max_loops))) {
      b = mark();
      completed_in_window = completed_;
      window_closed = true;
    }
    if (now - last_check > 100'000'000ull) {
      checkDeadlines(now);
      last_check = now;
    }
    std::vector<size_t> again;
    again.swap(restart_);
    for (size_t slot : again) {
      if (mayStart()) start(slot);
    }
    if (window_closed && active_ == 0) break;
    if (now > grace_end) break;
  }
  if (!window_closed) {
    b = mark();
    completed_in_window = completed_;
  }
  // Whatever is still in flight after the grace period counts as timed out.
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (clients_[i].st != CState::kFree) fail(i, kErrTimeout);
  }
  const double window = static_cast<double>(b.t_ns - a.t_ns) / 1e9;
  const double rate = window > 0 ? static_cast<double>(completed_in_window) / window : 0;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double target_us_per =
      completed_in_window ? 1e6 * (static_cast<double>(b.target_ticks - a.target_ticks) / tick) /
                                static_cast<double>(completed_in_window)
                          : 0;
  std::printf("RESULT mode=handshake conns=%zu started=%" PRIu64 " completed=%" PRIu64
              " completed_in_window=%" PRIu64 " rate=%.1f target_cpu_us_per_hs=%.2f %s %s %s %s\n",
              o_.conns, started_, completed_, completed_in_window, rate, target_us_per,
              errorFields().c_str(), percentiles("hs", lat_hs_us_).c_str(),
              percentiles("loop", lat_loop_us_).c_str(), cpuFields(a, b).c_str());
  std::fprintf(stderr, "handshake: %" PRIu64 " loops, %.0f/s, %" PRIu64 " errors\n", completed_,
               rate, errorTotal());
  return 0;
}

int ClientDriver::runThroughput() {
  clients_.resize(o_.conns);
  const uint64_t t0 = nowNs();
  const uint64_t ramp_end = t0 + static_cast<uint64_t>(o_.loop_timeout_s * 1e9);
  for (size_t i = 0; i < clients_.size(); ++i) start(i);
  while (!g_stop && completed_ + errorTotal() < o_.conns && nowNs() < ramp_end) {
    poll(10);
    checkDeadlines(nowNs());
    restart_.clear();  // no retries: every session must establish
  }
  const uint64_t established = completed_;
  streaming_ = true;
  byte_budget_ = o_.bytes;
  for (auto& c : clients_) {
    if (c.st == CState::kEstablished) setInterest(c, EPOLLIN | EPOLLOUT);
  }
  // Warm-up, then the measured window.
  const uint64_t warm_end = nowNs() + static_cast<uint64_t>(o_.warmup_s * 1e9);
  while (!g_stop && nowNs() < warm_end && active_ > 0) poll(10);
  const auto sink_a = readStatsFile(o_.sink_stats);
  const uint64_t sent_a = sent_, recvd_a = recvd_;
  const CpuMark a = mark();
  const uint64_t end = a.t_ns + static_cast<uint64_t>(o_.duration_s * 1e9);
  while (!g_stop && active_ > 0 && nowNs() < end && !(byte_budget_ && sent_ >= byte_budget_)) {
    poll(10);
  }
  const CpuMark b = mark();
  const uint64_t sent_b = sent_, recvd_b = recvd_;
  // The sink rewrites its file every 50 ms; wait for a snapshot taken after the window.
  auto sink_b = readStatsFile(o_.sink_stats);
  for (int i = 0; i < 20 && !o_.sink_stats.empty() && sink_b["t_ns"] < b.t_ns; ++i) {
    poll(10);
    sink_b = readStatsFile(o_.sink_stats);
  }
  const uint64_t errors_in_window = errorTotal();
  drainAll(3.0);

  const double window = static_cast<double>(b.t_ns - a.t_ns) / 1e9;
  auto mbps = [](uint64_t bytes, double s) {
    return s > 0 ? static_cast<double>(bytes) / s / 1e6 : 0;
  };
  double sink_mbps = -1;
  if (sink_a.count("t_ns") && sink_b.count("t_ns") && sink_b["t_ns"] > sink_a.at("t_ns")) {
    sink_mbps = mbps(sink_b["bytes_in"] - sink_a.at("bytes_in"),
                     static_cast<double>(sink_b["t_ns"] - sink_a.at("t_ns")) / 1e9);
  }
  const double up_sent = mbps(sent_b - sent_a, window);
  const double down = mbps(recvd_b - recvd_a, window);
  std::printf("RESULT mode=throughput both=%d conns=%zu write_size=%zu established=%" PRIu64
              " sink_mbps=%.1f sent_mbps=%.1f down_mbps=%.1f total_mbps=%.1f sent_bytes=%" PRIu64
              " recv_bytes=%" PRIu64 " errors_in_window=%" PRIu64 " %s %s\n",
              o_.both ? 1 : 0, o_.conns, o_.write_size, established, sink_mbps, up_sent, down,
              (sink_mbps >= 0 ? sink_mbps : up_sent) + down, sent_, recvd_, errors_in_window,
              errorFields().c_str(), cpuFields(a, b).c_str());
  std::fprintf(stderr, "throughput: %" PRIu64 "/%zu sessions, at sink %.1f MB/s, back %.1f MB/s\n",
               established, o_.conns, sink_mbps, down);
  return 0;
}

int ClientDriver::runIdle() {
  if (target_pids_.empty()) die("idle mode needs --target-pids");
  clients_.resize(o_.conns);
  if (o_.conns + 64 > nofileLimit()) {
    die("RLIMIT_NOFILE too low for --conns %s", std::to_string(o_.conns).c_str());
  }
  const uint64_t rss_before = sumRssKib(target_pids_);
  const uint64_t t0 = nowNs();
  const uint64_t ramp_end = t0 + static_cast<uint64_t>(std::max(30.0, o_.loop_timeout_s) * 1e9);
  size_t next = 0;
  uint64_t last_check = t0;
  while (!g_stop && completed_ + errorTotal() < o_.conns && nowNs() < ramp_end) {
    while (next < clients_.size() && in_handshake_ < o_.inflight) start(next++);
    poll(10);
    const uint64_t now = nowNs();
    if (now - last_check > 100'000'000ull) {
      checkDeadlines(now);
      last_check = now;
    }
    restart_.clear();  // no retries: a failed session is an error of the run
  }
  const double ramp_s = static_cast<double>(nowNs() - t0) / 1e9;
  const uint64_t established = completed_;
  // Wait until the origin has every session, then let the target settle.
  uint64_t sink_open = 0;
  if (!o_.sink_stats.empty()) {
    const uint64_t until = nowNs() + 10'000'000'000ull;
    while (!g_stop && nowNs() < until) {
      auto s = readStatsFile(o_.sink_stats);
      sink_open = s["reached_open"];
      if (sink_open >= established) break;
      poll(20);
    }
  }
  const uint64_t settle_end = nowNs() + 1'000'000'000ull;
  while (!g_stop && nowNs() < settle_end) poll(50);
  const uint64_t rss_after = sumRssKib(target_pids_);
  const CpuMark a = mark();
  const uint64_t hold_end = a.t_ns + static_cast<uint64_t>(o_.hold_s * 1e9);
  while (!g_stop && nowNs() < hold_end) poll(50);
  const CpuMark b = mark();
  const uint64_t open_at_end = active_;
  drainAll(5.0);
  const double rss_delta = static_cast<double>(rss_after) - static_cast<double>(rss_before);
  std::printf("RESULT mode=idle conns=%zu established=%" PRIu64 " open_at_end=%" PRIu64
              " sink_reached_open=%" PRIu64 " ramp_s=%.2f rss_before_kib=%" PRIu64
              " rss_after_kib=%" PRIu64 " kib_per_session=%.2f %s %s\n",
              o_.conns, established, open_at_end, sink_open, ramp_s, rss_before, rss_after,
              established ? rss_delta / static_cast<double>(established) : 0.0,
              errorFields().c_str(), cpuFields(a, b).c_str());
  std::fprintf(stderr, "idle: %" PRIu64 " sessions, RSS %" PRIu64 " -> %" PRIu64 " KiB\n",
               established, rss_before, rss_after);
  return 0;
}

// ----- the sink (origin stand-in) -----

struct SinkConn {
  enum class St : uint8_t { kC0, kC1, kC2, kConnect, kStream };
  St st = St::kC0;
  bool duplex = false;
  bool reply_pending = false;
  bool any_byte = false;
  uint32_t have = 0;           // bytes of the current packet / of the connect prefix
  uint32_t connect_total = 0;  // wire length of the connect message, once known
  uint32_t out_off = 0;
  uint32_t interest = 0;
  std::unique_ptr<uint8_t[]> hs;      // S0+S1+S2 while handshaking
  std::unique_ptr<uint8_t[]> prefix;  // the connect message, while it arrives
};

class Sink {
 public:
  explicit Sink(const Options& o) : o_(o), rng_(nowNs() * 0x9e3779b97f4a7c15ull) {}
  int run();

 private:
  void acceptAll();
  void onEvent(int fd, uint32_t ev);
  void consume(int fd, SinkConn& c, const uint8_t* p, size_t n);
  void flushReply(int fd, SinkConn& c);
  void streamOut(int fd, SinkConn& c);
  void drop(int fd, bool io_error);
  void setInterest(int fd, SinkConn& c, uint32_t ev);
  void writeStats();

  const Options& o_;
  Rng rng_;
  int ep_ = -1;
  int lfd_ = -1;
  std::vector<std::unique_ptr<SinkConn>> conns_;  // by fd
  std::vector<uint8_t> scratch_, payload_;
  bool closing_current_ = false;

  uint64_t accepted_ = 0, handshakes_ = 0, reached_ = 0, reached_open_ = 0, closed_ = 0;
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  uint64_t err_version_ = 0, err_c2_ = 0, err_connect_ = 0, early_close_ = 0, incomplete_ = 0;
  uint64_t io_errors_ = 0, probes_ = 0, duplex_ = 0, accept_errors_ = 0;
};

void Sink::setInterest(int fd, SinkConn& c, uint32_t ev) {
  if (c.interest == ev) return;
  epoll_event e{};
  e.events = ev;
  e.data.fd = fd;
  epoll_ctl(ep_, c.interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &e);
  c.interest = ev;
}

void Sink::writeStats() {
  if (o_.stats_file.empty()) return;
  char buf[1024];
  int n = std::snprintf(
      buf, sizeof(buf),
      "t_ns=%" PRIu64 " accepted=%" PRIu64 " handshakes=%" PRIu64 " reached=%" PRIu64
      " reached_open=%" PRIu64 " closed=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64
      " err_version=%" PRIu64 " err_c2=%" PRIu64 " err_connect=%" PRIu64 " early_close=%" PRIu64
      " incomplete=%" PRIu64 " io_errors=%" PRIu64 " probes=%" PRIu64 " duplex=%" PRIu64
      " accept_errors=%" PRIu64 " open=%zu\n",
      nowNs(), accepted_, handshakes_, reached_, reached_open_, closed_, bytes_in_, bytes_out_,
      err_version_, err_c2_, err_connect_, early_close_, incomplete_, io_errors_, probes_, duplex_,
      accept_errors_, static_cast<size_t>(accepted_ - closed_));
  std::string tmp = o_.stats_file + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t w = write(fd, buf, static_cast<size_t>(n));
  close(fd);
  if (w == n) rename(tmp.c_str(), o_.stats_file.c_str());
}

void Sink::acceptAll() {
  while (true) {
    int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      ++accept_errors_;  // EMFILE and the like: counted, the run then fails its checks
      return;
    }
    if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) + 1024);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conns_[fd] = std::make_unique<SinkConn>();
    ++accepted_;
    setInterest(fd, *conns_[fd], EPOLLIN);
  }
}

void Sink::drop(int fd, bool io_error) {
  SinkConn& c = *conns_[fd];
  if (io_error) ++io_errors_;
  switch (c.st) {
    case SinkConn::St::kC0:
      if (!c.any_byte && !io_error)
        ++probes_;  // a readiness probe, not a session
      else
        ++early_close_;
      break;
    case SinkConn::St::kC1:
    case SinkConn::St::kC2:
      ++early_close_;
      break;
    case SinkConn::St::kConnect:
      ++incomplete_;
      break;
    case SinkConn::St::kStream:
      --reached_open_;
      break;
  }
  ++closed_;
  close(fd);
  conns_[fd].reset();
  closing_current_ = true;
}

void Sink::consume(int fd, SinkConn& c, const uint8_t* p, size_t n) {
  c.any_byte = true;
  while (n > 0) {
    switch (c.st) {
      case SinkConn::St::kC0:
        if (p[0] != 3) {
          ++err_version_;
          return drop(fd, false);
        }
        c.hs.reset(new uint8_t[kReplySize]);
        c.hs[0] = 3;
        putBe32(&c.hs[1], static_cast<uint32_t>(nowNs() / 1'000'000));
        std::memset(&c.hs[5], 0, 4);
        rng_.fill(&c.hs[1 + kRandomOffset], kPacket - kRandomOffset);
        c.st = SinkConn::St::kC1;
        c.have = 0;
        ++p;
        --n;
        break;
      case SinkConn::St::kC1: {
        // S2 = C1 verbatim, as nginx-rtmp answers a simple handshake.
        size_t k = std::min(n, kPacket - c.have);
        std::memcpy(&c.hs[1 + kPacket + c.have], p, k);
        c.have += static_cast<uint32_t>(k);
        p += k;
        n -= k;
        if (c.have == kPacket) {
          c.st = SinkConn::St::kC2;
          c.have = 0;
          c.reply_pending = true;
          c.out_off = 0;
          flushReply(fd, c);
          if (closing_current_) return;
        }
        break;
      }
      case SinkConn::St::kC2: {
        // C2 must echo S1: time (0..3) and random (8..); time2 is not compared.
        size_t k = std::min(n, kPacket - c.have);
        for (size_t i = 0; i < k; ++i) {
          size_t off = c.have + i;
          if ((off < 4 || off >= kRandomOffset) && p[i] != c.hs[1 + off]) {
            ++err_c2_;
            return drop(fd, false);
          }
        }
        c.have += static_cast<uint32_t>(k);
        p += k;
        n -= k;
        if (c.have == kPacket) {
          ++handshakes_;
          c.st = SinkConn::St::kConnect;
          c.have = 0;
          c.prefix.reset(new uint8_t[kConnectPrefixMax]);
          if (!c.reply_pending) c.hs.reset();
        }
        break;
      }
      case SinkConn::St::kConnect: {
        size_t want = c.connect_total ? c.connect_total - c.have : 12 - c.have;
        size_t k = std::min(n, want);
        size_t keep = c.have < kConnectPrefixMax ? std::min(k, kConnectPrefixMax - c.have) : 0;
        std::memcpy(&c.prefix[c.have], p, keep);
        c.have += static_cast<uint32_t>(k);
        bytes_in_ += k;
        p += k;
        n -= k;
        if (c.connect_total == 0 && c.have == 12) {
          const uint8_t* h = c.prefix.get();
          if (h[0] != 0x03 || h[7] != 0x14 || h[8] || h[9] || h[10] || h[11]) {
            ++err_connect_;
            return drop(fd, false);
          }
          c.connect_total = static_cast<uint32_t>(connectWireLength(h));
        }
        if (c.connect_total && c.have == c.connect_total) {
          static constexpr uint8_t kCmd[] = {0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't'};
          const size_t stored = std::min<size_t>(c.have, kConnectPrefixMax);
          if (stored < 12 + sizeof(kCmd) || std::memcmp(&c.prefix[12], kCmd, sizeof(kCmd)) != 0) {
            ++err_connect_;
            return drop(fd, false);
          }
          std::string_view body(reinterpret_cast<const char*>(c.prefix.get()), stored);
          c.duplex = body.find("duplex") != std::string_view::npos;
          c.prefix.reset();
          c.st = SinkConn::St::kStream;
          ++reached_;
          ++reached_open_;
          if (c.duplex) {
            ++duplex_;
            c.out_off = 0;
            if (!c.reply_pending) setInterest(fd, c, EPOLLIN | EPOLLOUT);
          }
        }
        break;
      }
      case SinkConn::St::kStream:
        bytes_in_ += n;
        return;
    }
  }
}

void Sink::flushReply(int fd, SinkConn& c) {
  while (c.out_off < kReplySize) {
    ssize_t n = send(fd, &c.hs[c.out_off], kReplySize - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<uint32_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return setInterest(fd, c, EPOLLIN | EPOLLOUT);
    return drop(fd, true);
  }
  c.reply_pending = false;
  c.out_off = 0;
  if (c.st != SinkConn::St::kC2) c.hs.reset();
  setInterest(fd, c, (c.st == SinkConn::St::kStream && c.duplex) ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

void Sink::streamOut(int fd, SinkConn& c) {
  for (int i = 0; i < 8; ++i) {
    ssize_t n = send(fd, payload_.data() + c.out_off, payload_.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      bytes_out_ += static_cast<uint64_t>(n);
      c.out_off = static_cast<uint32_t>((c.out_off + static_cast<size_t>(n)) % payload_.size());
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    return drop(fd, true);
  }
}

void Sink::onEvent(int fd, uint32_t ev) {
  if (fd == lfd_) return acceptAll();
  if (static_cast<size_t>(fd) >= conns_.size() || !conns_[fd]) return;
  SinkConn& c = *conns_[fd];
  closing_current_ = false;
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    for (int i = 0; i < 16; ++i) {
      ssize_t n = recv(fd, scratch_.data(), scratch_.size(), 0);
      if (n > 0) {
        consume(fd, c, scratch_.data(), static_cast<size_t>(n));
        if (closing_current_) return;
        if (static_cast<size_t>(n) < scratch_.size()) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return drop(fd, n < 0);  // EOF: the peer is done; close our side too
    }
  }
  if (ev & EPOLLOUT) {
    if (c.reply_pending) {
      flushReply(fd, c);
      if (closing_current_) return;
    } else if (c.st == SinkConn::St::kStream && c.duplex) {
      streamOut(fd, c);
    }
  }
}

int Sink::run() {
  installStopHandlers();
  sockaddr_in addr = loopbackAddr(o_.listen);
  lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    die("sink: bind: %s", strerror(errno));
  }
  if (listen(lfd_, 4096) != 0) die("sink: listen: %s", strerror(errno));
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = lfd_;
  epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &e);
  scratch_.resize(256 * 1024);
  payload_.resize(o_.write_size);
  for (size_t i = 0; i < payload_.size(); ++i) payload_[i] = static_cast<uint8_t>(i * 17 + 3);
  conns_.resize(4096);
  writeStats();
  const uint64_t t_end = nowNs() + static_cast<uint64_t>(o_.max_seconds * 1e9);
  uint64_t next_stats = nowNs();
  epoll_event evs[kMaxEvents];
  while (!g_stop) {
    int n = epoll_wait(ep_, evs, kMaxEvents, 20);
    if (n < 0 && errno != EINTR) die("sink: epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; ++i) onEvent(evs[i].data.fd, evs[i].events);
    const uint64_t now = nowNs();
    if (now >= next_stats) {
      writeStats();
      next_stats = now + 50'000'000ull;
    }
    if (now >= t_end) break;
  }
  writeStats();
  std::printf("SINK accepted=%" PRIu64 " handshakes=%" PRIu64 " reached=%" PRIu64 " closed=%" PRIu64
              " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " err_version=%" PRIu64 " err_c2=%" PRIu64
              " err_connect=%" PRIu64 " early_close=%" PRIu64 " incomplete=%" PRIu64
              " io_errors=%" PRIu64 "\n",
              accepted_, handshakes_, reached_, closed_, bytes_in_, bytes_out_, err_version_,
              err_c2_, err_connect_, early_close_, incomplete_, io_errors_);
  std::fflush(stdout);
  return 0;
}

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopbackAddr("127.0.0.1:1");
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) die("bind: %s", strerror(errno));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::printf("%u\n", ntohs(a.sin_port));
  close(fd);
  return 0;
}

}  // namespace
}  // namespace rtmpgate::bench

int main(int argc, char** argv) {
  using namespace rtmpgate::bench;
  Options o = parseOptions(argc, argv);
  raiseNofile();
  if (o.mode == "freeport") return freePort();
  if (o.mode == "sink") {
    if (o.listen.empty()) die("sink needs --listen PORT");
    Sink s(o);
    return s.run();
  }
  if (o.target.empty()) die("%s needs --target PORT", o.mode.c_str());
  installStopHandlers();
  ClientDriver d(o);
  if (o.mode == "handshake") return d.runHandshake();
  if (o.mode == "throughput") return d.runThroughput();
  if (o.mode == "idle") return d.runIdle();
  die("unknown mode '%s'", o.mode.c_str());
}
