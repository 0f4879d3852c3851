// Session events for live subscribers (the control plane's WatchEvents).
//
// Publishing costs one relaxed load when nobody listens. With subscribers,
// the worker hands each event to every subscriber under a short mutex; a
// subscriber must only queue it (bounded) and return, never block, so a slow
// watcher can only lose its own events, not slow a worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace rtmpgate::proxy {

struct SessionEvent {
  enum class Kind : uint8_t { kAccepted, kRejected, kUpstreamFailure, kClosed };
  Kind kind = Kind::kClosed;
  uint64_t time_ms = 0;  // Unix time
  uint64_t session_id = 0;
  std::string client{};
  std::string backend{};
  std::string reason{};
  std::string detail{};
  uint64_t bytes_client_to_backend = 0;
  uint64_t bytes_backend_to_client = 0;
  uint64_t duration_ms = 0;
};

std::string_view eventKindName(SessionEvent::Kind k);
uint64_t unixTimeMs();

class EventSubscriber {
 public:
  virtual ~EventSubscriber() = default;
  // Called on worker threads; must not block.
  virtual void onEvent(const SessionEvent& e) = 0;
};

class EventBus {
 public:
  bool active() const { return count_.load(std::memory_order_relaxed) > 0; }
  void publish(const SessionEvent& e);
  void subscribe(EventSubscriber* s);
  // After this returns, s is never called again.
  void unsubscribe(EventSubscriber* s);

 private:
  std::mutex mu_;
  std::vector<EventSubscriber*> subs_;
  std::atomic<size_t> count_{0};
};

}  // namespace rtmpgate::proxy
