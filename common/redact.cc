#include "common/redact.h"

#include <array>

namespace dbconnd {
namespace {

constexpr std::string_view kMask = "***";

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Characters of a key name: "spring.datasource.password", "MYSQL_PWD".
bool IsKeyChar(char c) { return IsAlnum(c) || c == '_' || c == '-' || c == '.'; }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Lower case without '_', '-' and '.': "Client-Secret" and "client_secret"
// are both "clientsecret". Names longer than this are not keys we know.
constexpr std::size_t kMaxKey = 128;

std::string NormalizeKey(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, kMaxKey)) {
    if (c == '_' || c == '-' || c == '.') continue;
    out += Lower(c);
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// `k` is NormalizeKey(raw). "PASS" counts alone or as a "_PASS" suffix
// (DB_PASS), not inside a word ("mid-pass", "bypass").
bool IsPasswordKey(std::string_view raw, const std::string& k) {
  if (k == "passwordsecret" || k == "passwordenv") return false;
  if (k.find("password") != std::string::npos || k.find("passwd") != std::string::npos ||
      EndsWith(k, "pwd") || k == "pass") {
    return true;
  }
  if (raw.size() < 5) return false;
  std::string tail;
  for (char c : raw.substr(raw.size() - 5)) tail += Lower(c);
  return tail == "_pass";
}

// Other names whose values are credentials.
bool IsOtherSecretKey(const std::string& k) {
  if (k == "passwordsecret") return false;  // a Secret Manager reference
  static constexpr std::array<std::string_view, 6> kExact = {
      "secret", "apikey", "privatekey", "privatekeyid", "accesskey", "credentials"};
  for (auto e : kExact) {
    if (k == e) return true;
  }
  if (EndsWith(k, "token")) return !EndsWith(k, "pagetoken") && !EndsWith(k, "executiontoken");
  return EndsWith(k, "secret") || EndsWith(k, "apikey") || EndsWith(k, "privatekey") ||
         EndsWith(k, "secretkey");
}

bool IsPlaceholder(std::string_view v) { return !v.empty() && v.front() == '$'; }

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool password = false;  // a password, not another kind of secret
  bool assigned = false;  // key=value (not key: value) or URL userinfo
};

// Ends of a token that holds a URL.
bool EndsUrl(char c) {
  return IsSpace(c) || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`';
}

// Ends of an unquoted value after key= / key:.
bool EndsBareValue(char c) {
  return IsSpace(c) || c == '&' || c == '"' || c == '\'' || c == ',' || c == ';' || c == '}';
}

bool StartsWithAt(std::string_view t, std::size_t i, std::string_view what) {
  return t.size() - i >= what.size() && t.compare(i, what.size(), what) == 0;
}

// At `i`, "-----BEGIN " or "-----END ": returns the end of the marker when
// it is "<prefix>[A-Z ]*PRIVATE KEY-----", else npos.
std::size_t PemMarkerEnd(std::string_view t, std::size_t i, std::string_view prefix) {
  if (!StartsWithAt(t, i, prefix)) return std::string_view::npos;
  std::size_t j = i + prefix.size();
  while (j < t.size() && ((t[j] >= 'A' && t[j] <= 'Z') || t[j] == ' ')) ++j;
  std::string_view label = t.substr(i + prefix.size(), j - i - prefix.size());
  if (!EndsWith(label, "PRIVATE KEY") || !StartsWithAt(t, j, "-----")) {
    return std::string_view::npos;
  }
  return j + 5;
}

// Calls on_span(Span) for each secret in `t`, in order, never overlapping.
// Every loop advances, and each byte is looked at a bounded number of
// times (the URL rule reads its token once more at most).
template <class F>
void ScanSecrets(std::string_view t, F&& on_span) {
  const std::size_t n = t.size();
  std::size_t i = 0;
  std::size_t url_end = 0;                      // end of the last URL token scanned
  std::size_t url_at = std::string_view::npos;  // its last '@'
  while (i < n) {
    const char c = t[i];
    if (c == '-') {
      std::size_t begin_end = PemMarkerEnd(t, i, "-----BEGIN ");
      if (begin_end != std::string_view::npos) {
        std::size_t end = n;
        for (std::size_t p = t.find("-----END ", begin_end); p != std::string_view::npos;
             p = t.find("-----END ", p + 9)) {
          std::size_t e = PemMarkerEnd(t, p, "-----END ");
          if (e != std::string_view::npos) {
            end = e;
            break;
          }
        }
        on_span(Span{i, end, false, false});
        i = end;
        continue;
      }
    }
    if (c == ':' && StartsWithAt(t, i, "://")) {
      // scheme://user:password@host...: the password runs from the first
      // ':' of the userinfo to the last '@' of the token, so it may hold
      // '?', '/', '#', ':' or even '@'. Over-masks a query holding '@'.
      const std::size_t s = i + 3;
      std::size_t e = s;
      std::size_t at = std::string_view::npos;
      if (s < url_end) {
        // Still inside the token scanned for an earlier "://" (a://b://c):
        // same end, and its last '@' if that lies ahead. Never rescanned.
        e = url_end;
        if (url_at != std::string_view::npos && url_at >= s) at = url_at;
      } else {
        while (e < n && !EndsUrl(t[e])) {
          if (t[e] == '@') at = e;
          ++e;
        }
        url_end = e;
        url_at = at;
      }
      std::size_t next = s;
      if (at != std::string_view::npos) {
        std::size_t colon = s;
        while (colon < at && t[colon] != ':' && t[colon] != '/' && t[colon] != '?' &&
               t[colon] != '#') {
          ++colon;
        }
        if (colon < at && t[colon] == ':' && colon + 1 < at) {
          on_span(Span{colon + 1, at, true, true});
        }
        next = at + 1;
      }
      i = next;
      continue;
    }
    if (!IsKeyChar(c)) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < n && IsKeyChar(t[j])) ++j;
    std::string_view word = t.substr(i, j - i);
    i = j;
    if (word.size() > kMaxKey) continue;
    const std::string key = NormalizeKey(word);

    if (key == "bearer") {
      std::size_t k = j;
      while (k < n && (t[k] == ' ' || t[k] == '\t')) ++k;
      if (k == j) continue;
      std::size_t m = k;
      while (m < n && (IsAlnum(t[m]) || std::string_view("._~+/=-_").find(t[m]) !=
                                            std::string_view::npos)) {
        ++m;
      }
      if (m > k) {
        on_span(Span{k, m, false, false});
        i = m;
      }
      continue;
    }

    const bool password = IsPasswordKey(word, key);
    if (!password && !IsOtherSecretKey(key)) continue;
    std::size_t k = j;
    // The closing quote of a JSON key: "password": or \"password\":
    if (k < n && (t[k] == '"' || t[k] == '\'')) {
      ++k;
    } else if (k + 1 < n && t[k] == '\\' && t[k + 1] == '"') {
      k += 2;
    }
    while (k < n && (t[k] == ' ' || t[k] == '\t')) ++k;
    if (k >= n || (t[k] != '=' && t[k] != ':')) continue;
    if (t[k] == ':' && StartsWithAt(t, k, "://")) continue;  // a URL scheme
    const bool assigned = t[k] == '=';
    ++k;
    while (k < n && (t[k] == ' ' || t[k] == '\t')) ++k;
    if (k >= n) continue;
    std::size_t vs = k;
    std::size_t p = k;
    if (t[k] == '\\' && k + 1 < n && t[k + 1] == '"') {
      // A JSON string escaped into another string: \"value\"
      vs = p = k + 2;
      while (p < n && !(t[p] == '\\' && p + 1 < n && t[p + 1] == '"')) {
        p += (t[p] == '\\' && p + 1 < n && t[p + 1] == '\\') ? 2 : 1;
      }
    } else if (t[k] == '"' || t[k] == '\'') {
      // "value" (JSON) or 'value' (libpq), with backslash escapes.
      const char quote = t[k];
      vs = p = k + 1;
      while (p < n && t[p] != quote) p += (t[p] == '\\' && p + 1 < n) ? 2 : 1;
      if (p > n) p = n;
    } else {
      while (p < n && !EndsBareValue(t[p])) ++p;
    }
    if (p > vs) on_span(Span{vs, p, password, assigned});
    i = p;
  }
}

}  // namespace

std::string Redact(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  bool any = false;
  ScanSecrets(text, [&](const Span& s) {
    if (!any) out.reserve(text.size());
    any = true;
    out.append(text.substr(copied, s.begin - copied));
    out.append(kMask);
    copied = s.end;
  });
  if (!any) return std::string(text);
  out.append(text.substr(copied));
  return out;
}

bool HasLiteralPassword(std::string_view value) {
  bool found = false;
  ScanSecrets(value, [&](const Span& s) {
    if (found || !s.password || !s.assigned) return;
    std::string_view v = value.substr(s.begin, s.end - s.begin);
    if (!IsPlaceholder(v)) found = true;
  });
  return found;
}

bool IsPasswordName(std::string_view name) {
  if (name.size() > kMaxKey) return false;
  return IsPasswordKey(name, NormalizeKey(name));
}

std::string CapForDisplay(std::string_view value, std::size_t max_chars) {
  std::size_t p = 0;
  for (std::size_t chars = 0; p < value.size() && chars < max_chars; ++chars) {
    ++p;
    // Continuation bytes (10xxxxxx) belong to the character before them.
    for (int k = 0; k < 3 && p < value.size() &&
                    (static_cast<unsigned char>(value[p]) & 0xC0) == 0x80;
         ++k) {
      ++p;
    }
  }
  if (p >= value.size()) return std::string(value);
  std::string out(value.substr(0, p));
  out += "\xE2\x80\xA6 (";  // U+2026 HORIZONTAL ELLIPSIS
  out += std::to_string(value.size());
  out += " bytes)";
  return out;
}

std::string RedactForDisplay(std::string_view value, std::size_t max_chars) {
  return CapForDisplay(Redact(value), max_chars);
}

}  // namespace dbconnd
