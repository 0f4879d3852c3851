// An in-process gateway on port 0 for integration tests: real worker loops,
// real sockets. The destructor drains it and checks that every loop closed
// with no handle left open.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/config/loader.h"
#include "proxy/core/runtime.h"
#include "proxy/core/worker.h"
#include "proxy/session/session.h"

namespace rtmpgate::test {

struct GatewayOptions {
  std::vector<uint16_t> backends;
  std::string listen = "127.0.0.1:0";
  unsigned workers = 1;
  std::string handshake = "{}";
  std::string limits = "{}";
  std::string access = "{}";
  std::string upstream_extra{};  // e.g. "connect_timeout: 300ms\n  max_tries: 2"
  std::string shutdown_timeout = "2s";
};

inline std::string gatewayYaml(const GatewayOptions& o) {
  std::string y = "workers: " + std::to_string(o.workers) + "\nlisten:\n  - address: \"" +
                  o.listen + "\"\nhandshake: " + o.handshake + "\nlimits: " + o.limits +
                  "\naccess: " + o.access + "\nshutdown_timeout: " + o.shutdown_timeout +
                  "\nlog: {level: warn}\nupstream:\n";
  if (!o.upstream_extra.empty()) y += "  " + o.upstream_extra + "\n";
  y += "  backends:\n";
  for (uint16_t p : o.backends) y += "    - address: 127.0.0.1:" + std::to_string(p) + "\n";
  return y;
}

class Gateway {
 public:
  explicit Gateway(const GatewayOptions& o) {
    auto r = proxy::loadConfigString(gatewayYaml(o), "test.yaml");
    if (!r.config) {
      ADD_FAILURE() << "bad test config: " << r.errors.front();
      return;
    }
    rt_ = std::make_unique<proxy::Runtime>(std::move(*r.config));
    std::string err;
    if (!rt_->start(&err)) ADD_FAILURE() << "start: " << err;
  }
  ~Gateway() { stop(); }

  void stop() {
    if (!rt_ || stopped_) return;
    stopped_ = true;
    rt_->drain();
    rt_->wait();
    for (unsigned i = 0; i < rt_->workerCount(); ++i) {
      EXPECT_EQ(rt_->worker(i).loopCloseResult(), 0) << "worker " << i << " leaked a handle";
    }
  }

  uint16_t port() const { return rt_->ports().at(0); }
  proxy::Runtime& runtime() { return *rt_; }
  uint64_t stat(proxy::Stat s) const { return rt_->stats()[s]; }

  // Runs fn on worker i's loop and waits for it.
  template <typename F>
  auto onWorker(unsigned i, F fn) -> decltype(fn(std::declval<proxy::Worker&>())) {
    using R = decltype(fn(std::declval<proxy::Worker&>()));
    auto p = std::make_shared<std::promise<R>>();
    proxy::Worker& w = rt_->worker(i);
    w.post([p, fn, &w] { p->set_value(fn(w)); });
    auto f = p->get_future();
    if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << "worker did not answer";
      return R{};
    }
    return f.get();
  }

 private:
  std::unique_ptr<proxy::Runtime> rt_;
  bool stopped_ = false;
};

// Polls pred every 5 ms until it holds or timeout_ms passes.
inline bool eventually(const std::function<bool()>& pred, int timeout_ms = 3000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace rtmpgate::test
