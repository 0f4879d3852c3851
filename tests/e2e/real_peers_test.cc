// End-to-end tests with real peers: nginx-rtmp as the origin, ffmpeg and
// rtmpdump as clients, the rtmpgate binary in between.
//
// Environment:
//   E2E_DIRECT=1       skip the gateway and point the clients straight at the
//                      origin. Checks the harness and the peers on their own,
//                      and tells a gateway bug from a peer or machine problem.
//                      Gateway-only tests are skipped.
//   E2E_RTMPGATE_BIN   run this binary instead of the one built with the tests.
//   E2E_KEEP=1         keep the temp dirs (configs, logs, recordings).

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/net.h"
#include "support/nginx_origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

#ifndef RTMPGATE_BIN
#error "RTMPGATE_BIN must be defined as the path of the rtmpgate binary"
#endif

namespace rtmpgate::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kShutdownTimeout = 2s;
constexpr int kGatewayStartAttempts = 3;

bool envIs(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}

bool directMode() { return envIs("E2E_DIRECT", "1"); }

std::string gatewayBinary() {
  const char* over = std::getenv("E2E_RTMPGATE_BIN");
  return over != nullptr && *over != '\0' ? over : RTMPGATE_BIN;
}

std::string gatewayConfig(uint16_t gatewayPort, uint16_t originPort, uint16_t controlPort) {
  std::ostringstream y;
  y << "workers: 1\n"
    << "listen:\n"
    << "  - address: 127.0.0.1:" << gatewayPort << "\n"
    << "handshake: { versions: [3], echo_check: strict, timeout: 5s }\n"
    << "upstream:\n"
    << "  connect_timeout: 2s\n"
    << "  max_tries: 2\n"
    << "  backends:\n"
    << "    - address: 127.0.0.1:" << originPort << "\n"
    << "control:\n"
    << "  listen: 127.0.0.1:" << controlPort << "\n"
    << "shutdown_timeout: " << std::chrono::duration_cast<std::chrono::seconds>(kShutdownTimeout).count() << "s\n"
    << "log: { level: info }\n";
  return y.str();
}

// Video lines of an ffmpeg framemd5 file. The video stream index is taken
// from the "#media_type N: video" header when present, else assumed 0.
int countVideoFrames(const std::string& framemd5) {
  std::istringstream in(framemd5);
  std::string line;
  std::string videoPrefix = "0,";
  std::vector<std::string> lines;
  while (std::getline(in, line)) {
    const std::string tag = "#media_type ";
    auto video = line.find(": video");
    if (line.compare(0, tag.size(), tag) == 0 && video != std::string::npos) {
      videoPrefix = line.substr(tag.size(), video - tag.size()) + ",";
    }
    lines.push_back(line);
  }
  int frames = 0;
  for (const auto& l : lines) {
    auto first = l.find_first_not_of(" \t");
    if (first != std::string::npos && l.compare(first, videoPrefix.size(), videoPrefix) == 0) ++frames;
  }
  return frames;
}

