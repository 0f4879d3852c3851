// The shipped binary's control plane, as an operator meets it: reflection
// and health answer (the plain build is where Debian's --as-needed would
// drop reflection), counters move while ffmpeg publishes through nginx-rtmp,
// and SIGTERM turns health NOT_SERVING while the live session drains.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include "rtmpgate/v1/control.pb.h"
#include "support/grpc/reflection_client.h"
#include "support/net.h"
#include "support/nginx_origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace rtmpgate::test {
namespace {

using namespace std::chrono_literals;
namespace v1 = ::rtmpgate::v1;

template <typename Msg>
Msg fromJson(const std::string& json) {
  Msg m;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &m).ok()) << json;
  return m;
}

bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

TEST(ControlE2E, ReflectionStatsAndDrainOnTheRealBinary) {
  NginxOrigin origin;
  TempDir dir("control-e2e");
  uint16_t port = freeTcpPort();
  uint16_t ctl = freeTcpPort();
  std::ofstream(dir.file("gw.yaml"))
      << "workers: 2\nlisten:\n  - address: 127.0.0.1:" << port
      << "\nupstream:\n  backends:\n    - address: 127.0.0.1:" << origin.port()
      << "\ncontrol:\n  listen: 127.0.0.1:" << ctl << "\nshutdown_timeout: 20s\n";
  Process gw(RTMPGATE_BIN, {"--config", dir.file("gw.yaml")}, dir.file("gw.log"));
  ASSERT_TRUE(waitForTcpPort(ctl, 5s, [&] { return gw.running(); })) << gw.logTail();

  ReflectionClient client(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(ctl), grpc::InsecureChannelCredentials()));
  std::vector<std::string> services;
  ASSERT_TRUE(client.listServices(&services).ok());
  EXPECT_NE(std::find(services.begin(), services.end(), "rtmpgate.v1.Control"), services.end());
  std::string out;
  ASSERT_TRUE(client.callUnary("grpc.health.v1.Health/Check", "{}", &out).ok());
  EXPECT_NE(out.find("\"SERVING\""), std::string::npos) << out;

  Process publisher("ffmpeg",
                    {"-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                     "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine", "-t", "6",
                     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
                     "-c:a", "aac", "-f", "flv",
                     "rtmp://127.0.0.1:" + std::to_string(port) + "/live/ctl"},
                    dir.file("publisher.log"));
  auto stats = [&] {
    std::string json;
    EXPECT_TRUE(client.callUnary("rtmpgate.v1.Control/GetStats", "{}", &json).ok());
    return fromJson<v1::Stats>(json);
  };
  ASSERT_TRUE(waitUntil([&] { return stats().bytes_client_to_backend() > 20000; }, 5s))
      << gw.logTail() << readFileText(dir.file("publisher.log"));
  v1::Stats s = stats();
  EXPECT_EQ(s.handshakes_completed(), 1u);
  EXPECT_EQ(s.sessions_active(), 1u);
  ASSERT_EQ(s.backends_size(), 1);
  EXPECT_EQ(s.backends(0).state(), "up");
  ASSERT_TRUE(client.callUnary("rtmpgate.v1.Control/ListSessions", "{}", &out).ok());
  auto list = fromJson<v1::ListSessionsResponse>(out);
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_EQ(list.sessions(0).state(), "forward");

  // Drain: health flips, new clients are refused, the publisher keeps going.
  ASSERT_TRUE(gw.signal(SIGTERM));
  EXPECT_TRUE(waitUntil(
      [&] {
        std::string h;
        return client.callUnary("grpc.health.v1.Health/Check", "{}", &h).ok() &&
               h.find("NOT_SERVING") != std::string::npos;
      },
      2s));
  EXPECT_TRUE(waitUntil([&] { return !connectTcp(port, 200ms).valid(); }, 2s))
      << "still accepting while draining";
  uint64_t before = stats().bytes_client_to_backend();
  std::this_thread::sleep_for(700ms);
  EXPECT_GT(stats().bytes_client_to_backend(), before) << "the live session stopped flowing";

  auto pub = publisher.waitExit(15s);
  ASSERT_TRUE(pub.has_value());
  EXPECT_TRUE(pub->exitedWith(0)) << readFileText(dir.file("publisher.log"));
  // The last session ended by itself, well before shutdown_timeout: exit 0.
  auto st = gw.waitExit(5s);
  ASSERT_TRUE(st.has_value()) << "gateway did not exit once drained\n" << gw.logTail();
  EXPECT_TRUE(st->exitedWith(0)) << st->describe();
}

}  // namespace
}  // namespace rtmpgate::test
