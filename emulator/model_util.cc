#include "emulator/model_util.h"

#include <charconv>
#include <chrono>

#include "common/rfc3339.h"

namespace dbconnd::emulator {

std::string Rfc3339(int64_t ms) {
  return FormatRfc3339(SystemTime(std::chrono::milliseconds(ms)), 3);
}

net::HttpResponse JsonResponse(int http, const json::value& body) {
  net::HttpResponse r;
  r.status = http;
  r.SetHeader("Content-Type", "application/json; charset=UTF-8");
  r.body = json::serialize(body);
  return r;
}

net::HttpResponse ErrorResponse(int http, std::string_view status, std::string_view message,
                                std::string_view reason, std::string_view domain,
                                std::string_view location, std::string_view location_type) {
  json::object e{{"message", message}, {"domain", domain}, {"reason", reason}};
  if (!location.empty()) {
    e["location"] = location;
    e["locationType"] = location_type;
  }
  json::object err{{"code", http},
                   {"message", message},
                   {"status", status},
                   {"errors", json::array{e}},
                   {"details", json::array{json::object{
                                   {"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                   {"reason", reason},
                                   {"domain", "googleapis.com"}}}}};
  return JsonResponse(http, json::object{{"error", std::move(err)}});
}

net::HttpResponse ErrorFromStatus(const Status& s) {
  int http = s.http_status() ? s.http_status() : HttpStatusForCode(s.code());
  std::string reason = s.reason();
  if (reason.empty()) {
    switch (s.code()) {
      case StatusCode::kInvalidArgument: reason = "invalid"; break;
      case StatusCode::kNotFound: reason = "notFound"; break;
      case StatusCode::kAlreadyExists: reason = "alreadyExists"; break;
      case StatusCode::kFailedPrecondition: reason = "failedPrecondition"; break;
      case StatusCode::kUnauthenticated: reason = "authError"; break;
      case StatusCode::kPermissionDenied: reason = "forbidden"; break;
      default: reason = "backendError"; break;
    }
  }
  return ErrorResponse(http, StatusCodeName(s.code()), s.message(), reason);
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::map<std::string, std::string> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view kv = body.substr(pos, amp - pos);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string k = PercentDecode(kv.substr(0, eq), true);
      std::string v = eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1), true);
      out[k] = v;
    }
    pos = amp + 1;
  }
  return out;
}

Target ParseTarget(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  t.path = std::string(path);
  if (q != std::string_view::npos) t.query = ParseForm(target.substr(q + 1));
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) t.segs.push_back(PercentDecode(path.substr(pos, slash - pos), false));
    pos = slash + 1;
  }
  return t;
}

json::object* ObjAt(json::object& o, std::string_view key) {
  auto& v = o[key];
  if (!v.is_object()) v = json::object{};
  return &v.as_object();
}

const json::value* Find(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (auto k : path) {
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().if_contains(k);
    if (!cur) return nullptr;
  }
  return cur;
}

const json::value* Find(const json::object& o, std::initializer_list<std::string_view> path) {
  if (path.size() == 0) return nullptr;
  auto it = path.begin();
  const json::value* cur = o.if_contains(*it);
  for (++it; cur && it != path.end(); ++it) {
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().if_contains(*it);
  }
  return cur;
}

std::string Str(const json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  return {};
}

std::string Str(const json::object& o, std::string_view key) { return Str(o.if_contains(key)); }

void MergePatch(json::object& dst, const json::object& src) {
  for (const auto& [k, v] : src) {
    if (v.is_null()) {
      dst.erase(k);
    } else if (v.is_object()) {
      auto* d = dst.if_contains(k);
      if (d && d->is_object()) {
        MergePatch(d->as_object(), v.as_object());
      } else {
        dst[k] = v;
      }
    } else {
      dst[k] = v;
    }
  }
}

std::optional<uint32_t> ParseIpv4(std::string_view s) {
  uint32_t ip = 0;
  int parts = 0;
  size_t pos = 0;
  while (parts < 4) {
    size_t dot = s.find('.', pos);
    std::string_view part = s.substr(pos, dot == std::string_view::npos ? s.npos : dot - pos);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size() || v > 255) return std::nullopt;
    ip = (ip << 8) | v;
    ++parts;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (parts != 4) return std::nullopt;
  return ip;
}

std::string FormatIpv4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

std::optional<Cidr> ParseCidr(std::string_view s) {
  size_t slash = s.find('/');
  auto ip = ParseIpv4(s.substr(0, slash));
  if (!ip) return std::nullopt;
  int prefix = 32;
  if (slash != std::string_view::npos) {
    std::string_view p = s.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || prefix < 0 || prefix > 32) {
      return std::nullopt;
    }
  }
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return Cidr{*ip & mask, prefix};
}

bool CidrContains(const Cidr& c, uint32_t ip) {
  uint32_t mask = c.prefix == 0 ? 0 : ~uint32_t{0} << (32 - c.prefix);
  return (ip & mask) == c.base;
}

bool CidrOverlap(const Cidr& a, const Cidr& b) {
  return a.prefix <= b.prefix ? CidrContains(a, b.base) : CidrContains(b, a.base);
}

std::string LastSegment(const std::string& s) {
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

RegionalRef ParseRegionalRef(const std::string& ref, std::string_view kind) {
  auto at = ref.find("projects/");
  if (at == std::string::npos) {
    RegionalRef r{"", "", ref, !ref.empty() && ref.find('/') == std::string::npos};
    return r;
  }
  std::vector<std::string> parts;
  size_t pos = at;
  while (pos <= ref.size()) {
    size_t slash = ref.find('/', pos);
    if (slash == std::string::npos) slash = ref.size();
    parts.push_back(ref.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (parts.size() != 6 || parts[2] != "regions" || parts[4] != kind) return {};
  return {parts[1], parts[3], parts[5], true};
}

}  // namespace dbconnd::emulator
