// One client connection and, once chosen, its backend connection.
//
// Ownership: the session owns its client handle, its timer and at most one
// upstream connection. close() is idempotent; it starts uv_close on every
// open handle and the last close callback runs the LOG phase and frees the
// session. Pending write/connect callbacks arrive first with UV_ECANCELED and
// only release what they hold. Every libuv callback checks closing_ first.
//
// The modules drive the session through the phases (proxy/module/module.h);
// the session supplies the I/O they need and, in the FORWARD phase, the
// splice itself, which is the hot path and lives here with the buffers.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "proxy/config/address.h"
#include "proxy/module/module.h"
#include "proxy/module/registry.h"
#include "proxy/session/close_reason.h"
#include "proxy/upstream/live_policy.h"

namespace rtmpgate::proxy {

class Worker;
struct Block;

enum class SessionState : uint8_t { kAccess, kHandshake, kUpstream, kForward, kClosing };
std::string_view sessionStateName(SessionState s);

// Per-direction backpressure: reading pauses when the blocks queued toward
// the other side hold more than kHighWatermark bytes of memory, and resumes
// under kLowWatermark. Memory, not queued bytes, is what is counted, so a
// peer that trickles tiny segments cannot pin a 64 KiB block per byte. One
// direction holds at most kHighWatermark + one 64 KiB block, so a session's
// user-space buffering is bounded by 2 * 320 KiB = 640 KiB.
inline constexpr size_t kHighWatermark = 256 * 1024;
inline constexpr size_t kLowWatermark = 64 * 1024;

// After one side's FIN is passed on, the other direction may still finish
// (half-close), but only for this long; then both sides are closed, so a
// peer that never closes cannot pin a session.
inline constexpr uint64_t kHalfCloseLingerMs = 10'000;

class Session {
 public:
  enum class Side : uint8_t { kClient, kUpstream };

  // Takes a client handle already initialised on the worker's loop and
  // accepted; the session owns it from now on.
  static Session* create(Worker& worker, std::shared_ptr<const LivePolicy> policy, uint64_t id);
  uv_tcp_t* clientHandle() { return &client_; }
  // Starts the chain (ACCESS onwards).
  void start();

  void close(CloseReason reason);
  bool closing() const { return closing_; }

  // ----- services for modules -----
  Worker& worker() { return worker_; }
  const LivePolicy& policy() const { return *policy_; }
  uint64_t id() const { return id_; }
  const SocketAddress& clientAddress() const { return client_addr_; }
  const IpKey& clientIp() const { return client_ip_; }
  uint64_t acceptedAtNs() const { return accepted_ns_; }  // uv_hrtime() at accept
  SessionState state() const;

  void startClientRead();
  void stopClientRead();
  void startUpstreamRead();
  // Sends bytes now if the socket takes them, else copies the rest into
  // blocks queued behind earlier writes; order is always preserved.
  void send(Side side, std::span<const uint8_t> bytes);
  void send(Side side, std::span<const uint8_t> first, std::span<const uint8_t> second);
  // Sends `preamble` (our C2) and the client's pipelined bytes to the backend
  // in one write; the pipelined bytes count as forwarded.
  void sendWithPending(std::span<const uint8_t> preamble);
  void armTimer(uint64_t ms);
  void disarmTimer();

  // Opens a new upstream connection (closing any previous one). Returns 0 and
  // the result arrives as onUpstreamConnect, or a libuv error right away.
  int connectUpstream(const SocketAddress& to);
  void dropUpstream();
  bool hasUpstream() const { return upstream_ != nullptr; }
  void setBackend(int index) { backend_ = index; }
  int backend() const { return backend_; }

  // Bytes the client sent after C2, forwarded to the backend before anything else.
  std::string& pendingForUpstream() { return pending_upstream_; }
  std::string& pendingForClient() { return pending_client_; }

  // The client sent FIN before the splice: its pending bytes still go to the
  // backend, then the FIN is passed on (half-close) once splice() runs.
  void noteClientEof() {
    client_eof_early_ = true;
    stopClientRead();
  }

  // FORWARD phase: sends the pending bytes and splices both directions until
  // both have ended (half-close propagated) or one side fails.
  void splice();

  template <typename T>
  T* ctx(const Module& m) {
    return static_cast<T*>(ctx_[m.index()].get());
  }
  void setCtx(const Module& m, std::unique_ptr<ModuleCtx> c) { ctx_[m.index()] = std::move(c); }

  CloseReason closeReason() const { return close_reason_; }
  // "simple" or "digest" once the client handshake completed.
  void setHandshakeMode(std::string_view m) { handshake_mode_ = m; }
  std::string_view handshakeMode() const { return handshake_mode_; }
  // A static string that explains the close further (e.g. "tls_client_hello").
  void setCloseDetail(std::string_view d) { close_detail_ = d; }
  std::string_view closeDetail() const { return close_detail_; }
  uint64_t bytesToBackend() const { return bytes_to_backend_; }
  uint64_t bytesToClient() const { return bytes_to_client_; }

  // Intrusive list of the worker's sessions (O(1) insert and remove).
  Session* prev = nullptr;
  Session* next = nullptr;

 private:
  struct Upstream;
  struct Pump;

  Session(Worker& worker, std::shared_ptr<const LivePolicy> policy, uint64_t id);
  ~Session();

  // Acts on a module's answer: next module, wait, or close.
  void advance(Status st);
  Module& current();
  void onHandleClosed();

  uv_stream_t* stream(Side side);
  void pumpRead(Side from, ssize_t nread, const uv_buf_t* buf);
  void pumpWritten(Block* b, Side to, int status);
  void pumpEof(Side from);
  void onShutdown(Side to, int status);

  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onClientReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onUpstreamReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onConnectCb(uv_connect_t* req, int status);
  static void onTimerCb(uv_timer_t* t);
  static void onWriteCb(uv_write_t* req, int status);
  static void onCloseCb(uv_handle_t* h);
  static void onUpstreamCloseCb(uv_handle_t* h);

  Worker& worker_;
  std::shared_ptr<const LivePolicy> policy_;
  uint64_t id_;
  uv_tcp_t client_;
  uv_timer_t timer_;
  Upstream* upstream_ = nullptr;
  int open_handles_ = 0;
  int cursor_ = -1;  // index of the module holding the session
  int reached_ = -1;  // highest module index whose run() was called
  bool closing_ = false;
  bool forwarding_ = false;
  CloseReason close_reason_ = CloseReason::kNone;
  std::string_view close_detail_;
  std::string_view handshake_mode_;
  int backend_ = -1;

  SocketAddress client_addr_;
  IpKey client_ip_{};
  uint64_t accepted_ns_ = 0;
  uint64_t bytes_to_backend_ = 0;
  uint64_t bytes_to_client_ = 0;

  // Splice state, per direction (index = source side).
  bool eof_[2] = {false, false};
  bool shut_[2] = {false, false};  // shutdown of the *destination* completed
  bool paused_[2] = {false, false};  // index = source side
  size_t held_[2] = {0, 0};  // block memory queued toward each side (index = destination)
  int8_t first_eof_ = -1;
  bool client_eof_early_ = false;  // side whose EOF came first: it ended the session

  std::string pending_upstream_;
  std::string pending_client_;
  std::unique_ptr<ModuleCtx> ctx_[kMaxModules];
};

}  // namespace rtmpgate::proxy
