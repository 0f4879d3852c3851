// Checks ReflectionClient against an in-process server set up the way the
// gateway's control server is meant to be (reflection, default health
// service, rtmpgate.v1.Control), so a failure here points at the client, not
// at the gateway.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.pb.h"
#include "rtmpgate/v1/control.grpc.pb.h"
#include "support/grpc/reflection_client.h"

namespace rtmpgate::test {
namespace {

namespace v1 = rtmpgate::v1;
using ::testing::HasSubstr;

constexpr char kToken[] = "Bearer s3cret";

class FakeControl final : public v1::Control::Service {
 public:
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                        v1::Stats* stats) override {
    stats->set_connections_accepted(42);
    return grpc::Status::OK;
  }

  grpc::Status WatchStats(grpc::ServerContext*, const v1::WatchStatsRequest*,
                          grpc::ServerWriter<v1::Stats>* writer) override {
    for (uint64_t i = 1; i <= 3; ++i) {
      v1::Stats stats;
      stats.set_connections_accepted(i);
      if (!writer->Write(stats))
        return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    return grpc::Status::OK;
  }

  // One event, then silence until the client cancels: exercises the
  // client's timeout and cancel paths on a stream that never ends by itself.
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest*,
                           grpc::ServerWriter<v1::Event>* writer) override {
    v1::Event event;
    event.set_kind("accepted");
    event.set_session_id(7);
    writer->Write(event);
    while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }

  // Stands in for an authenticated method, to see setMetadata() reach it.
  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest*,
                            v1::ListSessionsResponse* response) override {
    auto it = context->client_metadata().find("authorization");
    if (it == context->client_metadata().end() ||
        std::string(it->second.data(), it->second.size()) != kToken) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong token");
    }
    response->set_total(5);
    return grpc::Status::OK;
  }
};

// Builds and starts a server with reflection and health; port 0 picks a
// free port unless one is asked for.
std::unique_ptr<grpc::Server> startServer(FakeControl* service, int port, int* selected_port) {
  // The server must link health's generated code for reflection to describe
  // grpc.health.v1.Health, and rtmpgate_proto is a static library: without a
  // reference the linker drops health.pb.o and Health "is not found".
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  // Also keeps libgrpc++_reflection from being dropped by --as-needed.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                           selected_port);
  builder.RegisterService(service);
  auto server = builder.BuildAndStart();
  if (server) server->GetHealthCheckService()->SetServingStatus("rtmpgate.v1.Control", true);
  return server;
}

void stopServer(std::unique_ptr<grpc::Server>& server) {
  if (!server) return;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server.reset();
}

class ReflectionClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = startServer(&service_, 0, &port_);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
    client_ = std::make_unique<ReflectionClient>(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    client_.reset();
    stopServer(server_);
  }

  FakeControl service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<ReflectionClient> client_;
};

TEST_F(ReflectionClientTest, ListsServices) {
  std::vector<std::string> services;
  grpc::Status status = client_->listServices(&services);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const char* name : {"rtmpgate.v1.Control", "grpc.health.v1.Health",
                           "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), name), services.end()) << name;
  }
}

TEST_F(ReflectionClientTest, DescribesServiceMessageAndMethod) {
  std::string text;
  grpc::Status status = client_->describe("rtmpgate.v1.Control", &text);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(text, HasSubstr("is a service"));
  EXPECT_THAT(text, HasSubstr("GetStats"));
  EXPECT_THAT(text, HasSubstr("WatchStats"));

  status = client_->describe("rtmpgate.v1.Stats", &text);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(text, HasSubstr("is a message"));
  EXPECT_THAT(text, HasSubstr("connections_accepted"));

  status = client_->describe("rtmpgate.v1.Control/WatchStats", &text);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(text, HasSubstr("is a method"));
  EXPECT_THAT(text, HasSubstr("stream"));

  // Only describable because the server links health's generated code.
  status = client_->describe("grpc.health.v1.Health", &text);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(text, HasSubstr("Check"));
}

TEST_F(ReflectionClientTest, DescribeUnknownSymbolIsNotFound) {
  std::string text;
  grpc::Status status = client_->describe("rtmpgate.v1.Nope", &text);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("rtmpgate.v1.Nope"));
}

TEST_F(ReflectionClientTest, HealthCheckSaysServing) {
  std::string json;
  grpc::Status status = client_->callUnary("grpc.health.v1.Health/Check",
                                           R"({"service":"rtmpgate.v1.Control"})", &json);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(json, HasSubstr("SERVING"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("NOT_SERVING")));
}

TEST_F(ReflectionClientTest, UnaryCallPrintsProtobufJson) {
  std::string json;
  grpc::Status status = client_->callUnary("rtmpgate.v1.Control/GetStats", "{}", &json);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // uint64 is a JSON string in the protobuf mapping; zeros are printed too.
  EXPECT_THAT(json, HasSubstr(R"("connections_accepted": "42")"));
  EXPECT_THAT(json, HasSubstr(R"("sessions_closed": "0")"));
  EXPECT_THAT(json, HasSubstr(R"("backends": [])"));

  // An empty body means an empty request, as with grpcurl and no -d.
  status = client_->callUnary("rtmpgate.v1.Control/GetStats", "", &json);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(json, HasSubstr(R"("connections_accepted": "42")"));
}

