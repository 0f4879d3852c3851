#include "proxy/session/session.h"

#include <sys/socket.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "proxy/core/block_pool.h"
#include "proxy/core/log.h"
#include "proxy/core/worker.h"

namespace rtmpgate::proxy {

// Every handle's data points at the session; the Upstream wrapper is found
// from its tcp handle (first member) where needed.
struct Session::Upstream {
  uv_tcp_t tcp;
  uv_connect_t connect;
  Session* session;
};

namespace {
constexpr size_t kClient = 0;
constexpr size_t kUpstream = 1;

size_t idx(Session::Side s) { return static_cast<size_t>(s); }
Session::Side other(Session::Side s) {
  return s == Session::Side::kClient ? Session::Side::kUpstream : Session::Side::kClient;
}
}  // namespace

std::string_view sessionStateName(SessionState s) {
  switch (s) {
    case SessionState::kAccess:
      return "access";
    case SessionState::kHandshake:
      return "handshake";
    case SessionState::kUpstream:
      return "upstream";
    case SessionState::kForward:
      return "forward";
    case SessionState::kClosing:
      return "closing";
  }
  return "?";
}

Session* Session::create(Worker& worker, std::shared_ptr<const LivePolicy> policy, uint64_t id) {
  return new Session(worker, std::move(policy), id);
}

Session::Session(Worker& worker, std::shared_ptr<const LivePolicy> policy, uint64_t id)
    : worker_(worker), policy_(std::move(policy)), id_(id) {
  uv_tcp_init(worker_.loop(), &client_);
  client_.data = this;
  uv_timer_init(worker_.loop(), &timer_);
  timer_.data = this;
  open_handles_ = 2;
  accepted_ns_ = uv_hrtime();
  worker_.addSession(this);
}

Session::~Session() { worker_.removeSession(this); }

SessionState Session::state() const {
  if (closing_) return SessionState::kClosing;
  if (cursor_ < 0) return SessionState::kAccess;
  switch (allModules()[cursor_]->phase) {
    case Phase::kAccess:
      return SessionState::kAccess;
    case Phase::kHandshake:
      return SessionState::kHandshake;
    case Phase::kUpstream:
      return SessionState::kUpstream;
    case Phase::kForward:
    case Phase::kLog:
      return SessionState::kForward;
  }
  return SessionState::kAccess;
}

void Session::start() {
  sockaddr_storage ss;
  int len = sizeof(ss);
  if (uv_tcp_getpeername(&client_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    client_addr_ = fromSockaddr(reinterpret_cast<sockaddr*>(&ss));
    client_ip_ = ipKeyOf(client_addr_.get());
  }
  uv_tcp_nodelay(&client_, 1);
  worker_.stats().add(Stat::connections_accepted);
  worker_.stats().add(Stat::connections_open);
  advance(Status::Continue());
}

Module& Session::current() { return *worker_.modules()[cursor_]; }

void Session::advance(Status st) {
  while (!closing_) {
    switch (st.kind()) {
      case Status::Kind::kClose:
        close(st.reason());
        return;
      case Status::Kind::kStop:
        return;
      case Status::Kind::kContinue: {
        auto modules = worker_.modules();
        if (cursor_ + 1 >= static_cast<int>(modules.size())) return;
        ++cursor_;
        reached_ = cursor_;
        st = modules[cursor_]->run(*this);
        break;
      }
    }
  }
}

void Session::close(CloseReason reason) {
  if (closing_) return;
  closing_ = true;
  close_reason_ = reason;
  if (auto stat = closeReasonStat(reason)) worker_.stats().add(*stat);
  uv_close(reinterpret_cast<uv_handle_t*>(&client_), &Session::onCloseCb);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Session::onCloseCb);
  dropUpstream();
}

void Session::onCloseCb(uv_handle_t* h) { static_cast<Session*>(h->data)->onHandleClosed(); }

void Session::onHandleClosed() {
  if (--open_handles_ > 0) return;
  // Every module the session reached, then the LOG phase, in list order.
  auto modules = worker_.modules();
  for (int i = 0; i < static_cast<int>(modules.size()); ++i) {
    if (i <= reached_ || allModules()[i]->phase == Phase::kLog) modules[i]->onClose(*this);
  }
  worker_.stats().add(Stat::connections_open, -1);
  if (forwarding_) worker_.stats().add(Stat::sessions_active, -1);
  worker_.stats().add(Stat::sessions_closed);
  delete this;
}

// ----- plain I/O for the phases before the splice -----

void Session::onAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  Session* s = static_cast<Session*>(h->data);
  if (s->forwarding_) {
    Block* b = s->worker_.pool().get();
    *buf = uv_buf_init(reinterpret_cast<char*>(b->data), Block::kSize);
  } else {
    auto scratch = s->worker_.scratch();
    *buf = uv_buf_init(reinterpret_cast<char*>(scratch.data()), scratch.size());
  }
}

