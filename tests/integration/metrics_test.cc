// GET /metrics scraped over HTTP during a scenario, checked against GetStats.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <thread>

#include "control/server.h"
#include "proxy/core/metrics_server.h"
#include "rtmpgate/v1/control.pb.h"
#include "support/grpc/reflection_client.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/rtmp_peers.h"

namespace rtmpgate::test {
namespace {

// A MetricsServer on its own loop thread, as main runs it on the main loop.
class MetricsThread {
 public:
  explicit MetricsThread(proxy::Runtime& rt) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &stop_, [](uv_async_t* a) {
      auto* self = static_cast<MetricsThread*>(a->data);
      self->server_->stop();
      uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
    });
    stop_.data = this;
    server_ = std::make_unique<proxy::MetricsServer>(&loop_, rt);
    std::string err, why;
    EXPECT_TRUE(server_->start(*proxy::parseSocketAddress("127.0.0.1:0", &why), &err)) << err;
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }
  ~MetricsThread() {
    uv_async_send(&stop_);
    thread_.join();
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "metrics server leaked a handle";
  }
  uint16_t port() const { return server_->port(); }

 private:
  uv_loop_t loop_;
  uv_async_t stop_;
  std::unique_ptr<proxy::MetricsServer> server_;
  std::thread thread_;
};

std::string httpGet(uint16_t port, const std::string& path) {
  Conn c = Conn::connectTo("127.0.0.1", port);
  c.sendAll("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
  Bytes all;
  c.recvUntilEof(&all, 3000);
  return all;
}

// "name{labels}" -> value, from the exposition text.
std::map<std::string, double> parseMetrics(const std::string& body) {
  std::map<std::string, double> m;
  std::istringstream in(body.substr(body.find("\r\n\r\n") + 4));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return m;
}

TEST(Metrics, ScrapeMatchesGetStatsDuringAScenario) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  control::ControlServer ctl(gw.runtime());
  proxy::ControlConfig cc;
  cc.listen = "127.0.0.1:0";
  std::string err;
  ASSERT_TRUE(ctl.start(cc, &err)) << err;
  MetricsThread metrics(gw.runtime());

  Conn good = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(good, "abcd").ok);
  Bytes b;
  ASSERT_TRUE(good.recvExact(4, &b));
  Conn tls = Conn::connectTo("127.0.0.1", gw.port());
  tls.sendAll("\x16\x03");
  ASSERT_TRUE(tls.waitClosed(2000));
  ASSERT_TRUE(eventually([&] { return gw.stat(proxy::Stat::handshakes_failed_bad_version) == 1; }));

  std::string body = httpGet(metrics.port(), "/metrics");
  ASSERT_EQ(body.rfind("HTTP/1.1 200 OK", 0), 0u) << body.substr(0, 200);
  EXPECT_NE(body.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  auto m = parseMetrics(body);

  ReflectionClient client(grpc::CreateChannel("127.0.0.1:" + std::to_string(ctl.port()),
                                              grpc::InsecureChannelCredentials()));
  std::string json;
  ASSERT_TRUE(client.callUnary("rtmpgate.v1.Control/GetStats", "{}", &json).ok());
  v1::Stats s;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok());

  EXPECT_EQ(m["rtmpgate_connections_accepted_total"], s.connections_accepted());
  EXPECT_EQ(m["rtmpgate_handshakes_completed_total"], s.handshakes_completed());
  EXPECT_EQ(m["rtmpgate_handshakes_failed_total{reason=\"bad_version\"}"],
            s.handshakes_failed_bad_version());
  EXPECT_EQ(m["rtmpgate_handshakes_failed_total{reason=\"echo_mismatch\"}"], 0);
  EXPECT_EQ(m["rtmpgate_connections_denied_total{reason=\"access\"}"], 0);
  EXPECT_EQ(m["rtmpgate_bytes_client_to_backend_total"], s.bytes_client_to_backend());
  EXPECT_EQ(m["rtmpgate_sessions_active"], s.sessions_active());
  EXPECT_EQ(m["rtmpgate_sessions_active"], 1);
  EXPECT_EQ(m["rtmpgate_handshake_duration_seconds_count"], s.handshakes_completed());
  EXPECT_EQ(m["rtmpgate_handshake_duration_seconds_bucket{le=\"+Inf\"}"], 1);
  EXPECT_GT(m["rtmpgate_handshake_duration_seconds_sum"], 0);
  const std::string backend = "{backend=\"127.0.0.1:" + std::to_string(origin.port()) + "\"}";
  EXPECT_EQ(m["rtmpgate_backend_active_sessions" + backend], 1);
  EXPECT_EQ(m["rtmpgate_backend_sessions_total" + backend], s.backends(0).sessions_total());
  EXPECT_EQ(m["rtmpgate_backend_up" + backend], 1);
  EXPECT_EQ(m["rtmpgate_policy_revision"], s.policy_revision());

  // Every counter and gauge of GetStats has a metric of the same name.
  const auto* desc = v1::Stats::descriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    if (f->type() != google::protobuf::FieldDescriptor::TYPE_UINT64) continue;
    std::string name = f->name();
    if (name.rfind("handshake_p", 0) == 0 || name == "events_dropped") continue;  // derived
    bool found = false;
    for (const auto& [k, v] : m) {
      std::string bare = k.substr(0, k.find('{'));
      if (bare == "rtmpgate_" + name || bare == "rtmpgate_" + name + "_total" ||
          (bare.size() > 15 && ("rtmpgate_" + name).rfind(bare.substr(0, bare.size() - 6), 0) == 0 &&
           bare.substr(bare.size() - 6) == "_total")) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no metric for GetStats field " << name;
  }
  EXPECT_EQ(httpGet(metrics.port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  ctl.shutdown();
}

}  // namespace
}  // namespace rtmpgate::test
