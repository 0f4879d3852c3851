// The digest handshake against real peers, which do the verifying: an ffmpeg
// player checks our S1 digest and S2 signature and aborts on a wrong one
// ("Server response validating failed", "Signature mismatch"); an
// nginx-rtmp `push` relay sends a digest C2 that only a digest answer lets
// through the strict check. Counters come from the control plane, as an
// operator with grpcurl would read them.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rtmpgate/v1/control.pb.h"
#include "support/grpc/reflection_client.h"
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
namespace v1 = ::rtmpgate::v1;

bool waitForLogText(const Process& p, const std::string& needle,
                    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (p.logText().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// Video lines of an ffmpeg framemd5 file (video is stream 0 here: the
// publishers send video first).
int countVideoFrames(const std::string& framemd5) {
  std::istringstream in(framemd5);
  std::string line;
  int frames = 0;
  while (std::getline(in, line)) {
    if (line.rfind("0,", 0) == 0) ++frames;
  }
  return frames;
}

class DigestPeersTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!HasFailure()) return;
    if (gateway_) gateway_->stop();
    std::cerr << "\n===== diagnostics (temp dir " << dir_.path() << ") =====\n";
    for (const auto& [label, path] : logs_) {
      std::cerr << "----- " << label << ": " << path << " -----\n" << tailOfFile(path, 30);
    }
  }

  // rtmpgate in front of origin_ (started first), with handshake.mode `mode`.
  void startGateway(const std::string& mode, const std::string& upstream_handshake = "simple") {
    if (!origin_) origin_ = std::make_unique<NginxOrigin>();
    logs_.emplace_back("origin", origin_->errorLogPath());
    logs_.emplace_back("gateway", dir_.file("gateway.log"));
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = freeTcpPort();
      control_port_ = freeTcpPort();
      std::ostringstream y;
      y << "workers: 1\nlisten:\n  - address: 127.0.0.1:" << port_ << "\n"
        << "handshake: { mode: " << mode << ", echo_check: strict, timeout: 5s }\n"
        << "upstream:\n  handshake: " << upstream_handshake << "\n  backends:\n"
        << "    - address: 127.0.0.1:" << origin_->port() << "\n"
        << "control:\n  listen: 127.0.0.1:" << control_port_ << "\n"
        << "shutdown_timeout: 2s\nlog: { level: info }\n";
      dir_.writeFile("gateway.yaml", y.str());
      gateway_ = std::make_unique<Process>(
          RTMPGATE_BIN, std::vector<std::string>{"--config", dir_.file("gateway.yaml")},
          dir_.file("gateway.log"));
      if (waitForTcpPort(port_, 10s, [this] { return gateway_->running(); }) &&
          waitForTcpPort(control_port_, 5s, [this] { return gateway_->running(); })) {
        control_ = std::make_unique<ReflectionClient>(grpc::CreateChannel(
            "127.0.0.1:" + std::to_string(control_port_), grpc::InsecureChannelCredentials()));
        return;
      }
      gateway_.reset();  // most likely a port taken since freeTcpPort(): try others
    }
    FAIL() << "gateway did not start";
  }

  v1::Stats stats() {
    std::string json;
    v1::Stats s;
    grpc::Status st = control_->callUnary("rtmpgate.v1.Control/GetStats", "{}", &json);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
    return s;
  }

  std::string url(uint16_t port, const std::string& name) const {
    return "rtmp://127.0.0.1:" + std::to_string(port) + "/live/" + name;
  }

  static std::string streamName() {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
           std::to_string(::getpid());
  }

  std::unique_ptr<Process> start(const std::string& label, const std::string& program,
                                 std::vector<std::string> args) {
    logs_.emplace_back(label, dir_.file(label + ".log"));
    auto p = std::make_unique<Process>(program, std::move(args), dir_.file(label + ".log"));
    std::cerr << "[e2e] " << label << ": " << p->commandLine() << "\n";
    return p;
  }

  std::unique_ptr<Process> publish(const std::string& target, int seconds) {
    return start("publisher", "ffmpeg",
                 {"-nostdin",
                  "-hide_banner",
                  "-re",
                  "-f",
                  "lavfi",
                  "-i",
                  "testsrc=size=320x240:rate=25",
                  "-f",
                  "lavfi",
                  "-i",
                  "sine",
                  "-t",
                  std::to_string(seconds),
                  "-c:v",
                  "libx264",
                  "-preset",
                  "ultrafast",
                  "-pix_fmt",
                  "yuv420p",
                  "-g",
                  "25",
                  "-c:a",
                  "aac",
                  "-f",
                  "flv",
                  target});
  }

  void waitUntilPublishing(Process& publisher) {
    ASSERT_TRUE(waitForLogText(publisher, "Output #0", 10s)) << "publisher never started";
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(publisher.running()) << "publisher exited early";
  }

  // Plays `source` with ffmpeg for 3 s; returns the video frames received.
  // -v debug makes ffmpeg print the S1 version it saw ("Server version").
  int playFrames(const std::string& label, const std::string& source) {
    const std::string out = dir_.file(label + ".framemd5");
    auto player = start(label, "ffmpeg",
                        {"-nostdin", "-hide_banner", "-v", "debug", "-analyzeduration", "1000000",
                         "-i", source, "-t", "3", "-f", "framemd5", "-y", out});
    auto st = player->waitExit(25s);
    EXPECT_TRUE(st) << label << " still running after 25 s";
    if (!st) return 0;
    EXPECT_TRUE(st->exitedWith(0)) << label << ": " << st->describe();
    const int frames = countVideoFrames(readFileText(out));
    std::cerr << "[e2e] " << label << " " << st->describe() << ", " << frames << " video frames\n";
    return frames;
  }

  TempDir dir_{"rtmpgate-e2e-digest"};
  std::unique_ptr<NginxOrigin> origin_;
  std::unique_ptr<Process> gateway_;
  std::unique_ptr<ReflectionClient> control_;
  uint16_t port_ = 0;
  uint16_t control_port_ = 0;
  std::vector<std::pair<std::string, std::string>> logs_;
};

