// The rtmpgate.v1.Control service on gRPC's callback API. Handlers never
// block: reads are relaxed loads, session queries are posted to the workers
// that own the sessions and finish from there, streams are reactors that
// delete themselves in OnDone.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "proxy/core/runtime.h"
#include "rtmpgate/v1/control.grpc.pb.h"

namespace rtmpgate::control {

struct ServiceOptions {
  std::string auth_token;  // empty: no authentication
  // Called after an accepted UpdatePolicy (e.g. to persist it).
  std::function<void(const rtmpgate::v1::Policy&)> on_policy_applied;
};

class ControlService final : public rtmpgate::v1::Control::CallbackService {
 public:
  ControlService(proxy::Runtime& runtime, ServiceOptions options);

  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const rtmpgate::v1::GetStatsRequest* req,
                                     rtmpgate::v1::Stats* resp) override;
  grpc::ServerWriteReactor<rtmpgate::v1::Stats>* WatchStats(
      grpc::CallbackServerContext* ctx, const rtmpgate::v1::WatchStatsRequest* req) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* ctx,
                                         const rtmpgate::v1::ListSessionsRequest* req,
                                         rtmpgate::v1::ListSessionsResponse* resp) override;
  grpc::ServerUnaryReactor* CloseSession(grpc::CallbackServerContext* ctx,
                                         const rtmpgate::v1::CloseSessionRequest* req,
                                         rtmpgate::v1::CloseSessionResponse* resp) override;
  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* ctx,
                                      const rtmpgate::v1::GetPolicyRequest* req,
                                      rtmpgate::v1::Policy* resp) override;
  grpc::ServerUnaryReactor* UpdatePolicy(grpc::CallbackServerContext* ctx,
                                         const rtmpgate::v1::UpdatePolicyRequest* req,
                                         rtmpgate::v1::Policy* resp) override;
  grpc::ServerWriteReactor<rtmpgate::v1::Event>* WatchEvents(
      grpc::CallbackServerContext* ctx, const rtmpgate::v1::WatchEventsRequest* req) override;

  // Events dropped for slow WatchEvents subscribers, over all of them.
  uint64_t eventsDropped() const { return events_dropped_.load(std::memory_order_relaxed); }

 private:
  // UNAUTHENTICATED unless the call carries "authorization: Bearer <token>".
  grpc::Status authorize(grpc::CallbackServerContext* ctx) const;
  // Finishes r with that status and returns true when the call is refused.
  bool refused(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* r) const;

  proxy::Runtime& runtime_;
  ServiceOptions options_;
  std::atomic<uint64_t> events_dropped_{0};
};

}  // namespace rtmpgate::control
