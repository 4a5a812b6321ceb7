#include "controller/log.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <memory>

#include "common/redact.h"
#include "common/rfc3339.h"

namespace dbconnd::controller {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void WriteStderr(std::string_view line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // nowhere to report a failing stderr
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  std::string t = Lower(text);
  if (t == "debug") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warning" || t == "warn") return LogLevel::kWarning;
  if (t == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string_view SeverityName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARNING";
    case LogLevel::kError: return "ERROR";
  }
  return "DEFAULT";
}

std::string Redact(std::string_view text) { return ::dbconnd::Redact(text); }

namespace {
// A log line quotes values from outside (a 40 kB DATABASE_URL): masked and
// capped so one line stays readable and cheap.
constexpr std::size_t kMessageCap = 8192;
constexpr std::size_t kFieldCap = 512;
}  // namespace

Logger::Logger(LoggerOptions options)
    : options_(std::move(options)), level_(static_cast<int>(options_.level)) {
  if (!options_.sink) options_.sink = WriteStderr;
  if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
  switch (options_.format) {
    case LogFormat::kJson: json_ = true; break;
    case LogFormat::kText: json_ = false; break;
    case LogFormat::kAuto: json_ = !::isatty(STDERR_FILENO); break;
  }
}

void Logger::SetLevel(LogLevel level) { level_.store(static_cast<int>(level)); }

std::string Logger::Format(LogLevel level, std::string_view message,
                           const LogFields& fields) const {
  std::string time = FormatRfc3339(options_.clock(), 3);
  std::string line;
  line.reserve(128 + message.size());
  struct Field {
    const char* key;
    const std::string* value;
  };
  const Field extra[] = {{"intent", &fields.intent},
                         {"resource", &fields.resource},
                         {"operation", &fields.operation},
                         {"reconcile_id", &fields.reconcile_id}};
  if (json_) {
    line += "{\"severity\":\"";
    line += SeverityName(level);
    line += "\",\"time\":\"";
    line += time;
    line += "\",\"message\":";
    AppendJsonString(line, RedactForDisplay(message, kMessageCap));
    for (const auto& f : extra) {
      if (f.value->empty()) continue;
      line += ",\"";
      line += f.key;
      line += "\":";
      AppendJsonString(line, RedactForDisplay(*f.value, kFieldCap));
    }
    line += "}\n";
  } else {
    line += time;
    line += ' ';
    std::string sev(SeverityName(level));
    sev.resize(7, ' ');
    line += sev;
    line += ' ';
    line += RedactForDisplay(message, kMessageCap);
    for (const auto& f : extra) {
      if (f.value->empty()) continue;
      line += ' ';
      line += f.key;
      line += '=';
      line += RedactForDisplay(*f.value, kFieldCap);
    }
    line += '\n';
  }
  return line;
}

void Logger::Log(LogLevel level, std::string_view message, const LogFields& fields) {
  if (!Enabled(level)) return;
  std::string line = Format(level, message, fields);
  std::lock_guard lock(mu_);
  options_.sink(line);
}

namespace {
std::mutex g_logger_mu;
std::shared_ptr<Logger>& GlobalSlot() {
  static auto* slot = new std::shared_ptr<Logger>(std::make_shared<Logger>());
  return *slot;
}
}  // namespace

Logger& GlobalLogger() {
  std::lock_guard lock(g_logger_mu);
  // The logger is never destroyed while the process runs (replaced loggers
  // are leaked on purpose: a component may still hold the reference).
  return *GlobalSlot();
}

void SetGlobalLogger(LoggerOptions options) {
  std::lock_guard lock(g_logger_mu);
  auto* keep = new std::shared_ptr<Logger>(GlobalSlot());  // see GlobalLogger
  (void)keep;
  GlobalSlot() = std::make_shared<Logger>(std::move(options));
}

}  // namespace dbconnd::controller