bool waitForLogText(const Process& p, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (p.logText().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string hexPrefix(const char* data, size_t n) {
  std::ostringstream s;
  static const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < n && i < 32; ++i) s << digits[(data[i] >> 4) & 0xf] << digits[data[i] & 0xf] << ' ';
  return s.str();
}

class RealPeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin_ = std::make_unique<NginxOrigin>();
    noteLog("nginx error log", origin_->errorLogPath());
    noteLog("nginx console", origin_->consoleLogPath());
    if (directMode()) return;
    noteLog("gateway", dir_.file("gateway.log"));
    for (int attempt = 0; attempt < kGatewayStartAttempts; ++attempt) {
      if (startGateway()) return;
    }
    FAIL() << "gateway did not start; see its log below";
  }

  void TearDown() override {
    if (!HasFailure()) return;
    // Stop the gateway first so its log has its last word.
    if (gateway_) gateway_->stop();
    std::cerr << "\n===== diagnostics for " << ::testing::UnitTest::GetInstance()->current_test_info()->name()
              << " (temp dir " << dir_.path();
    if (origin_) std::cerr << ", origin prefix " << origin_->prefix();
    std::cerr << "; E2E_KEEP=1 keeps them) =====\n";
    for (const auto& [label, path] : logs_) {
      std::cerr << "----- " << label << ": " << path << " -----\n" << tailOfFile(path, 40);
    }
    std::cerr << "===== end of diagnostics =====\n";
  }

  bool startGateway() {
    gatewayPort_ = freeTcpPort();
    controlPort_ = freeTcpPort();
    dir_.writeFile("gateway.yaml", gatewayConfig(gatewayPort_, origin_->port(), controlPort_));
    gateway_ = std::make_unique<Process>(gatewayBinary(), std::vector<std::string>{"--config", dir_.file("gateway.yaml")},
                                         dir_.file("gateway.log"));
    if (waitForTcpPort(gatewayPort_, 10s, [this] { return gateway_->running(); })) return true;
    // An early exit may be a port taken since freeTcpPort(); try fresh ports.
    std::cerr << "gateway did not open port " << gatewayPort_ << " ("
              << (gateway_->running() ? std::string("still running") : gateway_->waitExit({})->describe())
              << "):\n"
              << gateway_->logTail(20);
    gateway_.reset();
    return false;
  }

  uint16_t clientPort() const { return directMode() ? origin_->port() : gatewayPort_; }

  std::string streamUrl(const std::string& name) const {
    return "rtmp://127.0.0.1:" + std::to_string(clientPort()) + "/live/" + name;
  }

  // Unique per test and per run, so parallel runs against one origin (and
  // leftovers from a killed run) cannot cross streams.
  static std::string uniqueStreamName() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(info->name()) + "-" + std::to_string(::getpid());
  }

  void noteLog(const std::string& label, const std::string& path) { logs_.emplace_back(label, path); }

  std::unique_ptr<Process> startProcess(const std::string& label, const std::string& program,
                                        std::vector<std::string> args) {
    const std::string log = dir_.file(label + ".log");
    noteLog(label, log);
    auto p = std::make_unique<Process>(program, std::move(args), log);
    std::cerr << "[e2e] " << label << " (pid " << p->pid() << "): " << p->commandLine() << "\n";
    return p;
  }

  std::unique_ptr<Process> startPublisher(const std::string& name, int seconds) {
    return startProcess("publisher", "ffmpeg",
                        {"-nostdin", "-hide_banner", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f",
                         "lavfi", "-i", "sine", "-t", std::to_string(seconds), "-c:v", "libx264", "-preset",
                         "ultrafast", "-pix_fmt", "yuv420p", "-g", "25", "-c:a", "aac", "-f", "flv", streamUrl(name)});
  }

  // ffmpeg prints its "Output #0" header once the RTMP publish is under way;
  // players started before that would find no stream. The extra second lets
  // the first keyframe reach the origin.
  void waitUntilPublishing(Process& publisher) {
    ASSERT_TRUE(waitForLogText(publisher, "Output #0", 10s))
        << "publisher never started sending (" << (publisher.running() ? "still running" : "exited") << ")";
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(publisher.running()) << "publisher exited early: " << publisher.waitExit({})->describe();
  }

  TempDir dir_{"rtmpgate-e2e"};
  std::unique_ptr<NginxOrigin> origin_;
  std::unique_ptr<Process> gateway_;
  uint16_t gatewayPort_ = 0;
  uint16_t controlPort_ = 0;
  std::vector<std::pair<std::string, std::string>> logs_;
};

TEST_F(RealPeersTest, FfmpegPublishAndPlayThroughGateway) {
  const std::string name = uniqueStreamName();
  auto publisher = startPublisher(name, 8);
  ASSERT_NO_FATAL_FAILURE(waitUntilPublishing(*publisher));

  const std::string out = dir_.file("play.framemd5");
  auto player = startProcess("player", "ffmpeg",
                             {"-nostdin", "-hide_banner", "-analyzeduration", "1000000", "-i", streamUrl(name), "-t",
                              "3", "-f", "framemd5", "-y", out});
  auto played = player->waitExit(25s);
  ASSERT_TRUE(played) << "player still running after 25 s";
  EXPECT_TRUE(played->exitedWith(0)) << "player: " << played->describe();
  const int frames = countVideoFrames(readFileText(out));
  std::cerr << "[e2e] player " << played->describe() << ", " << frames << " video frames\n";
  EXPECT_GE(frames, 25) << "video frames in " << out;

  auto published = publisher->waitExit(20s);
  ASSERT_TRUE(published) << "publisher still running 20 s after playing";
  EXPECT_TRUE(published->exitedWith(0)) << "publisher: " << published->describe();
}

