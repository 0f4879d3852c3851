// Reload on file change, for Kubernetes ConfigMap volumes: kubelet swaps a
// `..data` symlink in the file's directory, so the directory is watched, not
// the file (whose inode a swap replaces). Events are debounced and a reload
// is only requested when the file's bytes actually changed.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

namespace rtmpgate::proxy {

class ConfigWatch {
 public:
  ConfigWatch(uv_loop_t* loop, std::string path, std::function<void()> on_change,
              uint64_t debounce_ms = 500);
  ~ConfigWatch();
  bool start(std::string* error);
  void stop();

 private:
  void check();

  uv_loop_t* loop_;
  std::string path_;
  std::string base_;  // file name within the watched directory
  std::function<void()> on_change_;
  uint64_t debounce_ms_;
  uv_fs_event_t* event_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  std::string last_;  // contents last seen
};

}  // namespace rtmpgate::proxy