// (a) and (b): ffmpeg publishes and plays through rtmpgate in mode auto.
// Both send a digest C1, so both get a digest answer; the publisher echoes
// S1, the player validates S1 and S2 and sends a digest C2.
TEST_F(DigestPeersTest, FfmpegPublishesAndPlaysWithDigestAnswersInAutoMode) {
  ASSERT_NO_FATAL_FAILURE(startGateway("auto"));
  const std::string name = streamName();
  auto publisher = publish(url(port_, name), 8);
  ASSERT_NO_FATAL_FAILURE(waitUntilPublishing(*publisher));

  EXPECT_GE(playFrames("player", url(port_, name)), 25);
  const std::string player_log = readFileText(dir_.file("player.log"));
  EXPECT_NE(player_log.find("Server version 4.5.0.1"), std::string::npos)
      << "ffmpeg saw S1[4] >= 3, so it validated our digest and signature";
  EXPECT_EQ(player_log.find("Server response validating failed"), std::string::npos);
  EXPECT_EQ(player_log.find("Signature mismatch"), std::string::npos);

  auto published = publisher->waitExit(20s);
  ASSERT_TRUE(published) << "publisher still running";
  EXPECT_TRUE(published->exitedWith(0)) << "publisher: " << published->describe();

  v1::Stats s = stats();
  EXPECT_EQ(s.handshakes_digest(), 2u) << "publisher and player";
  EXPECT_EQ(s.handshakes_simple(), 0u);
  EXPECT_EQ(s.handshakes_failed_digest_invalid(), 0u);
  EXPECT_EQ(s.handshakes_failed_echo_mismatch(), 0u);
}

// (c): an nginx-rtmp relay pushes into rtmpgate. Its C2 is never an echo:
// it signs C2 when S1 has a digest and sends plain random otherwise.
TEST_F(DigestPeersTest, NginxPushRelayPassesTheStrictCheckInAutoMode) {
  ASSERT_NO_FATAL_FAILURE(startGateway("auto"));
  NginxOrigin pusher("push rtmp://127.0.0.1:" + std::to_string(port_) + "/live;");
  logs_.emplace_back("pusher nginx", pusher.errorLogPath());
  const std::string name = streamName();
  auto publisher = publish(url(pusher.port(), name), 8);
  ASSERT_NO_FATAL_FAILURE(waitUntilPublishing(*publisher));

  // Played from the origin behind rtmpgate: the relayed stream got there.
  EXPECT_GE(playFrames("player", url(origin_->port(), name)), 25);
  v1::Stats s = stats();
  EXPECT_GE(s.handshakes_digest(), 1u) << "the relay's push connection";
  EXPECT_EQ(s.handshakes_failed_digest_invalid(), 0u);
  EXPECT_EQ(s.handshakes_failed_echo_mismatch(), 0u);
  auto published = publisher->waitExit(20s);
  ASSERT_TRUE(published);
  EXPECT_TRUE(published->exitedWith(0)) << published->describe();
}

