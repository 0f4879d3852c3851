#include "control/service.h"

#include <grpcpp/alarm.h>
#include <openssl/crypto.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "control/convert.h"
#include "proxy/core/events.h"
#include "proxy/core/log.h"

namespace rtmpgate::control {

namespace v1 = ::rtmpgate::v1;
using namespace ::rtmpgate::proxy;  // log macros

namespace {

template <typename Msg>
grpc::ServerWriteReactor<Msg>* refusedStream(const grpc::Status& st) {
  struct Refused : grpc::ServerWriteReactor<Msg> {
    explicit Refused(const grpc::Status& st) { this->Finish(st); }
    void OnDone() override { delete this; }
  };
  return new Refused(st);
}

// WatchStats: a snapshot now, then one every interval until cancelled.
class StatsStream final : public grpc::ServerWriteReactor<v1::Stats> {
 public:
  StatsStream(ControlService& service, proxy::Runtime& runtime, uint32_t interval_ms)
      : service_(service), runtime_(runtime), interval_(interval_ms) {
    writeSnapshot();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    if (!ok || cancelled_) return finishLocked(grpc::Status::CANCELLED);
    // The alarm whose callback led here may still be on its way out of that
    // callback: keep it alive one more round instead of destroying it now.
    old_alarm_ = std::move(alarm_);
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(interval_),
                [this](bool fired) {
                  if (fired) {
                    writeSnapshot();
                  } else {
                    std::lock_guard lock(mu_);
                    finishLocked(grpc::Status::CANCELLED);
                  }
                });
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (alarm_) alarm_->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  void writeSnapshot() {
    msg_ = statsToProto(runtime_);
    msg_.set_events_dropped(service_.eventsDropped());
    StartWrite(&msg_);
  }

  void finishLocked(const grpc::Status& st) {
    if (finished_) return;
    finished_ = true;
    Finish(st);
  }

  ControlService& service_;
  proxy::Runtime& runtime_;
  uint32_t interval_;
  std::mutex mu_;
  std::unique_ptr<grpc::Alarm> alarm_;
  std::unique_ptr<grpc::Alarm> old_alarm_;
  bool cancelled_ = false;
  bool finished_ = false;
  v1::Stats msg_;
};

// WatchEvents: workers push into a bounded queue; one write is in flight at
// a time. A subscriber that falls kMaxQueued events behind loses the newest
// ones (counted) rather than holding memory or a worker.
class EventStream final : public grpc::ServerWriteReactor<v1::Event>,
                          public proxy::EventSubscriber {
 public:
  static constexpr size_t kMaxQueued = 1024;

  EventStream(proxy::EventBus& bus, std::atomic<uint64_t>& dropped)
      : bus_(bus), dropped_(dropped) {
    bus_.subscribe(this);
  }

  void onEvent(const proxy::SessionEvent& e) override {
    std::lock_guard lock(mu_);
    if (done_ || cancelled_) return;
    if (queue_.size() >= kMaxQueued) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(eventToProto(e));
    if (!writing_) writeNextLocked();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    // A cancel can land while a write is in flight and that write can still
    // succeed: finish here then, or nobody would (and Shutdown would wait).
    if (!ok || cancelled_) return finishLocked(grpc::Status::CANCELLED);
    queue_.pop_front();
    if (!queue_.empty()) writeNextLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (!writing_) finishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    bus_.unsubscribe(this);
    delete this;
  }

 private:
  void writeNextLocked() {
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void finishLocked(const grpc::Status& st) {
    if (done_) return;
    done_ = true;
    Finish(st);
  }

  proxy::EventBus& bus_;
  std::atomic<uint64_t>& dropped_;
  std::mutex mu_;
  std::deque<v1::Event> queue_;  // front() is being written while writing_
  bool writing_ = false;
  bool cancelled_ = false;
  bool done_ = false;
};

}  // namespace

ControlService::ControlService(proxy::Runtime& runtime, ServiceOptions options)
    : runtime_(runtime), options_(std::move(options)) {}

grpc::Status ControlService::authorize(grpc::CallbackServerContext* ctx) const {
  if (options_.auth_token.empty()) return grpc::Status::OK;
  const std::string want = "Bearer " + options_.auth_token;
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it != md.end() && it->second.size() == want.size() &&
      CRYPTO_memcmp(it->second.data(), want.data(), want.size()) == 0) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "this control plane needs 'authorization: Bearer <token>'");
}

