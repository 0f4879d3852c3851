#include "proxy/core/worker.h"

#include <unistd.h>

#include <cstdlib>

#include "proxy/core/log.h"
#include "proxy/core/runtime.h"
#include "proxy/module/registry.h"
#include "proxy/session/session.h"

namespace rtmpgate::proxy {

struct Worker::Listener {
  uv_tcp_t tcp;
  Worker* worker;
};

Worker::Worker(Runtime& runtime, unsigned index)
    : runtime_(runtime), index_(index), scratch_(new uint8_t[kScratchSize]) {
  if (uv_loop_init(&loop_) != 0) std::abort();
  uv_async_init(&loop_, &inbox_async_, [](uv_async_t* a) {
    auto* w = static_cast<Worker*>(a->data);
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(w->inbox_mu_);
      batch.swap(w->inbox_);
    }
    for (auto& fn : batch) fn();
  });
  inbox_async_.data = this;
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  for (const ModuleDef* def : allModules()) {
    modules_.push_back(def->create(*this));
    modules_.back()->setIndex(modules_.size() - 1);
  }
}

Worker::~Worker() {
  join();
  for (int fd : pending_fds_) ::close(fd);
}

void Worker::start(std::vector<int> listen_fds, std::shared_ptr<const LivePolicy> policy) {
  pending_fds_ = std::move(listen_fds);
  policy_ = std::move(policy);
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  for (int fd : pending_fds_) {
    auto l = std::make_unique<Listener>();
    l->worker = this;
    uv_tcp_init(&loop_, &l->tcp);
    l->tcp.data = l.get();
    int rc = uv_tcp_open(&l->tcp, fd);
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), 4096,
                     [](uv_stream_t* s, int status) {
                       auto* l = static_cast<Listener*>(s->data);
                       l->worker->onConnection(*l, status);
                     });
    }
    if (rc != 0) logError("worker %u: listen failed: %s", index_, uv_strerror(rc));
    listeners_.push_back(std::move(l));
  }
  pending_fds_.clear();
  // Returns once maybeFinish() has closed the last handles.
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  loop_close_rc_ = rc;
  if (rc != 0) logError("worker %u: loop closed with live handles (%s)", index_, uv_strerror(rc));
}

bool Worker::post(std::function<void()> fn) {
  std::lock_guard lock(inbox_mu_);
  if (loop_ended_ || !thread_.joinable()) return false;
  inbox_.push_back(std::move(fn));
  uv_async_send(&inbox_async_);
  return true;
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::onConnection(Listener& l, int status) {
  if (status != 0) {
    logWarn("worker %u: accept error: %s", index_, uv_strerror(status));
    return;
  }
  Session* s = Session::create(*this, policy_, runtime_.nextSessionId());
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&l.tcp),
                reinterpret_cast<uv_stream_t*>(s->clientHandle())) != 0) {
    s->close(CloseReason::kClientError);
    return;
  }
  s->start();
}

void Worker::addSession(Session* s) {
  s->next = sessions_;
  if (sessions_) sessions_->prev = s;
  sessions_ = s;
  ++session_count_;
}

void Worker::removeSession(Session* s) {
  if (s->prev) s->prev->next = s->next;
  if (s->next) s->next->prev = s->prev;
  if (sessions_ == s) sessions_ = s->next;
  s->prev = s->next = nullptr;
  --session_count_;
  if (draining_) maybeFinish();
}

void Worker::forEachSession(const std::function<void(Session&)>& fn) {
  for (Session* s = sessions_; s;) {
    Session* next = s->next;  // fn may close s
    fn(*s);
    s = next;
  }
}

void Worker::drain(uint64_t grace_ms) {
  post([this, grace_ms] { drainOnLoop(grace_ms); });
}

void Worker::drainOnLoop(uint64_t grace_ms) {
  if (draining_) return;
  draining_ = true;
  for (auto& l : listeners_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&l->tcp), nullptr);
  }
  uv_timer_start(&drain_timer_, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->closeAll(); },
                 grace_ms, 0);
  maybeFinish();
}

void Worker::closeAll() {
  forEachSession([](Session& s) { s.close(CloseReason::kShutdown); });
}

void Worker::maybeFinish() {
  if (finished_ || session_count_ != 0) return;
  finished_ = true;
  {
    // From here post() drops work: the async handle is about to go.
    std::lock_guard lock(inbox_mu_);
    loop_ended_ = true;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&inbox_async_), nullptr);
}

}  // namespace rtmpgate::proxy