// The control for (c): answered simply, the relay's random C2 fails the
// strict echo check, so the test above would catch a gateway that never
// answers with a digest.
TEST_F(DigestPeersTest, NginxPushRelayFailsTheEchoCheckInSimpleMode) {
  ASSERT_NO_FATAL_FAILURE(startGateway("simple"));
  NginxOrigin pusher("push rtmp://127.0.0.1:" + std::to_string(port_) + "/live;");
  logs_.emplace_back("pusher nginx", pusher.errorLogPath());
  auto publisher = publish(url(pusher.port(), streamName()), 4);
  ASSERT_NO_FATAL_FAILURE(waitUntilPublishing(*publisher));
  const auto deadline = Clock::now() + 5s;
  while (stats().handshakes_failed_echo_mismatch() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  v1::Stats s = stats();
  EXPECT_GE(s.handshakes_failed_echo_mismatch(), 1u);
  EXPECT_EQ(s.handshakes_completed(), 0u);
  EXPECT_EQ(s.handshakes_digest(), 0u);
}

// (d): rtmpdump speaks the simple handshake and still plays in mode auto.
TEST_F(DigestPeersTest, RtmpdumpStillPlaysInAutoMode) {
  ASSERT_NO_FATAL_FAILURE(startGateway("auto"));
  const std::string name = streamName();
  auto publisher = publish(url(origin_->port(), name), 8);  // straight to the origin
  ASSERT_NO_FATAL_FAILURE(waitUntilPublishing(*publisher));
  const std::string out = dir_.file("play.flv");
  auto player = start("rtmpdump", "rtmpdump", {"-r", url(port_, name), "-v", "-m", "3", "-o", out});
  auto played = player->waitExit(30s);
  ASSERT_TRUE(played) << "rtmpdump still running after 30 s";
  // 2 is "Download may be incomplete": what a live stream ending looks like.
  EXPECT_TRUE(played->exitedWith(0) || played->exitedWith(2)) << played->describe();
  const std::string flv = readFileText(out);
  EXPECT_EQ(flv.substr(0, 3), "FLV");
  EXPECT_GE(flv.size(), 20u * 1024);
  v1::Stats s = stats();
  EXPECT_EQ(s.handshakes_simple(), 1u);
  EXPECT_EQ(s.handshakes_digest(), 0u);
}

// (e): mode digest refuses rtmpdump (simple C1) and counts it, while ffmpeg
// (digest C1) publishes; upstream.handshake: digest toward nginx-rtmp, which
// answers a digest C1 with a digest S1, so the gateway signs its C2.
TEST_F(DigestPeersTest, ModeDigestRefusesRtmpdumpAndServesFfmpeg) {
  ASSERT_NO_FATAL_FAILURE(startGateway("digest", "digest"));
  const std::string name = streamName();
  auto publisher = publish(url(port_, name), 6);
  ASSERT_NO_FATAL_FAILURE(waitUntilPublishing(*publisher));

  auto player = start("rtmpdump", "rtmpdump",
                      {"-r", url(port_, name), "-v", "-m", "3", "-o", dir_.file("play.flv")});
  auto played = player->waitExit(30s);
  ASSERT_TRUE(played) << "rtmpdump still running after 30 s";
  EXPECT_FALSE(played->exitedWith(0)) << "rtmpdump got through mode digest";
  EXPECT_EQ(readFileText(dir_.file("play.flv")).size(), 0u);

  v1::Stats s = stats();
  EXPECT_GE(s.handshakes_failed_digest_invalid(), 1u);
  EXPECT_EQ(s.handshakes_simple(), 0u);
  EXPECT_EQ(s.handshakes_digest(), 1u) << "the ffmpeg publisher";
  EXPECT_EQ(s.upstream_handshake_failures(), 0u);

  // The publisher's stream reached nginx through a digest backend handshake.
  EXPECT_GE(playFrames("origin-player", url(origin_->port(), name)), 25);
  auto published = publisher->waitExit(20s);
  ASSERT_TRUE(published);
  EXPECT_TRUE(published->exitedWith(0)) << published->describe();
}

}  // namespace
}  // namespace rtmpgate::test
