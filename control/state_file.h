// Persisting operator changes: every accepted UpdatePolicy (and every SIGHUP
// reload) writes the live policy to control.state_file, atomically, and the
// next start applies it on top of the config file. The state file wins at
// start because it holds the newest change; delete it to go back to the
// file's policy.
#pragma once

#include <string>

#include "proxy/config/config.h"
#include "rtmpgate/v1/control.pb.h"

namespace rtmpgate::control {

// JSON of the policy; write to PATH.tmp, fsync, rename over PATH, fsync dir.
bool saveStateFile(const std::string& path, const rtmpgate::v1::Policy& policy,
                   std::string* error);
bool saveStateFile(const std::string& path, const proxy::Policy& policy, std::string* error);

// If config.control.state_file exists, replaces config.policy with it
// (validated like UpdatePolicy). True when there is no file or it applied;
// false with a message when the file is unreadable or invalid.
bool applyStateFile(proxy::Config& config, bool* applied, std::string* error);

}  // namespace rtmpgate::control
