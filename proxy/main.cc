// rtmpgate: CLI, signals, and the process lifecycle. The only file the tests
// do not link.
#include <sys/resource.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "control/health_check.h"
#include "control/server.h"
#include "control/state_file.h"
#include "proxy/config/loader.h"
#include "proxy/core/access_log.h"
#include "proxy/core/config_watch.h"
#include "proxy/core/log.h"
#include "proxy/core/metrics_server.h"
#include "proxy/core/systemd_notify.h"
#include "proxy/core/runtime.h"
#include "proxy/version.h"

using namespace rtmpgate::proxy;

namespace {

const char kUsage[] =
    "usage: rtmpgate --config FILE [--check]\n"
    "\n"
    "  -c, --config FILE   run with this YAML config, in the foreground (logs to stderr)\n"
    "  -t, --check         validate the config, print every error with its line, exit\n"
    "  --health-check ADDR exit 0 if the gRPC health service at ADDR says SERVING\n"
    "  -v, --version       print the version and exit\n"
    "  -h, --help          print this help and exit\n"
    "\n"
    "signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config file;\n"
    "         SIGUSR1 reopens the access log file (logrotate)\n";

struct App {
  std::string config_path;
  Runtime* runtime = nullptr;
  rtmpgate::control::ControlServer* control = nullptr;
  uv_signal_t sigterm, sigint, sighup, sigusr1;
  rtmpgate::proxy::MetricsServer* metrics = nullptr;
  rtmpgate::proxy::ConfigWatch* watch = nullptr;
};

void reload(App& app, const char* why) {
  notifyReloading();
  LoadResult r = loadConfigFile(app.config_path);
  if (!r.config) {
    for (const auto& e : r.errors) logError("reload rejected: %s", e.c_str());
    logError("reload (%s) rejected: keeping the running configuration", why);
    notifyReady();
    return;
  }
  const Config& old = app.runtime->config();
  if (r.config->listen.size() != old.listen.size() || r.config->workers != old.workers ||
      r.config->control.listen != old.control.listen ||
      r.config->metrics.listen != old.metrics.listen ||
      r.config->log.access_log != old.log.access_log) {
    logWarn("reload: changes to listen, workers, control, metrics and log.access_log take "
            "effect only on restart");
  }
  setLogLevel(r.config->log.level);
  uint64_t rev = app.runtime->setPolicy(r.config->policy);
  logInfo("reload (%s): configuration applied to new sessions (revision %llu)", why,
          static_cast<unsigned long long>(rev));
  // The state file holds the live policy, whichever way it last changed.
  if (const std::string& state = old.control.state_file; !state.empty()) {
    std::string err;
    if (!rtmpgate::control::saveStateFile(state, r.config->policy, &err)) {
      logError("state file not written: %s", err.c_str());
    }
  }
  notifyReady();
}

void onSignal(uv_signal_t* h, int signum) {
  App& app = *static_cast<App*>(h->data);
  if (signum == SIGHUP) return reload(app, "SIGHUP");
  if (signum == SIGUSR1) {
    std::string err;
    if (!AccessLog::reopen(&err)) logError("access log not reopened: %s", err.c_str());
    return;
  }
  logInfo("received %s: draining sessions for up to %lld ms", strsignal(signum),
          static_cast<long long>(app.runtime->config().shutdown_timeout.count()));
  notifyStopping();
  if (app.control) app.control->setDraining();
  app.runtime->drain();
  if (app.metrics) app.metrics->stop();
  if (app.watch) app.watch->stop();
  // Closing the watchers restores the default action: a second signal kills.
  for (uv_signal_t* sig : {&app.sigterm, &app.sigint, &app.sighup, &app.sigusr1}) {
    uv_close(reinterpret_cast<uv_handle_t*>(sig), nullptr);
  }
}

// Each client costs two descriptors (client + backend). Like HAProxy, take
// the hard limit rather than fail at the default soft 1024.
void raiseFileLimit(uint32_t max_connections) {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  uint64_t need = 2ull * max_connections + 64;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    logWarn("open-file limit %llu is below the %llu that limits.max_connections=%u needs",
            static_cast<unsigned long long>(rl.rlim_cur), static_cast<unsigned long long>(need),
            max_connections);
  }
}

}  // namespace

