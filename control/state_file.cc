#include "control/state_file.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "control/convert.h"

namespace rtmpgate::control {

namespace {
bool writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += n;
  }
  return true;
}
}  // namespace

bool saveStateFile(const std::string& path, const rtmpgate::v1::Policy& policy,
                   std::string* error) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(policy, &json, opts).ok()) {
    *error = "cannot encode the policy";
    return false;
  }
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = tmp + ": " + strerror(errno);
    return false;
  }
  bool ok = writeAll(fd, json) && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return false;
  }
  // The rename is durable only once the directory entry is.
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

bool saveStateFile(const std::string& path, const proxy::Policy& policy, std::string* error) {
  return saveStateFile(path, policyToProto(policy, 0), error);
}

bool applyStateFile(proxy::Config& config, bool* applied, std::string* error) {
  *applied = false;
  const std::string& path = config.control.state_file;
  if (path.empty()) return true;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return true;
    *error = path + ": " + strerror(errno);
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  rtmpgate::v1::Policy p;
  google::protobuf::util::JsonParseOptions opts;
  auto st = google::protobuf::util::JsonStringToMessage(ss.str(), &p, opts);
  if (!st.ok()) {
    *error = path + ": not a policy: " + std::string(st.message());
    return false;
  }
  std::string why;
  auto policy = policyFromProto(p, config.policy, &why);
  if (!policy) {
    *error = path + ": " + why;
    return false;
  }
  config.policy = std::move(*policy);
  *applied = true;
  return true;
}

}  // namespace rtmpgate::control
