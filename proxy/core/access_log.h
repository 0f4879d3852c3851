// One line per connection when it ends (the LOG phase), to stderr or a file,
// as text or JSON. Process-wide like the error log. Workers write with one
// write(2) per line (O_APPEND), so lines never interleave; reopen() swaps the
// file under the same descriptor for logrotate (SIGUSR1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rtmpgate::proxy {

struct AccessRecord {
  uint64_t session_id;
  std::string_view client;
  std::string_view backend;  // empty: none chosen
  std::string_view mode;     // simple | digest | "" (no handshake completed)
  std::string_view reason;
  std::string_view detail;
  uint64_t bytes_to_backend;
  uint64_t bytes_to_client;
  uint64_t duration_ms;
};

class AccessLog {
 public:
  // target: "stderr", "off" or a file path. False (and nothing changes) when
  // the file cannot be opened.
  static bool configure(const std::string& target, bool json, std::string* error);
  static bool enabled();
  static void write(const AccessRecord& r);
  // Reopens the file (no-op for stderr/off); keeps the old one on failure.
  static bool reopen(std::string* error);
};

// JSON string escaping shared by the JSON log formats.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace rtmpgate::proxy
