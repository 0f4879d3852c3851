// 10,000 half-open connections against the shipped binary: every one is
// closed at the handshake deadline and counted, and a real publisher still
// gets through to nginx-rtmp while they hang.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <chrono>
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

TEST(HostileE2E, TenThousandHalfOpenConnectionsAreTimedOutAndCounted) {
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 12000 && rl.rlim_max >= 12000) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  ASSERT_GE(rl.rlim_cur, 12000u) << "needs 12000 file descriptors";
  NginxOrigin origin;
  TempDir dir("hostile");
  uint16_t port = freeTcpPort();
  uint16_t ctl = freeTcpPort();
  std::ofstream(dir.file("gw.yaml"))
      << "workers: 2\nlisten:\n  - address: 127.0.0.1:" << port
      << "\nhandshake: {timeout: 2s}\nlimits: {max_connections: 20000, max_connections_per_ip: 0}"
      << "\nupstream:\n  backends:\n    - address: 127.0.0.1:" << origin.port()
      << "\ncontrol:\n  listen: 127.0.0.1:" << ctl << "\nlog: {level: warn}\nshutdown_timeout: 2s\n";
  Process gw(RTMPGATE_BIN, {"--config", dir.file("gw.yaml")}, dir.file("gw.log"));
  ASSERT_TRUE(waitForTcpPort(ctl, 5s, [&] { return gw.running(); })) << gw.logTail();
  std::vector<UniqueFd> idle;
  idle.reserve(10000);
  for (int i = 0; i < 10000; ++i) {
    UniqueFd fd = connectTcp(port, 2s);
    ASSERT_TRUE(fd.valid()) << "connect " << i << " failed: " << strerror(errno);
    idle.push_back(std::move(fd));
  }
  // A real publisher meanwhile.
  Process publisher("ffmpeg",
                    {"-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                     "testsrc=size=160x120:rate=25", "-t", "1", "-c:v", "libx264", "-preset",
                     "ultrafast", "-f", "flv",
                     "rtmp://127.0.0.1:" + std::to_string(port) + "/live/hostile"},
                    dir.file("publisher.log"));
  auto pub = publisher.waitExit(20s);
  ASSERT_TRUE(pub.has_value());
  EXPECT_TRUE(pub->exitedWith(0)) << readFileText(dir.file("publisher.log"));

  ReflectionClient client(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(ctl), grpc::InsecureChannelCredentials()));
  rtmpgate::v1::Stats s;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string json;
    if (client.callUnary("rtmpgate.v1.Control/GetStats", "{}", &json).ok()) {
      s.Clear();
      google::protobuf::util::JsonStringToMessage(json, &s);
      if (s.handshakes_failed_timeout() >= 10000 && s.connections_open() == 0) break;
    }
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(s.handshakes_failed_timeout(), 10000u);
  EXPECT_EQ(s.connections_open(), 0u);
  EXPECT_EQ(s.handshakes_completed(), 1u);
  EXPECT_TRUE(gw.running());
  // Every idle client sees its connection closed.
  char c;
  size_t closed = 0;
  for (auto& fd : idle) {
    if (::recv(fd.get(), &c, 1, MSG_DONTWAIT) == 0) ++closed;
  }
  EXPECT_EQ(closed, idle.size());
}

}  // namespace
}  // namespace rtmpgate::test