TEST_F(ReflectionClientTest, ServerStreamCollectsMessages) {
  std::vector<std::string> responses;
  grpc::Status status =
      client_->callServerStream("rtmpgate.v1.Control/WatchStats", "{}", 3, 5000, &responses);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_THAT(responses[0], HasSubstr(R"("connections_accepted": "1")"));
  EXPECT_THAT(responses[2], HasSubstr(R"("connections_accepted": "3")"));

  // Asking for more than the server sends: its own final status (OK) comes back.
  status = client_->callServerStream("rtmpgate.v1.Control/WatchStats", R"({"interval_ms": 100})",
                                     10, 5000, &responses);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(responses.size(), 3u);
}

TEST_F(ReflectionClientTest, EndlessStreamIsCancelledOrTimesOut) {
  std::vector<std::string> responses;
  auto start = std::chrono::steady_clock::now();
  grpc::Status status =
      client_->callServerStream("rtmpgate.v1.Control/WatchEvents", "{}", 1, 5000, &responses);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_THAT(responses[0], HasSubstr(R"("kind": "accepted")"));
  // Cancelled as soon as the message arrived, not at the deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));

  status = client_->callServerStream("rtmpgate.v1.Control/WatchEvents", "{}", 2, 300, &responses);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_EQ(responses.size(), 1u);
}

TEST_F(ReflectionClientTest, BadJsonIsInvalidArgument) {
  std::string json;
  grpc::Status status = client_->callUnary("rtmpgate.v1.Control/GetStats", "{not json", &json);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("rtmpgate.v1.GetStatsRequest"));

  // A misspelt field fails too rather than being dropped.
  status = client_->callUnary("rtmpgate.v1.Control/ListSessions", R"({"limt": 3})", &json);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();

  std::vector<std::string> responses;
  status = client_->callServerStream("rtmpgate.v1.Control/WatchStats", R"({"interval_ms": "x"})", 1,
                                     2000, &responses);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
}

TEST_F(ReflectionClientTest, UnknownServiceOrMethodIsNotFound) {
  std::string json;
  grpc::Status status = client_->callUnary("rtmpgate.v1.Nope/GetStats", "{}", &json);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("rtmpgate.v1.Nope"));

  status = client_->callUnary("rtmpgate.v1.Control/Nope", "{}", &json);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("Nope"));

  // Known names still resolve after failed lookups.
  status = client_->callUnary("rtmpgate.v1.Control.GetStats", "{}", &json);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ReflectionClientTest, StreamingMethodIsRefusedByCallUnary) {
  std::string json;
  grpc::Status status = client_->callUnary("rtmpgate.v1.Control/WatchStats", "{}", &json);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
}

TEST_F(ReflectionClientTest, MetadataReachesTheServer) {
  std::string json;
  grpc::Status status = client_->callUnary("rtmpgate.v1.Control/ListSessions", "{}", &json);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  client_->setMetadata({{"Authorization", kToken}});  // upper case is folded
  status = client_->callUnary("rtmpgate.v1.Control/ListSessions", "{}", &json);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(json, HasSubstr(R"("total": "5")"));
}

// A watcher thread and a caller thread may share one client in a test.
TEST_F(ReflectionClientTest, OneClientServesSeveralThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (t % 2 == 0) {
          std::string json;
          if (client_->callUnary("rtmpgate.v1.Control/GetStats", "{}", &json).ok() &&
              json.find(R"("connections_accepted": "42")") != std::string::npos) {
            ++good;
          }
        } else {
          std::vector<std::string> responses;
          if (client_->callServerStream("rtmpgate.v1.Control/WatchStats", "{}", 3, 5000, &responses)
                  .ok() &&
              responses.size() == 3) {
            ++good;
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 40);
}

// Tests poll a gateway until it is up with one client, so lookups that
// failed before the server listened must not poison later ones.
TEST(ReflectionClientRecovery, WorksOnceTheServerComesUp) {
  FakeControl service;
  int port = 0;
  auto server = startServer(&service, 0, &port);
  ASSERT_NE(server, nullptr);
  stopServer(server);

  ReflectionClient client(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  std::string json;
  grpc::Status status = client.callUnary("rtmpgate.v1.Control/GetStats", "{}", &json, 1000);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();

  int again = 0;
  server = startServer(&service, port, &again);
  ASSERT_NE(server, nullptr) << "port " << port << " was taken meanwhile";
  // The channel backs off after the failed connect, so retry for a while.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    status = client.callUnary("rtmpgate.v1.Control/GetStats", "{}", &json, 1000);
    if (status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < give_up);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(json, HasSubstr(R"("connections_accepted": "42")"));
  stopServer(server);
}

}  // namespace
}  // namespace rtmpgate::test
