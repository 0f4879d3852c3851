#include "proxy/core/config_watch.h"

#include <fstream>
#include <sstream>

namespace rtmpgate::proxy {

namespace {
std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename H>
void closeAndDelete(H*& h) {
  if (!h) return;
  uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* x) { delete reinterpret_cast<H*>(x); });
  h = nullptr;
}
}  // namespace

ConfigWatch::ConfigWatch(uv_loop_t* loop, std::string path, std::function<void()> on_change,
                         uint64_t debounce_ms)
    : loop_(loop), path_(std::move(path)), on_change_(std::move(on_change)),
      debounce_ms_(debounce_ms) {}

ConfigWatch::~ConfigWatch() { stop(); }

bool ConfigWatch::start(std::string* error) {
  last_ = readAll(path_);
  size_t slash = path_.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  base_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  event_ = new uv_fs_event_t;
  uv_fs_event_init(loop_, event_);
  event_->data = this;
  int rc = uv_fs_event_start(
      event_,
      [](uv_fs_event_t* h, const char* name, int, int) {
        auto* self = static_cast<ConfigWatch*>(h->data);
        // Only the file itself (editors rename a temp file over it) and
        // kubelet's ..data swap matter; other files in the directory (a log,
        // say) must not keep postponing the check.
        std::string_view n = name ? name : "";
        if (!n.empty() && n != self->base_ && n.substr(0, 6) != "..data") return;
        // Editors and kubelet produce bursts of events: check once, a little
        // after the first one, rather than after every one (no starvation).
        if (uv_is_active(reinterpret_cast<uv_handle_t*>(self->timer_))) return;
        uv_timer_start(self->timer_, [](uv_timer_t* t) { static_cast<ConfigWatch*>(t->data)->check(); },
                       self->debounce_ms_, 0);
      },
      dir.c_str(), 0);
  if (rc != 0) {
    *error = "cannot watch " + dir + ": " + uv_strerror(rc);
    stop();
    return false;
  }
  return true;
}

void ConfigWatch::check() {
  std::string now = readAll(path_);
  if (now == last_) return;
  last_ = std::move(now);
  on_change_();
}

void ConfigWatch::stop() {
  closeAndDelete(event_);
  closeAndDelete(timer_);
}

}  // namespace rtmpgate::proxy