bool ControlService::refused(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* r) const {
  grpc::Status st = authorize(ctx);
  if (st.ok()) return false;
  r->Finish(st);
  return true;
}

grpc::ServerUnaryReactor* ControlService::GetStats(grpc::CallbackServerContext* ctx,
                                                   const v1::GetStatsRequest*,
                                                   v1::Stats* resp) {
  auto* r = ctx->DefaultReactor();
  if (refused(ctx, r)) return r;
  *resp = statsToProto(runtime_);
  resp->set_events_dropped(eventsDropped());
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerWriteReactor<v1::Stats>* ControlService::WatchStats(
    grpc::CallbackServerContext* ctx, const v1::WatchStatsRequest* req) {
  if (auto st = authorize(ctx); !st.ok()) return refusedStream<v1::Stats>(st);
  uint32_t interval = req->interval_ms() == 0 ? 1000 : req->interval_ms();
  if (interval < 100) {
    return refusedStream<v1::Stats>(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "interval_ms must be at least 100"));
  }
  return new StatsStream(*this, runtime_, interval);
}

grpc::ServerUnaryReactor* ControlService::ListSessions(grpc::CallbackServerContext* ctx,
                                                       const v1::ListSessionsRequest* req,
                                                       v1::ListSessionsResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (refused(ctx, r)) return r;
  runtime_.listSessions(req->limit(),
                        [r, resp](std::vector<proxy::SessionInfo> sessions, uint64_t total) {
                          for (const auto& i : sessions) {
                            auto* s = resp->add_sessions();
                            s->set_id(i.id);
                            s->set_client(i.client);
                            s->set_backend(i.backend);
                            s->set_state(i.state);
                            s->set_bytes_client_to_backend(i.bytes_to_backend);
                            s->set_bytes_backend_to_client(i.bytes_to_client);
                            s->set_age_ms(i.age_ms);
                            s->set_worker(i.worker);
                          }
                          resp->set_total(total);
                          r->Finish(grpc::Status::OK);
                        });
  return r;
}

grpc::ServerUnaryReactor* ControlService::CloseSession(grpc::CallbackServerContext* ctx,
                                                       const v1::CloseSessionRequest* req,
                                                       v1::CloseSessionResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (refused(ctx, r)) return r;
  runtime_.closeSession(req->id(), [r, resp](bool found) {
    resp->set_closed(found);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* ControlService::GetPolicy(grpc::CallbackServerContext* ctx,
                                                    const v1::GetPolicyRequest*,
                                                    v1::Policy* resp) {
  auto* r = ctx->DefaultReactor();
  if (refused(ctx, r)) return r;
  auto lp = runtime_.policy();
  *resp = policyToProto(lp->policy, lp->revision);
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerUnaryReactor* ControlService::UpdatePolicy(grpc::CallbackServerContext* ctx,
                                                       const v1::UpdatePolicyRequest* req,
                                                       v1::Policy* resp) {
  auto* r = ctx->DefaultReactor();
  if (refused(ctx, r)) return r;
  auto current = runtime_.policy();
  std::string error;
  auto next = policyFromProto(req->policy(), current->policy, &error);
  if (!next) {
    r->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error));
    return r;
  }
  uint64_t revision = 0;
  if (!runtime_.setPolicyIf(*next, req->expected_revision(), &revision)) {
    r->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                           "expected_revision " + std::to_string(req->expected_revision()) +
                               " is stale: the live revision is " + std::to_string(revision)));
    return r;
  }
  *resp = policyToProto(*next, revision);
  logInfo("UpdatePolicy from %s applied (revision %llu)", ctx->peer().c_str(),
                 static_cast<unsigned long long>(revision));
  if (options_.on_policy_applied) options_.on_policy_applied(*resp);
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerWriteReactor<v1::Event>* ControlService::WatchEvents(
    grpc::CallbackServerContext* ctx, const v1::WatchEventsRequest*) {
  if (auto st = authorize(ctx); !st.ok()) return refusedStream<v1::Event>(st);
  return new EventStream(runtime_.events(), events_dropped_);
}

}  // namespace rtmpgate::control
