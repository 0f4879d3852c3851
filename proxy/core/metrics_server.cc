#include "proxy/core/metrics_server.h"

#include <cstring>

#include "proxy/core/log.h"
#include "proxy/stats/prometheus.h"

namespace rtmpgate::proxy {

namespace {
constexpr size_t kMaxRequest = 8192;
constexpr uint64_t kRequestTimeoutMs = 5000;
}  // namespace

struct MetricsServer::Conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t write;
  MetricsServer* server;
  std::string request;
  std::string response;
  char read_buf[2048];
  int open_handles = 2;
  bool closing = false;

  void close() {
    if (closing) return;
    closing = true;
    auto done = [](uv_handle_t* h) {
      Conn* c = static_cast<Conn*>(h->data);
      if (--c->open_handles == 0) delete c;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), done);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), done);
  }

  void respond(const char* status, const std::string& content_type, std::string body) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
    response = std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + content_type +
               "\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\nConnection: close\r\n\r\n" + body;
    uv_buf_t b = uv_buf_init(response.data(), response.size());
    write.data = this;
    if (uv_write(&write, reinterpret_cast<uv_stream_t*>(&tcp), &b, 1,
                 [](uv_write_t* w, int) { static_cast<Conn*>(w->data)->close(); }) != 0) {
      close();
    }
  }

  void onData() {
    size_t end = request.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (request.size() > kMaxRequest) respond("431 Request Header Fields Too Large", "text/plain", "");
      return;
    }
    if (request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0) {
      respond("200 OK", "text/plain; version=0.0.4; charset=utf-8",
              renderPrometheus(server->runtime_));
    } else if (request.rfind("GET ", 0) == 0) {
      respond("404 Not Found", "text/plain", "try /metrics\n");
    } else {
      respond("405 Method Not Allowed", "text/plain", "");
    }
  }
};

MetricsServer::MetricsServer(uv_loop_t* loop, Runtime& runtime) : loop_(loop), runtime_(runtime) {}

MetricsServer::~MetricsServer() { stop(); }

bool MetricsServer::start(const SocketAddress& address, std::string* error) {
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
  int rc = uv_tcp_bind(listener_, address.get(), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 128, &onConnection);
  if (rc != 0) {
    *error = "metrics cannot listen on " + address.toString() + ": " + uv_strerror(rc);
    stop();
    return false;
  }
  sockaddr_storage ss;
  int len = sizeof(ss);
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = fromSockaddr(reinterpret_cast<sockaddr*>(&ss)).port();
  logInfo("metrics on %s/metrics", address.toString().c_str());
  return true;
}

void MetricsServer::stop() {
  if (!listener_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(listener_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  listener_ = nullptr;
}

void MetricsServer::onConnection(uv_stream_t* server, int status) {
  if (status != 0) return;
  auto* self = static_cast<MetricsServer*>(server->data);
  auto* c = new Conn;
  c->server = self;
  uv_tcp_init(self->loop_, &c->tcp);
  uv_timer_init(self->loop_, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return c->close();
  uv_timer_start(&c->timer, [](uv_timer_t* t) { static_cast<Conn*>(t->data)->close(); },
                 kRequestTimeoutMs, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        Conn* c = static_cast<Conn*>(h->data);
        *buf = uv_buf_init(c->read_buf, sizeof(c->read_buf));
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        Conn* c = static_cast<Conn*>(s->data);
        if (c->closing) return;
        if (n < 0) return c->close();
        c->request.append(buf->base, n);
        c->onData();
      });
}

}  // namespace rtmpgate::proxy
