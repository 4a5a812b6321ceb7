// libFuzzer target over the redactor, the literal-password check, the
// display cap and the connection-URL parser: any byte string comes back
// without a crash, hang or blow-up, and a password wrapped into a URL or a
// quoted libpq value is always masked whatever bytes it holds.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/db_url.h"
#include "common/redact.h"

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

bool EndsUrlToken(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
         c == '"' || c == '\'' || c == '<' || c == '>' || c == '`';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string redacted = dbconnd::Redact(text);
  Require(redacted.size() <= text.size() + 3 * (text.size() + 1));
  (void)dbconnd::HasLiteralPassword(text);
  (void)dbconnd::IsPasswordName(text);
  std::string capped = dbconnd::CapForDisplay(text, 40);
  Require(capped.size() <= 40 * 4 + 40);
  if (auto url = dbconnd::ParseDbUrl(text)) {
    (void)dbconnd::QueryParam(*url, "sslmode");
  }

  // The input as a password in URL userinfo: masked whatever it holds
  // ('?', '/', ':', '%', '#', even "://"), short of what ends a URL token.
  std::string pw;
  for (char c : text) {
    if (!EndsUrlToken(c) && c != '@') pw += c;
  }
  if (!pw.empty()) {
    const std::string url = "postgresql://app:" + pw + "@db.internal:5432/app";
    Require(dbconnd::Redact(url) == "postgresql://app:***@db.internal:5432/app");
    Require(dbconnd::HasLiteralPassword(url) == (pw.front() != '$'));
    auto parsed = dbconnd::ParseDbUrl(url);
    Require(parsed.has_value());
    if (pw.find('?') == std::string::npos) {
      Require(parsed->host == "db.internal");
      Require(parsed->password == pw);
    }
  }

  // The input as a quoted libpq value, escaped as libpq wants.
  if (!text.empty()) {
    std::string quoted;
    for (char c : text) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    const std::string dsn = "host=10.0.0.3 password='" + quoted + "' dbname=app";
    Require(dbconnd::Redact(dsn) == "host=10.0.0.3 password='***' dbname=app");
  }
  return 0;
}
