// One event-loop thread: its listeners (one SO_REUSEPORT socket per listen
// address), its sessions, its stats cell and its module instances. Sessions
// never leave the worker that accepted them. Other threads talk to a worker
// only through post(), which runs a function on the worker's loop.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "proxy/core/block_pool.h"
#include "proxy/module/module.h"
#include "proxy/rtmp/random.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/live_policy.h"

namespace rtmpgate::proxy {

class Runtime;
class Session;

class Worker {
 public:
  Worker(Runtime& runtime, unsigned index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Takes ownership of bound, not yet listening, sockets; starts the thread.
  void start(std::vector<int> listen_fds, std::shared_ptr<const LivePolicy> policy);
  // Thread-safe: runs fn on the loop thread. Returns false (and drops fn)
  // once the loop has ended or before it started.
  bool post(std::function<void()> fn);
  // Stops accepting; lets sessions end by themselves for up to `grace_ms`,
  // then closes the rest. The loop ends when nothing is left.
  void drain(uint64_t grace_ms);
  void join();
  // After join(): what uv_loop_close() returned (0 = no handle leaked).
  int loopCloseResult() const { return loop_close_rc_; }

  // ----- loop thread only -----
  uv_loop_t* loop() { return &loop_; }
  Runtime& runtime() { return runtime_; }
  unsigned index() const { return index_; }
  WorkerStats& stats() { return stats_; }
  rtmp::FastRandom& random() { return random_; }
  BlockPool& pool() { return pool_; }
  std::span<const std::unique_ptr<Module>> modules() const { return modules_; }
  // Read buffer for phases that consume bytes inside the read callback.
  std::span<uint8_t> scratch() { return {scratch_.get(), kScratchSize}; }
  uint32_t nowMs() const { return static_cast<uint32_t>(uv_now(&loop_)); }
  uint64_t sessionCount() const { return session_count_; }
  void forEachSession(const std::function<void(Session&)>& fn);

  void addSession(Session* s);
  void removeSession(Session* s);

  // Readable from any thread.
  const WorkerStats& statsView() const { return stats_; }

 private:
  static constexpr size_t kScratchSize = 64 * 1024;
  struct Listener;

  void run();
  void setPolicy(std::shared_ptr<const LivePolicy> p) { policy_ = std::move(p); }
  void onConnection(Listener& l, int status);
  void drainOnLoop(uint64_t grace_ms);
  void maybeFinish();
  void closeAll();

  Runtime& runtime_;
  unsigned index_;
  uv_loop_t loop_;
  uv_async_t inbox_async_;
  uv_timer_t drain_timer_;
  std::mutex inbox_mu_;
  std::vector<std::function<void()>> inbox_;
  bool loop_ended_ = false;  // under inbox_mu_
  std::thread thread_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<int> pending_fds_;
  std::shared_ptr<const LivePolicy> policy_;
  std::vector<std::unique_ptr<Module>> modules_;
  WorkerStats stats_;
  rtmp::FastRandom random_;
  BlockPool pool_;
  std::unique_ptr<uint8_t[]> scratch_;
  Session* sessions_ = nullptr;
  uint64_t session_count_ = 0;
  uint64_t next_id_ = 1;
  bool draining_ = false;
  bool finished_ = false;
  int loop_close_rc_ = 0;

  friend class Runtime;
};

}  // namespace rtmpgate::proxy
