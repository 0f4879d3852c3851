// The running gateway: workers, the live policy and what all workers share.
// main() and the integration tests drive it the same way:
//   Runtime rt(config); rt.start(&err); ... rt.drain(); rt.wait();
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/core/events.h"
#include "proxy/core/limiter.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/live_policy.h"

namespace rtmpgate::proxy {

class Worker;

// One open connection, as ListSessions shows it.
struct SessionInfo {
  uint64_t id = 0;
  std::string client;
  std::string backend;
  std::string state;
  uint64_t bytes_to_backend = 0;
  uint64_t bytes_to_client = 0;
  uint64_t age_ms = 0;
  unsigned worker = 0;
};

class Runtime {
 public:
  explicit Runtime(Config config);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Binds every listener (one SO_REUSEPORT socket per worker and address)
  // and starts the workers. On failure nothing is left running.
  bool start(std::string* error);
  // Stops accepting at once; sessions get shutdown_timeout to end.
  void drain();
  // Blocks until every worker's loop has ended.
  void wait();

  // Swaps the policy for new sessions; returns the new revision.
  uint64_t setPolicy(const Policy& policy);
  // As setPolicy, but only while the live revision is still `expected`
  // (0 = any). False, and nothing changes, when it is not.
  bool setPolicyIf(const Policy& policy, uint64_t expected, uint64_t* revision);
  std::shared_ptr<const LivePolicy> policy() const;

  // Asks every worker for its sessions; `done` runs once, on the thread of
  // the last worker to answer (or at once when no worker runs).
  void listSessions(size_t limit,
                    std::function<void(std::vector<SessionInfo> sessions, uint64_t total)> done);
  // Closes the session with this id wherever it lives; done(found).
  void closeSession(uint64_t id, std::function<void(bool found)> done);

  EventBus& events() { return events_; }
  double uptimeSeconds() const;
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  StatsSnapshot stats() const;
  // Actual ports of the listeners, in config order (port 0 resolved).
  const std::vector<uint16_t>& ports() const { return ports_; }
  const Config& config() const { return config_; }
  unsigned workerCount() const { return static_cast<unsigned>(workers_.size()); }
  Worker& worker(unsigned i) { return *workers_[i]; }

  ConnectionLimiter& limiter() { return limiter_; }
  uint64_t nextSessionId() { return next_session_id_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::shared_ptr<const LivePolicy> buildLivePolicy(const Policy& policy, uint64_t revision);
  bool bindAll(std::vector<std::vector<int>>* fds, std::string* error);

  Config config_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint16_t> ports_;
  mutable std::mutex policy_mu_;
  std::shared_ptr<const LivePolicy> policy_;
  std::map<std::string, std::shared_ptr<BackendStats>> backend_stats_;  // under policy_mu_
  ConnectionLimiter limiter_;
  std::atomic<uint64_t> next_session_id_{1};
  EventBus events_;
  uint64_t started_ns_;
  std::atomic<bool> draining_{false};
  bool started_ = false;
};

}  // namespace rtmpgate::proxy
