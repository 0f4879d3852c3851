#include "control/health_check.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>

#include "grpc/health/v1/health.grpc.pb.h"

namespace rtmpgate::control {

int runHealthCheck(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status st = stub->Check(&ctx, req, &resp);
  if (!st.ok()) {
    std::fprintf(stderr, "rtmpgate: health check of %s failed: %s\n", address.c_str(),
                 st.error_message().c_str());
    return 1;
  }
  if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    std::fprintf(stderr, "rtmpgate: %s is %s\n", address.c_str(),
                 grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()).c_str());
    return 1;
  }
  std::printf("SERVING\n");
  return 0;
}

}  // namespace rtmpgate::control
