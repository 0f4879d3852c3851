// The running gateway: workers, the live policy and what all workers share.
// main() and the integration tests drive it the same way:
//   Runtime rt(config); rt.start(&err); ... rt.drain(); rt.wait();
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/core/limiter.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/live_policy.h"

namespace rtmpgate::proxy {

class Worker;

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
  std::shared_ptr<const LivePolicy> policy() const;

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
  bool started_ = false;
};

}  // namespace rtmpgate::proxy