void Session::startClientRead() {
  uv_read_start(reinterpret_cast<uv_stream_t*>(&client_), &Session::onAlloc,
                &Session::onClientReadCb);
}

void Session::stopClientRead() { uv_read_stop(reinterpret_cast<uv_stream_t*>(&client_)); }

void Session::startUpstreamRead() {
  if (!upstream_) return;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&upstream_->tcp), &Session::onAlloc,
                &Session::onUpstreamReadCb);
}

void Session::onClientReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  Session* s = static_cast<Session*>(stream->data);
  if (s->forwarding_) return s->pumpRead(Side::kClient, nread, buf);
  if (s->closing_ || nread == 0) return;
  if (nread < 0) return s->advance(s->current().onClientRead(*s, {}, static_cast<int>(nread)));
  s->advance(s->current().onClientRead(
      *s, {reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)}, 0));
}

void Session::onUpstreamReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  Session* s = static_cast<Session*>(stream->data);
  if (s->forwarding_) return s->pumpRead(Side::kUpstream, nread, buf);
  if (s->closing_ || nread == 0 || stream != s->stream(Side::kUpstream)) return;
  if (nread < 0) return s->advance(s->current().onUpstreamRead(*s, {}, static_cast<int>(nread)));
  s->advance(s->current().onUpstreamRead(
      *s, {reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)}, 0));
}

uv_stream_t* Session::stream(Side side) {
  if (side == Side::kClient) return reinterpret_cast<uv_stream_t*>(&client_);
  return upstream_ ? reinterpret_cast<uv_stream_t*>(&upstream_->tcp) : nullptr;
}

void Session::send(Side side, std::span<const uint8_t> bytes) { send(side, bytes, {}); }

void Session::send(Side side, std::span<const uint8_t> first, std::span<const uint8_t> second) {
  uv_stream_t* st = stream(side);
  if (closing_ || !st || (first.empty() && second.empty())) return;
  if (st->write_queue_size == 0) {
    // One writev for both parts (C2 and the client's pipelined bytes).
    uv_buf_t b[2] = {
        uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(first.data())), first.size()),
        uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(second.data())),
                    second.size())};
    int n = uv_try_write(st, b, second.empty() ? 1 : 2);
    if (n < 0 && n != UV_EAGAIN) {
      return close(side == Side::kClient ? CloseReason::kClientError : CloseReason::kBackendError);
    }
    size_t done = n > 0 ? static_cast<size_t>(n) : 0;
    size_t from_first = std::min(done, first.size());
    first = first.subspan(from_first);
    second = second.subspan(std::min(done - from_first, second.size()));
  }
  for (std::span<const uint8_t> bytes : {first, second}) {
    while (!bytes.empty()) {
      Block* b = worker_.pool().get();
      size_t n = std::min(bytes.size(), Block::kSize);
      std::memcpy(b->data, bytes.data(), n);
      bytes = bytes.subspan(n);
      b->owner = this;
      b->side = static_cast<uint8_t>(side);
      uv_buf_t ub = uv_buf_init(reinterpret_cast<char*>(b->data), n);
      held_[idx(side)] += Block::kSize;
      uv_write(&b->req, st, &ub, 1, &Session::onWriteCb);
    }
  }
}