int main(int argc, char** argv) {
  App app;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      app.config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      app.config_path = a.substr(9);
    } else if (a == "--health-check" && i + 1 < argc) {
      return rtmpgate::control::runHealthCheck(argv[++i]);
    } else if (a == "-t" || a == "--check") {
      check = true;
    } else if (a == "-v" || a == "--version") {
      std::printf("rtmpgate %s\n", kVersion);
      return 0;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "rtmpgate: unknown argument '%s'\n\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (app.config_path.empty()) {
    std::fprintf(stderr, "rtmpgate: --config FILE is required\n\n%s", kUsage);
    return 2;
  }

  LoadResult r = loadConfigFile(app.config_path);
  if (!r.config) {
    for (const auto& e : r.errors) std::fprintf(stderr, "rtmpgate: %s\n", e.c_str());
    std::fprintf(stderr, "rtmpgate: configuration file %s test failed\n", app.config_path.c_str());
    return 1;
  }
  if (check) {
    std::fprintf(stderr, "rtmpgate: configuration file %s test is successful\n",
                 app.config_path.c_str());
    return 0;
  }
  setLogLevel(r.config->log.level);
  setLogJson(r.config->log.json);
  signal(SIGPIPE, SIG_IGN);
  std::string error;
  if (!AccessLog::configure(r.config->log.access_log, r.config->log.json, &error)) {
    logError("cannot start: %s", error.c_str());
    return 1;
  }
  raiseFileLimit(r.config->policy.limits.max_connections);

  bool from_state = false;
  if (!rtmpgate::control::applyStateFile(*r.config, &from_state, &error)) {
    logError("cannot start: state file: %s (fix or delete it)", error.c_str());
    return 1;
  }
  if (from_state) {
    logInfo("policy taken from state file %s (it overrides the config file's policy)",
            r.config->control.state_file.c_str());
  }

  Runtime runtime(std::move(*r.config));
  app.runtime = &runtime;
  // Catch signals before the first port opens: a supervisor may send
  // SIGTERM as soon as it sees the port, and the default action would kill
  // us instead of draining. They are handled once the loop runs.
  uv_loop_t* loop = uv_default_loop();
  for (uv_signal_t* s : {&app.sigterm, &app.sigint, &app.sighup, &app.sigusr1}) {
    uv_signal_init(loop, s);
    s->data = &app;
  }
  uv_signal_start(&app.sigterm, onSignal, SIGTERM);
  uv_signal_start(&app.sigint, onSignal, SIGINT);
  uv_signal_start(&app.sighup, onSignal, SIGHUP);
  uv_signal_start(&app.sigusr1, onSignal, SIGUSR1);
  if (!runtime.start(&error)) {
    logError("cannot start: %s", error.c_str());
    return 1;
  }
  rtmpgate::control::ControlServer control(runtime);
  if (!control.start(runtime.config().control, &error)) {
    logError("cannot start: %s", error.c_str());
    runtime.drain();
    runtime.wait();
    return 1;
  }
  app.control = &control;

  MetricsServer metrics(loop, runtime);
  if (const std::string& m = runtime.config().metrics.listen; !m.empty()) {
    std::string why;
    auto addr = parseSocketAddress(m, &why);
    if (!addr || !metrics.start(*addr, &error)) {
      logError("cannot start: %s", addr ? error.c_str() : why.c_str());
      control.shutdown();
      runtime.drain();
      runtime.wait();
      return 1;
    }
    app.metrics = &metrics;
  }
  ConfigWatch watch(loop, app.config_path, [&app] { reload(app, "file changed"); });
  if (runtime.config().watch_config) {
    if (!watch.start(&error)) {
      logWarn("watch_config: %s; SIGHUP still reloads", error.c_str());
    } else {
      app.watch = &watch;
    }
  }
  logInfo("rtmpgate %s started with %u workers", kVersion, runtime.workerCount());

  notifyReady();
  uv_run(loop, UV_RUN_DEFAULT);
  runtime.wait();
  control.shutdown();
  uv_loop_close(loop);
  logInfo("rtmpgate stopped");
  return 0;
}
