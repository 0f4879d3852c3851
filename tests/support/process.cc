#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rtmpgate::test {

namespace {

using Clock = std::chrono::steady_clock;

ExitStatus fromWaitStatus(int ws) {
  ExitStatus s;
  if (WIFEXITED(ws)) {
    s.code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    s.signal = WTERMSIG(ws);
  }
  return s;
}

bool isExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

std::string findProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return isExecutableFile(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (isExecutableFile(candidate)) return candidate;
  }
  // Debian keeps nginx in /usr/sbin, which a non-root PATH often lacks.
  for (const char* dir2 : {"/usr/sbin", "/sbin"}) {
    std::string candidate = std::string(dir2) + "/" + program;
    if (isExecutableFile(candidate)) return candidate;
  }
  return "";
}

Process::Process(std::string program, std::vector<std::string> args, std::string logPath)
    : program_(std::move(program)), args_(std::move(args)), logPath_(std::move(logPath)) {
  const std::string resolved = findProgram(program_);
  if (resolved.empty()) throw std::runtime_error("program not found or not executable: " + program_);

  // Everything the child touches is prepared before fork: after fork in a
  // threaded process only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program_.c_str()));
  for (auto& a : args_) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int logFd = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (logFd < 0) throw std::runtime_error("cannot open log " + logPath_ + ": " + std::strerror(errno));
  int nullFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nullFd < 0) {
    ::close(logFd);
    throw std::runtime_error(std::string("cannot open /dev/null: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) {
    int err = errno;
    ::close(logFd);
    ::close(nullFd);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(err));
  }
  if (pid_ == 0) {
    // Own process group, so a stuck child's helpers (nginx workers) can be
    // killed together; and die with the test if the runner SIGKILLs it.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Ignored dispositions survive exec; a test that ignores SIGPIPE must not
    // hand that to ffmpeg or nginx.
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(nullFd, STDIN_FILENO);
    ::dup2(logFd, STDOUT_FILENO);
    ::dup2(logFd, STDERR_FILENO);
    ::execv(resolved.c_str(), argv.data());
    const char msg[] = "exec failed\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  // Also set the group from the parent side so a signal sent right away
  // cannot race the child's own setpgid.
  ::setpgid(pid_, pid_);
  ::close(logFd);
  ::close(nullFd);
}

Process::~Process() {
  if (pid_ > 0) stop();
}

std::string Process::commandLine() const {
  std::string s = program_;
  for (const auto& a : args_) s += " " + a;
  return s;
}

bool Process::reap(bool block) {
  if (status_) return true;
  if (pid_ <= 0) return false;
  int ws = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &ws, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = fromWaitStatus(ws);
    return true;
  }
  return false;
}

bool Process::running() { return pid_ > 0 && !reap(false); }

bool Process::signal(int sig) {
  if (!running()) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<ExitStatus> Process::waitExit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!reap(false)) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

ExitStatus Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return ExitStatus{};
  if (!status_) {
    ::kill(pid_, SIGTERM);
    if (!waitExit(grace)) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      reap(true);
    }
  }
  // A leader that exited may leave children in its group (nginx workers after
  // a master crash). The group id cannot be reused while members remain, so
  // this reaches only what we started.
  ::kill(-pid_, SIGKILL);
  return *status_;
}

std::string Process::logText() const { return readFileText(logPath_); }

std::string Process::logTail(std::size_t maxLines) const { return tailOfFile(logPath_, maxLines); }

std::string readFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tailOfFile(const std::string& path, std::size_t maxLines) {
  std::ifstream probe(path);
  if (!probe) return "(" + path + " does not exist)\n";
  std::string text = readFileText(path);
  if (text.empty()) return "(" + path + " is empty)\n";
  // ffmpeg redraws its progress line with '\r'; keep only the last redraw.
  std::string cleaned;
  cleaned.reserve(text.size());
  std::size_t lineStart = 0;
  bool redraw = false;
  for (char c : text) {
    if (c == '\r') {
      redraw = true;
      continue;
    }
    if (redraw && c != '\n') cleaned.resize(lineStart);
    redraw = false;
    cleaned.push_back(c);
    if (c == '\n') lineStart = cleaned.size();
  }
  if (cleaned.empty() || cleaned.back() != '\n') cleaned.push_back('\n');
  std::size_t pos = cleaned.size() - 1;
  std::size_t lines = 0;
  while (pos > 0) {
    --pos;
    if (cleaned[pos] == '\n' && ++lines == maxLines) {
      return "...\n" + cleaned.substr(pos + 1);
    }
  }
  return cleaned;
}

}  // namespace rtmpgate::test