void Session::sendWithPending(std::span<const uint8_t> preamble) {
  bytes_to_backend_ += pending_upstream_.size();
  worker_.stats().add(Stat::bytes_client_to_backend, pending_upstream_.size());
  send(Side::kUpstream, preamble,
       {reinterpret_cast<const uint8_t*>(pending_upstream_.data()), pending_upstream_.size()});
  std::string().swap(pending_upstream_);
}

void Session::armTimer(uint64_t ms) {
  uv_timer_start(&timer_, &Session::onTimerCb, ms, 0);
}

void Session::disarmTimer() { uv_timer_stop(&timer_); }

void Session::onTimerCb(uv_timer_t* t) {
  Session* s = static_cast<Session*>(t->data);
  if (s->closing_) return;
  if (s->forwarding_) {
    // Half-close linger ran out: the other side never finished.
    return s->close(s->first_eof_ == static_cast<int8_t>(kClient) ? CloseReason::kClientClosed
                                                                  : CloseReason::kBackendClosed);
  }
  s->advance(s->current().onTimeout(*s));
}

int Session::connectUpstream(const SocketAddress& to) {
  dropUpstream();
  auto* up = new Upstream;
  up->session = this;
  uv_tcp_init(worker_.loop(), &up->tcp);
  up->tcp.data = this;
  up->connect.data = up;
  ++open_handles_;
  upstream_ = up;
  uv_tcp_nodelay(&up->tcp, 1);
  int rc = uv_tcp_connect(&up->connect, &up->tcp, to.get(), &Session::onConnectCb);
  if (rc != 0) dropUpstream();
  return rc;
}

void Session::onConnectCb(uv_connect_t* req, int status) {
  auto* up = static_cast<Upstream*>(req->data);
  Session* s = up->session;
  if (status == UV_ECANCELED || s->closing_ || up != s->upstream_) return;
  s->advance(s->current().onUpstreamConnect(*s, status));
}

void Session::dropUpstream() {
  if (!upstream_) return;
  Upstream* up = upstream_;
  upstream_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&up->tcp), &Session::onUpstreamCloseCb);
}

void Session::onUpstreamCloseCb(uv_handle_t* h) {
  auto* up = reinterpret_cast<Upstream*>(h);
  Session* s = up->session;
  delete up;
  s->onHandleClosed();
}

// ----- the splice (FORWARD phase) -----

void Session::splice() {
  forwarding_ = true;
  worker_.stats().add(Stat::sessions_forwarded);
  worker_.stats().add(Stat::sessions_active);
  sendWithPending({});  // anything the upstream phase still holds
  bytes_to_client_ += pending_client_.size();
  worker_.stats().add(Stat::bytes_backend_to_client, pending_client_.size());
  if (!pending_client_.empty()) {
    send(Side::kClient, {reinterpret_cast<const uint8_t*>(pending_client_.data()),
                         pending_client_.size()});
    std::string().swap(pending_client_);
  }
  if (closing_) return;
  // Both are usually reading already (libuv answers UV_EALREADY); the read
  // callbacks switch to the pump because forwarding_ is now set.
  startUpstreamRead();
  if (client_eof_early_) return pumpEof(Side::kClient);
  startClientRead();
}

