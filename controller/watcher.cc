#include "controller/watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "controller/log.h"

namespace dbconnd::controller {
namespace asio = boost::asio;

namespace {
std::string ParentDir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
}  // namespace

ConfigWatcher::ConfigWatcher(asio::any_io_executor executor, int fd)
    : stream_(executor, fd), debounce_timer_(executor) {}

ConfigWatcher::~ConfigWatcher() { Stop(); }

StatusOr<std::shared_ptr<ConfigWatcher>> ConfigWatcher::Start(
    asio::any_io_executor executor, const std::vector<std::string>& paths,
    std::chrono::milliseconds debounce, std::function<void()> on_change) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return InternalError(std::string("inotify_init1: ") + std::strerror(errno));
  std::shared_ptr<ConfigWatcher> w(new ConfigWatcher(executor, fd));
  w->debounce_ = debounce;
  w->on_change_ = std::move(on_change);
  std::set<std::string> dirs;
  for (const auto& p : paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      dirs.insert(p);
    } else {
      dirs.insert(ParentDir(p));
    }
  }
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB |
                             IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;
  for (const auto& d : dirs) {
    if (::inotify_add_watch(fd, d.c_str(), kMask) < 0) {
      return FailedPreconditionError("cannot watch " + d + ": " + std::strerror(errno));
    }
    w->directories_.push_back(d);
  }
  asio::co_spawn(executor, ReadLoop(w), asio::detached);
  return w;
}

void ConfigWatcher::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  debounce_timer_.cancel();
  stream_.cancel(ec);
  stream_.close(ec);
}

asio::awaitable<void> ConfigWatcher::ReadLoop(std::shared_ptr<ConfigWatcher> self) {
  alignas(struct inotify_event) std::array<char, 8192> buf;
  while (!self->stopped_) {
    auto [ec, n] = co_await self->stream_.async_read_some(
        asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec != asio::error::operation_aborted && !self->stopped_) {
        LogError("config watcher stopped: " + ec.message());
      }
      co_return;
    }
    if (n == 0) continue;
    self->events_ += 1;
    // Restarting the timer cancels the previous Fire: one call per burst.
    self->debounce_timer_.expires_after(self->debounce_);
    asio::co_spawn(self->stream_.get_executor(), Fire(self), asio::detached);
  }
}

asio::awaitable<void> ConfigWatcher::Fire(std::shared_ptr<ConfigWatcher> self) {
  auto [ec] = co_await self->debounce_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec || self->stopped_) co_return;
  if (self->on_change_) self->on_change_();
}

// ---- ConfigReloader -----------------------------------------------------------

ConfigReloader::ConfigReloader(std::vector<std::string> paths,
                               std::shared_ptr<Controller> controller, Metrics* metrics)
    : source_(std::move(paths)), controller_(std::move(controller)), metrics_(metrics) {}

namespace {

// Whether two generations differ in anything that affects reconciling. Both
// are sorted by name; an intent from an untouched file is the same object in
// both, so only re-parsed intents are fingerprinted.
bool SameIntents(const config::DesiredState& a, const config::DesiredState& b,
                 bool* same_objects) {
  *same_objects = a.intents.size() == b.intents.size();
  if (!*same_objects) return false;
  for (size_t i = 0; i < a.intents.size(); ++i) {
    const auto& x = a.intents[i];
    const auto& y = b.intents[i];
    if (x == y) continue;
    *same_objects = false;
    if (x->name != y->name || IntentFingerprint(*x) != IntentFingerprint(*y)) return false;
  }
  return true;
}

}  // namespace

Status ConfigReloader::Reload(const std::string& why, bool force_read) {
  const auto started = std::chrono::steady_clock::now();
  config::LoadResult r = source_.Load(force_read);
  const auto& stats = source_.last_stats();
  const std::string cost =
      std::to_string(stats.files_parsed) + " of " + std::to_string(r.files.size()) +
      " file(s) parsed in " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count()) +
      " ms";
  double now_unix = std::chrono::duration<double>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  if (!r.ok()) {
    std::vector<std::string> errors;
    std::string joined;
    for (const auto& d : r.diagnostics) {
      if (d.severity != config::Diagnostic::Severity::kError) continue;
      errors.push_back(config::FormatDiagnostic(d));
      joined += "\n  " + errors.back();
    }
    LogError("configuration change (" + why + ") is invalid; generation " +
             std::to_string(generation_) + " keeps running:" + joined);
    if (metrics_) metrics_->ConfigReload("invalid", generation_, now_unix);
    if (controller_) controller_->SetConfigErrors(errors);
    return InvalidArgumentError(std::to_string(errors.size()) + " error(s) in the configuration:" +
                                joined);
  }
  for (const auto& d : r.diagnostics) LogWarning(config::FormatDiagnostic(d));
  bool same_objects = false;
  if (last_good_ && SameIntents(*last_good_, *r.state, &same_objects)) {
    LogDebug("configuration reloaded (" + why + "): unchanged; " + cost);
    if (controller_) {
      if (same_objects) {
        controller_->SetConfigErrors({});
      } else {
        // Re-parsed but equal (a comment, a moved document): same
        // generation, current source locations.
        controller_->SetDesiredState(r.state, generation_);
      }
    }
    last_good_ = r.state;
    return Status();
  }
  ++generation_;
  last_good_ = r.state;
  LogInfo("configuration generation " + std::to_string(generation_) + " (" + why + "): " +
          std::to_string(r.state->intents.size()) + " intent(s) from " +
          std::to_string(r.files.size()) + " file(s); " + cost);
  if (metrics_) metrics_->ConfigReload("success", generation_, now_unix);
  if (controller_) controller_->SetDesiredState(r.state, generation_);
  return Status();
}

}  // namespace dbconnd::controller
