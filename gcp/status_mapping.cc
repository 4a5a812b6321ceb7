#include "gcp/status_mapping.h"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <charconv>
#include <strings.h>

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

constexpr std::string_view kRedacted = "[REDACTED]";

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '~' || c == '+' || c == '/' || c == '=';
}

size_t TokenEnd(std::string_view s, size_t from) {
  while (from < s.size() && IsTokenChar(s[from])) ++from;
  return from;
}

bool StartsWithNoCase(std::string_view s, size_t at, std::string_view prefix) {
  return s.size() - at >= prefix.size() &&
         strncasecmp(s.data() + at, prefix.data(), prefix.size()) == 0;
}

// Keys whose values are credentials in OAuth / key-file JSON or form bodies.
constexpr std::array<std::string_view, 7> kSecretKeys = {
    "access_token", "refresh_token", "client_secret", "assertion",
    "private_key",  "id_token",      "password"};

std::string RedactPatterns(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    // PEM blocks, JSON-escaped or not.
    if (in.compare(i, 10, "-----BEGIN") == 0) {
      size_t end = in.find("-----END", i);
      if (end != std::string_view::npos) {
        end = in.find("-----", end + 8);
        end = end == std::string_view::npos ? in.size() : end + 5;
      } else {
        end = in.size();
      }
      out += kRedacted;
      i = end;
      continue;
    }
    bool boundary = i == 0 || !IsTokenChar(in[i - 1]);
    if (boundary) {
      size_t end = TokenEnd(in, i);
      std::string_view word = in.substr(i, end - i);
      bool secret_like = (word.rfind("ya29.", 0) == 0 && word.size() > 5) ||
                         (word.rfind("eyJ", 0) == 0 && word.size() >= 12) ||
                         (word.rfind("1//", 0) == 0 && word.size() >= 12);
      if (secret_like) {
        out += kRedacted;
        i = end;
        continue;
      }
      if (StartsWithNoCase(in, i, "bearer ")) {
        out.append(in.substr(i, 7));
        i += 7;
        size_t tend = TokenEnd(in, i);
        if (tend > i) {
          out += kRedacted;
          i = tend;
        }
        continue;
      }
      bool matched_key = false;
      for (std::string_view key : kSecretKeys) {
        if (!StartsWithNoCase(in, i, key)) continue;
        size_t j = i + key.size();
        // Accept `key":"v"`, `key" : "v"`, `key=v`.
        while (j < in.size() && (in[j] == '"' || in[j] == '\\' || in[j] == ' ')) ++j;
        if (j >= in.size() || (in[j] != ':' && in[j] != '=')) continue;
        ++j;
        while (j < in.size() && (in[j] == '"' || in[j] == '\\' || in[j] == ' ')) ++j;
        size_t vend = j;
        while (vend < in.size() && in[vend] != '"' && in[vend] != '&' && in[vend] != ',' &&
               in[vend] != '}' && !std::isspace(static_cast<unsigned char>(in[vend]))) {
          ++vend;
        }
        out.append(in.substr(i, j - i));
        if (vend > j) out += kRedacted;
        i = vend;
        matched_key = true;
        break;
      }
      if (matched_key) continue;
    }
    out.push_back(in[i]);
    ++i;
  }
  return out;
}

std::string_view AsString(const json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  const auto& s = v->get_string();
  return {s.data(), s.size()};
}

const json::value* Find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct Parsed {
  std::string message;
  std::string status_name;
  std::string reason;
  std::optional<std::chrono::milliseconds> retry_delay;
  bool had_body = false;
};

std::optional<std::chrono::milliseconds> DurationFromJson(const json::value& v) {
  if (v.is_string()) return ParseProtoDuration(AsString(&v));
  if (v.is_object()) {  // {seconds, nanos} form some gateways emit
    const auto& o = v.get_object();
    int64_t seconds = 0, nanos = 0;
    if (auto* s = Find(o, "seconds")) {
      if (s->is_int64()) seconds = s->get_int64();
      else if (s->is_string()) {
        auto str = AsString(s);
        std::from_chars(str.data(), str.data() + str.size(), seconds);
      }
    }
    if (auto* n = Find(o, "nanos"); n && n->is_int64()) nanos = n->get_int64();
    return std::chrono::milliseconds(seconds * 1000 + nanos / 1'000'000);
  }
  return std::nullopt;
}

void ParseRpcStatus(const json::object& err, Parsed& out) {
  out.had_body = true;
  out.message = std::string(AsString(Find(err, "message")));
  out.status_name = std::string(AsString(Find(err, "status")));
  if (auto* errors = Find(err, "errors"); errors && errors->is_array()) {
    for (const auto& e : errors->get_array()) {
      if (!e.is_object()) continue;
      auto reason = AsString(Find(e.get_object(), "reason"));
      if (!reason.empty()) {
        out.reason = std::string(reason);
        break;
      }
    }
  }
  if (auto* details = Find(err, "details"); details && details->is_array()) {
    for (const auto& d : details->get_array()) {
      if (!d.is_object()) continue;
      const auto& o = d.get_object();
      auto type = AsString(Find(o, "@type"));
      if (EndsWith(type, "google.rpc.ErrorInfo") && out.reason.empty()) {
        out.reason = std::string(AsString(Find(o, "reason")));
      } else if (EndsWith(type, "google.rpc.RetryInfo")) {
        if (auto* delay = Find(o, "retryDelay")) out.retry_delay = DurationFromJson(*delay);
      }
    }
  }
}