void Session::pumpRead(Side from, ssize_t nread, const uv_buf_t* buf) {
  Block* b = buf->base ? BlockPool::fromData(buf->base) : nullptr;
  if (nread <= 0 || closing_) {
    if (b) worker_.pool().put(b);
    if (closing_ || nread == 0) return;
    if (nread == UV_EOF) return pumpEof(from);
    return close(from == Side::kClient ? CloseReason::kClientError : CloseReason::kBackendError);
  }
  const Side to = other(from);
  if (from == Side::kClient) {
    bytes_to_backend_ += nread;
    worker_.stats().add(Stat::bytes_client_to_backend, nread);
  } else {
    bytes_to_client_ += nread;
    worker_.stats().add(Stat::bytes_backend_to_client, nread);
  }
  uv_stream_t* dst = stream(to);
  size_t offset = 0;
  if (dst->write_queue_size == 0) {
    uv_buf_t ub = uv_buf_init(buf->base, nread);
    int n = uv_try_write(dst, &ub, 1);
    if (n == nread) {
      worker_.pool().put(b);
      return;
    }
    if (n < 0 && n != UV_EAGAIN) {
      worker_.pool().put(b);
      return close(to == Side::kClient ? CloseReason::kClientError : CloseReason::kBackendError);
    }
    if (n > 0) offset = n;
  }
  b->owner = this;
  b->side = static_cast<uint8_t>(to);
  uv_buf_t ub = uv_buf_init(buf->base + offset, nread - offset);
  held_[idx(to)] += Block::kSize;
  uv_write(&b->req, dst, &ub, 1, &Session::onWriteCb);
  if (held_[idx(to)] > kHighWatermark && !paused_[idx(from)]) {
    paused_[idx(from)] = true;
    uv_read_stop(stream(from));
    worker_.stats().add(Stat::backpressure_pauses);
  }
}

void Session::onWriteCb(uv_write_t* req, int status) {
  Block* b = reinterpret_cast<Block*>(reinterpret_cast<char*>(req) - offsetof(Block, req));
  b->owner->pumpWritten(b, static_cast<Side>(b->side), status);
}

void Session::pumpWritten(Block* b, Side to, int status) {
  worker_.pool().put(b);
  held_[idx(to)] -= Block::kSize;
  if (closing_ || status == UV_ECANCELED) return;
  if (status < 0) {
    return close(to == Side::kClient ? CloseReason::kClientError : CloseReason::kBackendError);
  }
  const Side from = other(to);
  if (forwarding_ && paused_[idx(from)] && !eof_[idx(from)] && held_[idx(to)] <= kLowWatermark) {
    paused_[idx(from)] = false;
    uv_read_start(stream(from), &Session::onAlloc,
                  from == Side::kClient ? &Session::onClientReadCb : &Session::onUpstreamReadCb);
  }
}

void Session::pumpEof(Side from) {
  // Half-close: pass the FIN on once everything read before it is written
  // (uv_shutdown waits for the write queue); the other direction goes on.
  eof_[idx(from)] = true;
  if (first_eof_ < 0) {
    first_eof_ = static_cast<int8_t>(idx(from));
    armTimer(kHalfCloseLingerMs);
  }
  uv_read_stop(stream(from));
  const Side to = other(from);
  uv_stream_t* dst = stream(to);
  uv_os_fd_t fd;
  if (dst->write_queue_size == 0 && uv_fileno(reinterpret_cast<uv_handle_t*>(dst), &fd) == 0) {
    // Nothing queued: send the FIN now instead of a uv_shutdown round trip
    // through the poller (two epoll_ctl calls per direction saved). Nothing
    // is written to this side afterwards: its source has ended.
    return onShutdown(to, ::shutdown(fd, SHUT_WR) == 0 ? 0 : -errno);
  }
  auto* req = new uv_shutdown_t;
  req->data = this;
  int rc = uv_shutdown(req, dst, [](uv_shutdown_t* r, int status) {
    Session* s = static_cast<Session*>(r->data);
    const Side to = r->handle == s->stream(Side::kClient) ? Side::kClient : Side::kUpstream;
    delete r;
    s->onShutdown(to, status);
  });
  if (rc != 0) {
    delete req;
    onShutdown(to, rc);
  }
}

void Session::onShutdown(Side to, int status) {
  if (closing_ || status == UV_ECANCELED) return;
  const Side from = other(to);
  shut_[idx(from)] = true;
  if (status < 0 || (shut_[kClient] && shut_[kUpstream])) {
    close(first_eof_ == static_cast<int8_t>(kClient) ? CloseReason::kClientClosed
                                                     : CloseReason::kBackendClosed);
  }
}

}  // namespace rtmpgate::proxy