TEST_F(RealPeersTest, RtmpdumpPlaysThroughGateway) {
  const std::string name = uniqueStreamName();
  auto publisher = startPublisher(name, 8);
  ASSERT_NO_FATAL_FAILURE(waitUntilPublishing(*publisher));

  const std::string out = dir_.file("play.flv");
  auto player = startProcess("rtmpdump", "rtmpdump", {"-r", streamUrl(name), "-v", "-m", "3", "-o", out});
  auto played = player->waitExit(30s);
  ASSERT_TRUE(played) << "rtmpdump still running after 30 s";
  // 2 is "Download may be incomplete": what a live stream ending looks like.
  EXPECT_TRUE(played->exitedWith(0) || played->exitedWith(2)) << "rtmpdump: " << played->describe();
  const std::string flv = readFileText(out);
  std::cerr << "[e2e] rtmpdump " << played->describe() << ", " << flv.size() << " bytes\n";
  EXPECT_EQ(flv.substr(0, 3), "FLV") << out << " is not an FLV file";
  EXPECT_GE(flv.size(), 20u * 1024) << "bytes in " << out;

  auto published = publisher->waitExit(20s);
  ASSERT_TRUE(published) << "publisher still running";
  EXPECT_TRUE(published->exitedWith(0)) << "publisher: " << published->describe();
}

TEST_F(RealPeersTest, HttpToRtmpPortIsRefused) {
  if (directMode()) GTEST_SKIP() << "gateway behaviour; E2E_DIRECT=1 has no gateway";
  auto fd = connectTcp(gatewayPort_, 2s, 2s);
  ASSERT_TRUE(fd) << "connect: " << std::strerror(errno);
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()))
      << std::strerror(errno);

  const auto start = Clock::now();
  char buf[256];
  ssize_t n;
  do {
    n = ::recv(fd.get(), buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);

  ASSERT_LE(n, 0) << "gateway answered HTTP with " << n << " bytes: " << hexPrefix(buf, static_cast<size_t>(n));
  // A reset is also a close with nothing sent: Linux answers close() with RST
  // instead of FIN when the request was still unread in the socket.
  if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
    FAIL() << "gateway kept the connection open for 2 s after an HTTP request (recv timed out)";
  }
  if (n < 0) {
    ASSERT_EQ(err, ECONNRESET) << "recv: " << std::strerror(err);
  }
  std::cerr << "[e2e] gateway closed with " << (n == 0 ? "FIN" : "RST") << " after " << took.count() << " ms\n";
  EXPECT_LE(took, 2s);
  EXPECT_TRUE(gateway_->running()) << "gateway died after an HTTP request";
}

TEST_F(RealPeersTest, GatewayStopsCleanlyOnSigterm) {
  if (directMode()) GTEST_SKIP() << "gateway behaviour; E2E_DIRECT=1 has no gateway";
  ASSERT_TRUE(gateway_->signal(SIGTERM));
  auto st = gateway_->waitExit(kShutdownTimeout + 2s);
  ASSERT_TRUE(st) << "gateway still running " << (kShutdownTimeout + 2s).count() << " s after SIGTERM";
  EXPECT_TRUE(st->exitedWith(0)) << "gateway: " << st->describe();
}

// A client stuck mid-handshake (handshake timeout 5 s) must not hold the
// shutdown past shutdown_timeout (2 s).
TEST_F(RealPeersTest, GatewayStopsWithinShutdownTimeoutDespiteStalledHandshake) {
  if (directMode()) GTEST_SKIP() << "gateway behaviour; E2E_DIRECT=1 has no gateway";
  auto fd = connectTcp(gatewayPort_, 2s, 6s);
  ASSERT_TRUE(fd) << "connect: " << std::strerror(errno);
  const std::string partial(1 + 700, '\x03');  // C0 and part of C1
  ASSERT_EQ(::send(fd.get(), partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
  std::this_thread::sleep_for(200ms);

  ASSERT_TRUE(gateway_->signal(SIGTERM));
  auto st = gateway_->waitExit(kShutdownTimeout + 2s);
  ASSERT_TRUE(st) << "gateway still running " << (kShutdownTimeout + 2s).count()
                  << " s after SIGTERM with a stalled handshake open";
  EXPECT_TRUE(st->exitedWith(0)) << "gateway: " << st->describe();
}

}  // namespace
}  // namespace rtmpgate::test
