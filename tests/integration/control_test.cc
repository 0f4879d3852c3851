// The control plane over real gRPC, driven the way grpcurl drives it: every
// call goes through server reflection and JSON, with no generated client code.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "control/server.h"
#include "control/state_file.h"
#include "rtmpgate/v1/control.pb.h"
#include "support/grpc/reflection_client.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/rtmp_peers.h"

namespace rtmpgate::test {
namespace {

namespace v1 = ::rtmpgate::v1;
using proxy::Stat;

template <typename Msg>
Msg fromJson(const std::string& json) {
  Msg m;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &m).ok()) << json;
  return m;
}

class ControlPlane {
 public:
  ControlPlane(Gateway& gw, proxy::ControlConfig config = {}) : server_(gw.runtime()) {
    config.listen = "127.0.0.1:0";
    std::string err;
    EXPECT_TRUE(server_.start(config, &err)) << err;
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_.port()),
                                   grpc::InsecureChannelCredentials());
    client_ = std::make_unique<ReflectionClient>(channel_);
  }
  ~ControlPlane() { server_.shutdown(); }

  ReflectionClient& client() { return *client_; }
  control::ControlServer& server() { return server_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  template <typename Resp>
  Resp call(const std::string& method, const std::string& json = "{}") {
    std::string out;
    grpc::Status st = client_->callUnary("rtmpgate.v1.Control/" + method, json, &out);
    EXPECT_TRUE(st.ok()) << method << ": " << st.error_message();
    return fromJson<Resp>(out);
  }

 private:
  control::ControlServer server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ReflectionClient> client_;
};

TEST(Control, ReflectionListsDescribesAndCallsBothServices) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  std::vector<std::string> services;
  ASSERT_TRUE(cp.client().listServices(&services).ok());
  EXPECT_NE(std::find(services.begin(), services.end(), "rtmpgate.v1.Control"), services.end());
  EXPECT_NE(std::find(services.begin(), services.end(), "grpc.health.v1.Health"), services.end());
  std::string d;
  ASSERT_TRUE(cp.client().describe("rtmpgate.v1.Control", &d).ok());
  for (const char* rpc : {"GetStats", "WatchStats", "ListSessions", "CloseSession", "GetPolicy",
                          "UpdatePolicy", "WatchEvents"}) {
    EXPECT_NE(d.find(rpc), std::string::npos) << rpc;
  }
  ASSERT_TRUE(cp.client().describe("grpc.health.v1.Health", &d).ok()) << d;
  std::string out;
  ASSERT_TRUE(cp.client()
                  .callUnary("grpc.health.v1.Health/Check", R"({"service":"rtmpgate.v1.Control"})",
                             &out)
                  .ok());
  EXPECT_NE(out.find("\"SERVING\""), std::string::npos) << out;
}

TEST(Control, HealthSaysNotServingWhileDraining) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  cp.server().setDraining();
  std::string out;
  ASSERT_TRUE(cp.client().callUnary("grpc.health.v1.Health/Check", "{}", &out).ok());
  EXPECT_NE(out.find("NOT_SERVING"), std::string::npos) << out;
}

TEST(Control, GetStatsCountsGoodAndBadHandshakes) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  Conn good = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(good, "hi").ok);
  Bytes back;
  ASSERT_TRUE(good.recvExact(2, &back));
  Conn tls = Conn::connectTo("127.0.0.1", gw.port());
  tls.sendAll("\x16\x03\x01");
  EXPECT_TRUE(tls.waitClosed(2000));
  Conn liar = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(liar, "", true).ok);
  EXPECT_TRUE(liar.waitClosed(2000));
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::handshakes_failed_echo_mismatch) == 1; }));

  auto s = cp.call<v1::Stats>("GetStats");
  EXPECT_EQ(s.connections_accepted(), 3u);
  EXPECT_EQ(s.handshakes_completed(), 1u);
  EXPECT_EQ(s.handshakes_simple(), 1u);
  EXPECT_EQ(s.handshakes_failed_bad_version(), 1u);
  EXPECT_EQ(s.handshakes_failed_echo_mismatch(), 1u);
  EXPECT_EQ(s.sessions_active(), 1u);
  EXPECT_EQ(s.bytes_client_to_backend(), 2u);
  EXPECT_EQ(s.policy_revision(), 1u);
  EXPECT_GT(s.handshake_p99_us(), 0u);
  ASSERT_EQ(s.backends_size(), 1);
  EXPECT_EQ(s.backends(0).state(), "up");
  EXPECT_EQ(s.backends(0).active_sessions(), 1);
  EXPECT_EQ(s.backends(0).sessions_total(), 1u);
}

