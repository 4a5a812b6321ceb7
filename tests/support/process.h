#pragma once
// Subprocesses and loopback HTTP for tests and benchmarks that run the real
// binaries: a child in its own process group that dies with its parent, a
// blocking HTTP/1.0 client, bounded polling. No test framework here.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dbconnd::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls pred every `poll` until it holds or `limit` passes.
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds limit = std::chrono::seconds(10),
                    std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

struct HttpResult {
  int status = 0;  // 0: no answer
  std::string body;
};

// One blocking HTTP/1.0 request to 127.0.0.1:port (`timeout` bounds each
// step: connect, send, every read).
inline HttpResult Http(int port, const std::string& method, const std::string& path,
                       const std::string& body = "",
                       std::chrono::seconds timeout = std::chrono::seconds(2)) {
  HttpResult r;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  auto sp = resp.find(' ');
  auto head_end = resp.find("\r\n\r\n");
  if (sp == std::string::npos || head_end == std::string::npos) return r;
  r.status = std::atoi(resp.c_str() + sp + 1);
  r.body = resp.substr(head_end + 4);
  return r;
}

class Process {
 public:
  Process(std::vector<std::string> argv, std::string out_file, std::string err_file)
      : out_(std::move(out_file)), err_(std::move(err_file)) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Its own process group (killed as a whole), and it dies with the
      // test even when the test itself is killed: no leftovers.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (running()) {
      ::kill(-pid_, SIGKILL);
      Signal(SIGKILL);
      Wait(std::chrono::seconds(5));
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig) {
    if (pid_ > 0 && !exit_status_) ::kill(pid_, sig);
  }
  bool running() {
    if (exit_status_) return false;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) exit_status_ = st;
    return !exit_status_;
  }
  // SIGTERM, up to 15 s, then SIGKILL.
  void Stop() {
    if (!running()) return;
    Signal(SIGTERM);
    if (!Wait(std::chrono::seconds(15))) {
      Signal(SIGKILL);
      Wait(std::chrono::seconds(5));
    }
  }
  // Waits for exit; the raw wait status, or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds limit) {
    WaitFor([&] { return !running(); }, limit);
    return exit_status_;
  }
  std::string out() const { return ReadFile(out_); }
  std::string err() const { return ReadFile(err_); }

 private:
  pid_t pid_ = -1;
  std::string out_, err_;
  std::optional<int> exit_status_;
};

// The number in group 1 of the last match of `pattern` in `text` (a process
// restarted into the same log prints its port again); 0 when none.
inline int PortFrom(const std::string& text, const std::string& pattern) {
  std::smatch m;
  std::regex re(pattern);
  std::string last;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    last = (*it)[1];
  }
  return last.empty() ? 0 : std::atoi(last.c_str());
}

}  // namespace dbconnd::testing
