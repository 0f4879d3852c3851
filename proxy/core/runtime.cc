#include "proxy/core/runtime.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "proxy/core/log.h"
#include "proxy/core/worker.h"
#include "proxy/session/session.h"
#include "proxy/upstream/balancer.h"

namespace rtmpgate::proxy {

namespace {

constexpr int kBacklog = 4096;

int bindReusePort(const SocketAddress& addr, std::string* error) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // libuv 1.44 has no UV_TCP_REUSEPORT: each worker gets its own socket on
  // the same port and the kernel spreads connections across them.
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // listen() here, not in the worker thread, so that start() returns with
  // every port already accepting (the worker's uv_listen repeats it).
  if (::bind(fd, addr.get(), addr.length) != 0 || ::listen(fd, kBacklog) != 0) {
    *error = "bind " + addr.toString() + ": " + strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

Runtime::Runtime(Config config) : config_(std::move(config)), started_ns_(uv_hrtime()) {
  policy_ = buildLivePolicy(config_.policy, 1);
  unsigned n = config_.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
}

Runtime::~Runtime() {
  if (started_) {
    drain();
    wait();
  }
}

bool Runtime::bindAll(std::vector<std::vector<int>>* fds, std::string* error) {
  fds->assign(workers_.size(), {});
  auto fail = [&] {
    for (auto& v : *fds) {
      for (int fd : v) ::close(fd);
    }
    fds->clear();
    return false;
  };
  for (const ListenConfig& l : config_.listen) {
    SocketAddress addr = l.address;
    for (size_t w = 0; w < workers_.size(); ++w) {
      int fd = bindReusePort(addr, error);
      if (fd < 0) return fail();
      (*fds)[w].push_back(fd);
      if (w == 0) {
        // Port 0: the first bind picks the port, the others join it.
        sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        addr = fromSockaddr(reinterpret_cast<sockaddr*>(&ss));
        ports_.push_back(addr.port());
      }
    }
  }
  return true;
}

bool Runtime::start(std::string* error) {
  std::vector<std::vector<int>> fds;
  if (!bindAll(&fds, error)) return false;
  for (const auto& l : config_.listen) logInfo("listening on %s", l.name.c_str());
  for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->start(std::move(fds[i]), policy());
  started_ = true;
  return true;
}

void Runtime::drain() {
  draining_ = true;
  for (auto& w : workers_) w->drain(static_cast<uint64_t>(config_.shutdown_timeout.count()));
}

void Runtime::wait() {
  for (auto& w : workers_) w->join();
  started_ = false;
}

std::shared_ptr<const LivePolicy> Runtime::buildLivePolicy(const Policy& policy,
                                                           uint64_t revision) {
  auto lp = std::make_shared<LivePolicy>();
  lp->policy = policy;
  lp->revision = revision;
  lp->server_options.versions = policy.handshake.versionSet();
  lp->server_options.echo_check = policy.handshake.echo_check;
  lp->server_options.mode = policy.handshake.mode;
  for (const auto& b : policy.upstream.backends) {
    auto& stats = backend_stats_[b.name];
    if (!stats) stats = std::make_shared<BackendStats>();
    lp->backend_stats.push_back(stats);
  }
  deriveBalancerState(*lp);
  return lp;
}

uint64_t Runtime::setPolicy(const Policy& policy) {
  uint64_t rev = 0;
  setPolicyIf(policy, 0, &rev);
  return rev;
}

bool Runtime::setPolicyIf(const Policy& policy, uint64_t expected, uint64_t* revision) {
  std::shared_ptr<const LivePolicy> lp;
  {
    std::lock_guard lock(policy_mu_);
    if (expected != 0 && expected != policy_->revision) {
      *revision = policy_->revision;
      return false;
    }
    lp = buildLivePolicy(policy, policy_->revision + 1);
    policy_ = lp;
  }
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->post([wp, lp] { wp->setPolicy(lp); });
  }
  *revision = lp->revision;
  return true;
}

double Runtime::uptimeSeconds() const {
  return static_cast<double>(uv_hrtime() - started_ns_) / 1e9;
}

void Runtime::listSessions(
    size_t limit, std::function<void(std::vector<SessionInfo>, uint64_t)> done) {
  struct Gather {
    std::mutex mu;
    std::vector<SessionInfo> all;
    uint64_t total = 0;
    size_t pending;
    std::function<void(std::vector<SessionInfo>, uint64_t)> done;
  };
  auto g = std::make_shared<Gather>();
  g->pending = workers_.size();
  g->done = std::move(done);
  auto finish = [g] {
    if (--g->pending == 0) g->done(std::move(g->all), g->total);
  };
  for (auto& w : workers_) {
    Worker* wp = w.get();
    bool posted = wp->post([wp, g, limit, finish] {
      std::vector<SessionInfo> mine;
      const uint64_t now = uv_hrtime();
      wp->forEachSession([&](Session& s) {
        if (limit != 0 && mine.size() >= limit) return;
        SessionInfo i;
        i.id = s.id();
        i.client = s.clientAddress().toString();
        if (s.backend() >= 0) i.backend = s.policy().policy.upstream.backends[s.backend()].name;
        i.state = std::string(sessionStateName(s.state()));
        i.bytes_to_backend = s.bytesToBackend();
        i.bytes_to_client = s.bytesToClient();
        i.age_ms = (now - s.acceptedAtNs()) / 1'000'000;
        i.worker = wp->index();
        mine.push_back(std::move(i));
      });
      std::lock_guard lock(g->mu);
      g->total += wp->sessionCount();
      for (auto& i : mine) {
        if (limit == 0 || g->all.size() < limit) g->all.push_back(std::move(i));
      }
      finish();
    });
    if (!posted) {
      std::lock_guard lock(g->mu);
      finish();
    }
  }
}

void Runtime::closeSession(uint64_t id, std::function<void(bool)> done) {
  struct Gather {
    std::mutex mu;
    bool found = false;
    size_t pending;
    std::function<void(bool)> done;
  };
  auto g = std::make_shared<Gather>();
  g->pending = workers_.size();
  g->done = std::move(done);
  auto finish = [g] {
    if (--g->pending == 0) g->done(g->found);
  };
  for (auto& w : workers_) {
    Worker* wp = w.get();
    bool posted = wp->post([wp, g, id, finish] {
      bool found = false;
      wp->forEachSession([&](Session& s) {
        if (s.id() == id && !s.closing()) {
          s.close(CloseReason::kAdminClose);
          found = true;
        }
      });
      std::lock_guard lock(g->mu);
      g->found = g->found || found;
      finish();
    });
    if (!posted) {
      std::lock_guard lock(g->mu);
      finish();
    }
  }
}

std::shared_ptr<const LivePolicy> Runtime::policy() const {
  std::lock_guard lock(policy_mu_);
  return policy_;
}

StatsSnapshot Runtime::stats() const {
  std::vector<const WorkerStats*> cells;
  for (const auto& w : workers_) cells.push_back(&w->statsView());
  return sumStats(cells);
}

}  // namespace rtmpgate::proxy
