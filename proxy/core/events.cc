#include "proxy/core/events.h"

#include <algorithm>
#include <chrono>

namespace rtmpgate::proxy {

std::string_view eventKindName(SessionEvent::Kind k) {
  switch (k) {
    case SessionEvent::Kind::kAccepted:
      return "accepted";
    case SessionEvent::Kind::kRejected:
      return "rejected";
    case SessionEvent::Kind::kUpstreamFailure:
      return "upstream_failure";
    case SessionEvent::Kind::kClosed:
      return "closed";
  }
  return "?";
}

uint64_t unixTimeMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void EventBus::publish(const SessionEvent& e) {
  std::lock_guard lock(mu_);
  for (EventSubscriber* s : subs_) s->onEvent(e);
}

void EventBus::subscribe(EventSubscriber* s) {
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  count_.store(subs_.size(), std::memory_order_relaxed);
}

void EventBus::unsubscribe(EventSubscriber* s) {
  std::lock_guard lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
  count_.store(subs_.size(), std::memory_order_relaxed);
}

}  // namespace rtmpgate::proxy