TEST(Control, ListSessionsAndCloseSession) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2});
  ControlPlane cp(gw);
  std::vector<Conn> conns;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(Conn::connectTo("127.0.0.1", gw.port()));
    ASSERT_TRUE(clientHandshake(conns.back(), "x").ok);
    Bytes b;
    ASSERT_TRUE(conns.back().recvExact(1, &b));
  }
  auto list = cp.call<v1::ListSessionsResponse>("ListSessions");
  ASSERT_EQ(list.total(), 3u);
  ASSERT_EQ(list.sessions_size(), 3);
  for (const auto& s : list.sessions()) {
    EXPECT_EQ(s.state(), "forward");
    EXPECT_EQ(s.bytes_client_to_backend(), 1u);
    EXPECT_EQ(s.backend(), "127.0.0.1:" + std::to_string(origin.port()));
  }
  auto limited = cp.call<v1::ListSessionsResponse>("ListSessions", R"({"limit": 1})");
  EXPECT_EQ(limited.sessions_size(), 1);
  EXPECT_EQ(limited.total(), 3u);

  uint64_t victim = list.sessions(0).id();
  auto closed = cp.call<v1::CloseSessionResponse>("CloseSession",
                                                  R"({"id": ")" + std::to_string(victim) + "\"}");
  EXPECT_TRUE(closed.closed());
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 2; }));
  auto none = cp.call<v1::CloseSessionResponse>("CloseSession", R"({"id": "999999"})");
  EXPECT_FALSE(none.closed());
}

TEST(Control, ListSessionsWithAThousandOpenAnswersQuickly) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}, .workers = 2, .limits = "{max_connections_per_ip: 0}"});
  ControlPlane cp(gw);
  std::vector<Conn> conns;
  for (int i = 0; i < 1000; ++i) conns.push_back(Conn::connectTo("127.0.0.1", gw.port()));
  ASSERT_TRUE(eventually([&] { return gw.stat(Stat::connections_open) == 1000; }, 10000));
  auto start = std::chrono::steady_clock::now();
  auto list = cp.call<v1::ListSessionsResponse>("ListSessions");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  EXPECT_EQ(list.sessions_size(), 1000);
  // Generous: this is a liveness check, the benchmark measures latency.
  EXPECT_LT(ms, 2000);
}

TEST(Control, DenyRuleViaUpdatePolicyRefusesNewClientsWhileOpenSessionsFlow) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  Conn old_session = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(old_session, "a").ok);
  Bytes back;
  ASSERT_TRUE(old_session.recvExact(1, &back));

  auto p = cp.call<v1::Policy>("UpdatePolicy",
                               R"({"policy": {"access": {"deny": ["127.0.0.0/8"]}},
                                   "expected_revision": "1"})");
  EXPECT_EQ(p.revision(), 2u);
  ASSERT_EQ(p.access().deny_size(), 1);
  EXPECT_EQ(p.upstream().backends_size(), 1) << "untouched sections must be kept";

  ASSERT_TRUE(eventually([&] {
    Conn n = Conn::connectTo("127.0.0.1", gw.port());
    return n.waitClosed(500);
  }));
  ASSERT_TRUE(old_session.sendAll("still flowing"));
  EXPECT_TRUE(old_session.recvExact(13, &back));
  EXPECT_EQ(back, "still flowing");
  EXPECT_EQ(cp.call<v1::Policy>("GetPolicy").revision(), 2u);
}

TEST(Control, InvalidAndStaleUpdatesChangeNothing) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  std::string out;
  grpc::Status st = cp.client().callUnary(
      "rtmpgate.v1.Control/UpdatePolicy",
      R"({"policy": {"access": {"deny": ["10.0.0.0/8"]}, "handshake": {"timeout": "soon"}}})",
      &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("handshake.timeout"), std::string::npos)
      << st.error_message();
  st = cp.client().callUnary("rtmpgate.v1.Control/UpdatePolicy",
                             R"({"policy": {"limits": {"max_connections": 5}},
                                 "expected_revision": "7"})",
                             &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto p = cp.call<v1::Policy>("GetPolicy");
  EXPECT_EQ(p.revision(), 1u);
  EXPECT_EQ(p.access().deny_size(), 0);
  EXPECT_EQ(p.limits().max_connections(), 10000u);
}