Parsed ParseBody(std::string_view body) {
  Parsed out;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return out;
  const auto& top = v.get_object();
  const json::value* err = Find(top, "error");
  if (err == nullptr) return out;
  if (err->is_object()) {
    ParseRpcStatus(err->get_object(), out);
  } else if (err->is_string()) {
    // OAuth 2.0 token endpoint (RFC 6749 §5.2).
    out.had_body = true;
    out.reason = std::string(AsString(err));
    auto desc = AsString(Find(top, "error_description"));
    out.message = desc.empty() ? out.reason : std::string(desc);
  }
  return out;
}

std::string WithContext(std::string_view context, std::string msg) {
  if (context.empty()) return msg;
  return std::string(context) + ": " + msg;
}

}  // namespace

std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets) {
  std::string s(text);
  for (const auto& secret : secrets) {
    if (secret.size() < 4) continue;  // too short to be a secret; avoid shredding text
    for (size_t pos = s.find(secret); pos != std::string::npos;
         pos = s.find(secret, pos + kRedacted.size())) {
      s.replace(pos, secret.size(), kRedacted);
    }
  }
  return RedactPatterns(s);
}

std::string SummarizeBody(std::string_view body, size_t max_chars) {
  if (body.empty()) return "empty body";
  std::string redacted = RedactSecrets(body.substr(0, std::min<size_t>(body.size(), 4096)));
  std::string out;
  bool last_space = false;
  for (char c : redacted) {
    unsigned char u = static_cast<unsigned char>(c);
    bool space = std::isspace(u) || std::iscntrl(u);
    if (space) {
      if (!last_space && !out.empty()) out.push_back(' ');
      last_space = true;
      continue;
    }
    last_space = false;
    out.push_back(u < 0x80 ? c : '?');
    if (out.size() >= max_chars) break;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() >= max_chars || body.size() > redacted.size()) {
    out += "... (" + std::to_string(body.size()) + " bytes)";
  }
  return out;
}

std::optional<std::chrono::milliseconds> ParseProtoDuration(std::string_view text) {
  if (text.size() < 2 || text.back() != 's') return std::nullopt;
  text.remove_suffix(1);
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  int64_t seconds = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  if (ec != std::errc() || p != whole.data() + whole.size() || seconds < 0) return std::nullopt;
  int64_t millis = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = text.substr(dot + 1);
    if (frac.empty() || frac.size() > 9) return std::nullopt;
    int scale = 100;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      millis += (c - '0') * scale;
      scale /= 10;
    }
  }
  return std::chrono::milliseconds(seconds * 1000 + millis);
}

GoogleError MapHttpError(int http_status, std::string_view body, std::string_view context) {
  Parsed parsed = ParseBody(body);
  StatusCode code = CodeForHttpStatus(http_status);
  if (!parsed.status_name.empty()) {
    StatusCode named = StatusCodeFromName(parsed.status_name);
    if (named != StatusCode::kUnknown || parsed.status_name == "UNKNOWN") code = named;
  } else if (http_status == 403 &&
             (parsed.reason == "rateLimitExceeded" || parsed.reason == "userRateLimitExceeded")) {
    code = StatusCode::kResourceExhausted;
  }
  if (code == StatusCode::kOk) code = StatusCode::kUnknown;  // a 2xx is never an error here

  std::string message;
  if (parsed.had_body) {
    message = RedactSecrets(parsed.message);
    if (message.empty()) message = "HTTP " + std::to_string(http_status);
  } else {
    message = "HTTP " + std::to_string(http_status) + " (" + SummarizeBody(body) + ")";
  }
  GoogleError out;
  out.status = Status(code, WithContext(context, std::move(message))).WithHttpStatus(http_status);
  if (!parsed.reason.empty()) out.status.WithReason(parsed.reason);
  out.retry_delay = parsed.retry_delay;
  return out;
}

Status StatusFromHttp(int http_status, std::string_view body, std::string_view context) {
  return MapHttpError(http_status, body, context).status;
}

Status StatusFromRpcStatusJson(std::string_view json_text) {
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec || !v.is_object()) return Status(StatusCode::kUnknown, "operation failed; error is not JSON");
  Parsed parsed;
  ParseRpcStatus(v.get_object(), parsed);
  StatusCode code = StatusCode::kUnknown;
  if (auto* c = Find(v.get_object(), "code"); c && c->is_int64()) {
    code = static_cast<StatusCode>(std::clamp<int64_t>(c->get_int64(), 0, 16));
  }
  if (!parsed.status_name.empty()) code = StatusCodeFromName(parsed.status_name);
  if (code == StatusCode::kOk) code = StatusCode::kUnknown;
  std::string message = RedactSecrets(parsed.message);
  if (message.empty()) message = "operation failed without a message";
  Status s(code, std::move(message));
  if (!parsed.reason.empty()) s.WithReason(parsed.reason);
  return s;
}

}  // namespace dbconnd::gcp
