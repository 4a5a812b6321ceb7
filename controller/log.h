#pragma once
// Structured logging for the daemon.
//
// On stderr as JSON lines Cloud Logging understands (`severity`, `message`,
// `time` in RFC 3339 UTC, plus `intent`, `resource`, `operation` and
// `reconcile_id` when set), or as readable text when stderr is a terminal.
// Every message and field value passes through Redact() first, so a token,
// private key or URL password that slips into an error string never reaches
// the log.
//
// Thread-safety: Logger::Log may be called from any thread; lines are written
// whole (one write(2) each) under a mutex.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace dbconnd::controller {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug" | "info" | "warning" (or "warn") | "error", case-insensitive.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
// Cloud Logging severity: "DEBUG", "INFO", "WARNING", "ERROR".
std::string_view SeverityName(LogLevel level);

// dbconnd::Redact (common/redact.h): replaces secret-shaped substrings with
// "***" in one linear scan: bearer tokens, PEM private keys, values of
// password-, token-, key- and secret-named keys (JSON, key=value, libpq
// DSNs, JDBC, query strings), and the password of URL userinfo
// (scheme://user:p?w/d@host -> scheme://user:***@host).
std::string Redact(std::string_view text);

struct LogFields {
  std::string intent;
  std::string resource;      // "instance/saleor-db-demo"
  std::string operation;     // Google operation name
  std::string reconcile_id;  // one id per reconcile of one key
};

enum class LogFormat { kAuto, kJson, kText };

struct LoggerOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kAuto;  // kAuto: text if stderr is a TTY
  // Receives one complete line (with trailing newline). Default: stderr.
  std::function<void(std::string_view)> sink;
  std::function<std::chrono::system_clock::time_point()> clock;  // default: system clock
};

class Logger {
 public:
  explicit Logger(LoggerOptions options = {});

  bool Enabled(LogLevel level) const { return static_cast<int>(level) >= level_.load(); }
  void SetLevel(LogLevel level);
  void Log(LogLevel level, std::string_view message, const LogFields& fields = {});

  // The line Log would write (exposed for tests), without checking the level.
  std::string Format(LogLevel level, std::string_view message, const LogFields& fields) const;

 private:
  LoggerOptions options_;
  bool json_ = true;
  std::atomic<int> level_;
  std::mutex mu_;
};

// The process-wide logger the daemon's components use. Defaults to info/JSON-
// or-TTY on stderr; `dbconnd run` replaces it according to --log-level.
Logger& GlobalLogger();
void SetGlobalLogger(LoggerOptions options);

inline void LogDebug(std::string_view m, const LogFields& f = {}) {
  GlobalLogger().Log(LogLevel::kDebug, m, f);
}
inline void LogInfo(std::string_view m, const LogFields& f = {}) {
  GlobalLogger().Log(LogLevel::kInfo, m, f);
}
inline void LogWarning(std::string_view m, const LogFields& f = {}) {
  GlobalLogger().Log(LogLevel::kWarning, m, f);
}
inline void LogError(std::string_view m, const LogFields& f = {}) {
  GlobalLogger().Log(LogLevel::kError, m, f);
}

}  // namespace dbconnd::controller