TEST(Control, WatchStatsStreamsSnapshots) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  std::vector<std::string> msgs;
  grpc::Status st = cp.client().callServerStream("rtmpgate.v1.Control/WatchStats",
                                                 R"({"interval_ms": 100})", 3, 3000, &msgs);
  EXPECT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_LT(fromJson<v1::Stats>(msgs[0]).uptime_seconds(),
            fromJson<v1::Stats>(msgs[2]).uptime_seconds());
  st = cp.client().callServerStream("rtmpgate.v1.Control/WatchStats", R"({"interval_ms": 5})", 1,
                                    1000, &msgs);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(Control, WatchEventsReportsRejectionsAndSessions) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  std::vector<std::string> events;
  grpc::Status st;
  std::thread watcher([&] {
    st = cp.client().callServerStream("rtmpgate.v1.Control/WatchEvents", "{}", 3, 5000, &events);
  });
  ASSERT_TRUE(eventually([&] { return gw.runtime().events().active(); }));
  {
    Conn tls = Conn::connectTo("127.0.0.1", gw.port());
    tls.sendAll("\x16\x03\x01");
    EXPECT_TRUE(tls.waitClosed(2000));
  }
  {
    Conn good = Conn::connectTo("127.0.0.1", gw.port());
    ASSERT_TRUE(clientHandshake(good, "abc").ok);
    Bytes b;
    ASSERT_TRUE(good.recvExact(3, &b));
  }
  watcher.join();
  std::string got;
  for (const auto& e : events) got += e + "\n";
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << got;
  ASSERT_EQ(events.size(), 3u);
  auto rejected = fromJson<v1::Event>(events[0]);
  EXPECT_EQ(rejected.kind(), "rejected");
  EXPECT_EQ(rejected.reason(), "bad_version");
  EXPECT_EQ(rejected.detail(), "tls_client_hello");
  EXPECT_EQ(fromJson<v1::Event>(events[1]).kind(), "accepted");
  auto closed = fromJson<v1::Event>(events[2]);
  EXPECT_EQ(closed.kind(), "closed");
  EXPECT_EQ(closed.bytes_client_to_backend(), 3u);
  EXPECT_EQ(closed.backend(), "127.0.0.1:" + std::to_string(origin.port()));
  EXPECT_TRUE(eventually([&] { return !gw.runtime().events().active(); }))
      << "a finished stream must unsubscribe";
}

TEST(Control, StuckEventSubscriberDoesNotStallForwarding) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  ControlPlane cp(gw);
  // A subscriber that sends its request and then never reads: with a small
  // receive window, HTTP/2 flow control soon stops the server's writes to it.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  grpc::GenericStub stub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(cp.server().port()), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  grpc::Slice empty_slice("");
  grpc::ByteBuffer empty_request(&empty_slice, 1);  // an empty WatchEventsRequest
  auto stream = stub.PrepareCall(&ctx, "/rtmpgate.v1.Control/WatchEvents", &cq);
  stream->StartCall(reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  stream->Write(empty_request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  stream->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  ASSERT_TRUE(eventually([&] { return gw.runtime().events().active(); }));

  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3000; ++i) {
    Conn c = Conn::connectTo("127.0.0.1", gw.port());
    c.sendAll("\x16");
    c.waitClosed(1000);
  }
  Conn good = Conn::connectTo("127.0.0.1", gw.port());
  ASSERT_TRUE(clientHandshake(good, "ok").ok);
  Bytes b;
  EXPECT_TRUE(good.recvExact(2, &b)) << "forwarding stalled behind a stuck subscriber";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  auto s = cp.call<v1::Stats>("GetStats");
  EXPECT_GT(s.events_dropped(), 0u) << "3000 events cannot all fit in one stuck stream";
  ctx.TryCancel();
  while (cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + std::chrono::seconds(1)) ==
         grpc::CompletionQueue::GOT_EVENT) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(Control, TokenAuthGuardsEveryControlRpcButNotHealth) {
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  Gateway gw({.backends = {origin.port()}});
  char path[] = "/tmp/rtmpgate-token-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "s3cret\n", 7), 7);
  close(fd);
  proxy::ControlConfig cfg;
  cfg.auth_token_file = path;
  ControlPlane cp(gw, cfg);
  std::string out;
  grpc::Status st = cp.client().callUnary("rtmpgate.v1.Control/GetStats", "{}", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(cp.client().callUnary("grpc.health.v1.Health/Check", "{}", &out).ok());
  cp.client().setMetadata({{"authorization", "Bearer wrong"}});
  EXPECT_EQ(cp.client().callUnary("rtmpgate.v1.Control/GetStats", "{}", &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  cp.client().setMetadata({{"authorization", "Bearer s3cret"}});
  EXPECT_TRUE(cp.client().callUnary("rtmpgate.v1.Control/GetStats", "{}", &out).ok());
  unlink(path);
}

TEST(Control, StateFileKeepsAnUpdateAcrossARestart) {
  char dir[] = "/tmp/rtmpgate-state-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string state = std::string(dir) + "/policy.json";
  FakeOrigin origin(FakeOrigin::Mode::kEcho);
  {
    Gateway gw({.backends = {origin.port()}});
    proxy::ControlConfig cfg;
    cfg.state_file = state;
    ControlPlane cp(gw, cfg);
    cp.call<v1::Policy>("UpdatePolicy",
                        R"({"policy": {"limits": {"max_connections": 77}}})");
  }
  // A restart: the config file says otherwise, the state file wins.
  auto r = proxy::loadConfigString(gatewayYaml({.backends = {origin.port()}}), "t.yaml");
  ASSERT_TRUE(r.config);
  r.config->control.state_file = state;
  bool applied = false;
  std::string err;
  ASSERT_TRUE(control::applyStateFile(*r.config, &applied, &err)) << err;
  EXPECT_TRUE(applied);
  EXPECT_EQ(r.config->policy.limits.max_connections, 77u);
  std::ofstream(state) << "{not json";
  EXPECT_FALSE(control::applyStateFile(*r.config, &applied, &err));
  EXPECT_NE(err.find(state), std::string::npos) << err;
  std::remove(state.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace rtmpgate::test
