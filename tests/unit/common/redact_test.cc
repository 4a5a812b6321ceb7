// Redact, HasLiteralPassword, IsPasswordName and CapForDisplay: every form
// a password is written in, and values sized to hurt.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "common/db_url.h"
#include "common/redact.h"

namespace dbconnd {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

struct MaskCase {
  const char* form;
  const char* text;
  const char* masked;
  bool literal_password;  // HasLiteralPassword(text)
};

// One row per form a password (or other credential) is written in.
const MaskCase kMaskCases[] = {
    {"url userinfo", "postgresql://app:s3cret@10.0.0.3:5432/db",
     "postgresql://app:***@10.0.0.3:5432/db", true},
    {"url userinfo with ?", "postgresql://app:pa?ss@10.0.0.3/db",
     "postgresql://app:***@10.0.0.3/db", true},
    {"url userinfo with /", "postgresql://app:p/a/ss@10.0.0.3/db",
     "postgresql://app:***@10.0.0.3/db", true},
    {"url userinfo with %40", "mysql://root:p%40ss%2Fw@db.internal:3306/app",
     "mysql://root:***@db.internal:3306/app", true},
    {"url userinfo with raw @", "postgresql://u:p@ss@host/db", "postgresql://u:***@host/db", true},
    {"url userinfo with :", "postgresql://u:a:b:c@host/db", "postgresql://u:***@host/db", true},
    {"url userinfo, unix socket", "postgresql://u:pw@/db?host=/cloudsql/p:r:i",
     "postgresql://u:***@/db?host=/cloudsql/p:r:i", true},
    {"url in a sentence", "connect to postgres://u:hunter22@h/d failed",
     "connect to postgres://u:***@h/d failed", true},
    {"url placeholder", "postgresql://u:$(DB_PASS)@h/d", "postgresql://u:***@h/d", false},
    {"url without password", "postgresql://app@10.0.0.3/db?sslmode=require",
     "postgresql://app@10.0.0.3/db?sslmode=require", false},
    {"query password=", "postgresql://h/db?user=app&password=s3cret&sslmode=require",
     "postgresql://h/db?user=app&password=***&sslmode=require", true},
    {"query pwd=", "mysql://h/db?pwd=s3cret", "mysql://h/db?pwd=***", true},
    {"query empty password", "postgresql://h/db?password=&sslmode=require",
     "postgresql://h/db?password=&sslmode=require", false},
    {"libpq dsn", "host=10.0.0.3 user=app password=s3cret dbname=db",
     "host=10.0.0.3 user=app password=*** dbname=db", true},
    {"libpq dsn quoted", R"(host=x password='a b\'c' dbname=d)",
     "host=x password='***' dbname=d", true},
    {"libpq dsn spaces around =", "host=x password = 'q w' port=5432",
     "host=x password = '***' port=5432", true},
    {"libpq dsn empty quoted", "host=x password='' dbname=d", "host=x password='' dbname=d",
     false},
    {"jdbc", "jdbc:postgresql://h:5432/db;user=app;password=s3cret;ssl=true",
     "jdbc:postgresql://h:5432/db;user=app;password=***;ssl=true", true},
    {"jdbc query", "jdbc:mysql://h/db?user=app&password=s3cret",
     "jdbc:mysql://h/db?user=app&password=***", true},
    {"odbc", "Driver={x};Server=h;Uid=app;Pwd=s3cret;", "Driver={x};Server=h;Uid=app;Pwd=***;",
     true},
    {"env assignment PGPASSWORD", "PGPASSWORD=s3cret psql", "PGPASSWORD=*** psql", true},
    {"env assignment MYSQL_PWD", "MYSQL_PWD=s3cret", "MYSQL_PWD=***", true},
    {"env assignment DB_PASSWORD", "export DB_PASSWORD=s3cret", "export DB_PASSWORD=***", true},
    {"placeholder", "password=$(DB_PASS)", "password=***", false},
    {"json", R"({"password": "s3cret", "user": "app"})", R"({"password": "***", "user": "app"})",
     false},
    {"json escaped quote", R"({"password":"a\"b","x":1})", R"({"password":"***","x":1})", false},
    {"json in a string", R"(body {\"client_secret\": \"abc\"} end)",
     R"(body {\"client_secret\": \"***\"} end)", false},
    {"yaml-ish", "password: s3cret", "password: ***", false},
    {"bearer", "Authorization: Bearer ya29.a0AfH6-x_y", "Authorization: Bearer ***", false},
    {"access token", "access_token=ya29.abc&x=1", "access_token=***&x=1", false},
    {"pem", "key -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- done",
     "key *** done", false},
    {"pem cut off", "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc", "***", false},
    {"nothing secret", "instance saleor-db is RUNNABLE; pageToken=abc",
     "instance saleor-db is RUNNABLE; pageToken=abc", false},
    {"words ending in pass", "stopped writing mid-pass: fence lost; bypass: on",
     "stopped writing mid-pass: fence lost; bypass: on", false},
    {"passwordSecret is a reference", "passwordSecret: projects/p/secrets/s/versions/1",
     "passwordSecret: projects/p/secrets/s/versions/1", false},
};

TEST_CASE("Every password form is masked and raises the literal-password check",
          "[redact][secret]") {
  for (const auto& c : kMaskCases) {
    INFO(c.form << ": " << c.text);
    CHECK(Redact(c.text) == c.masked);
    CHECK(HasLiteralPassword(c.text) == c.literal_password);
  }
}

TEST_CASE("Names that say their value is a password", "[redact][secret]") {
  for (const char* yes : {"PASSWORD", "PGPASSWORD", "MYSQL_PWD", "DB_PASSWORD", "db-passwd",
                          "DATABASE_PASS", "SpringDatasourcePassword", "pwd"}) {
    INFO(yes);
    CHECK(IsPasswordName(yes));
  }
  for (const char* no : {"DATABASE_URL", "PGUSER", "passwordSecret", "passwordEnv", "HOST",
                         "PASSPORT_ID", "BYPASS", "mid-pass", ""}) {
    INFO(no);
    CHECK_FALSE(IsPasswordName(no));
  }
}

TEST_CASE("ParseDbUrl finds the host behind any password", "[db_url][secret]") {
  struct Case {
    const char* url;
    const char* password;
    const char* host;
    const char* database;
  } cases[] = {
      {"postgresql://u:pa?ss@10.0.0.3:5432/db?sslmode=require", "pa?ss", "10.0.0.3", "db"},
      {"postgresql://u:p/w@d@host:5432/db", "p/w@d", "host", "db"},
      {"postgresql://u:p%40w@host/db", "p%40w", "host", "db"},
      {"postgresql://u@host:5432/db?user=a@b", "", "host", "db"},
  };
  for (const auto& c : cases) {
    INFO(c.url);
    auto u = ParseDbUrl(c.url);
    REQUIRE(u);
    CHECK(u->password == c.password);
    CHECK(u->host == c.host);
    CHECK(u->database == c.database);
  }
}

TEST_CASE("CapForDisplay keeps short values and cuts long ones at a character",
          "[redact][cap]") {
  CHECK(CapForDisplay("short", 200) == "short");
  CHECK(CapForDisplay(std::string(200, 'a'), 200) == std::string(200, 'a'));
  std::string big(40000, 'x');
  std::string capped = CapForDisplay(big, 200);
  CHECK(capped == std::string(200, 'x') + "\xE2\x80\xA6 (40000 bytes)");
  // "é" is two bytes: the cut never splits it.
  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\xC3\xA9";
  std::string cut = CapForDisplay(accents, 201);
  CHECK(cut.substr(0, 402) == accents.substr(0, 402));
  CHECK(cut.substr(402) == "\xE2\x80\xA6 (600 bytes)");
  // A password in a long value is masked before the cut.
  std::string url = "postgresql://u:" + std::string(500, 'p') + "@h/d";
  CHECK(RedactForDisplay(url, 200) == "postgresql://u:***@h/d");
}

TEST_CASE("Hostile sizes are scanned without a crash", "[redact][hostile]") {
  // 40 kB of letters (once a SIGSEGV in std::regex), then 1 MiB of various shapes.
  // Timings live in bench/redact_bench; this only proves the scanner copes.
  const std::string mib(1 << 20, 'a');
  CHECK(Redact(mib) == mib);
  CHECK(Redact("postgresql://u:" + mib + "@h/d") == "postgresql://u:***@h/d");
  std::string many_at = "postgresql://u:p";
  for (int i = 0; i < (1 << 18); ++i) many_at += "@:/?";
  CHECK_FALSE(Contains(Redact(many_at), "p@"));
  std::string assignments;
  for (int i = 0; i < (1 << 17); ++i) assignments += "password=a ";
  std::string r = Redact(assignments);
  CHECK_FALSE(Contains(r, "=a"));
  std::string pem = "-----BEGIN PRIVATE KEY-----" + mib;
  CHECK(Redact(pem) == "***");
  std::string begins;
  for (int i = 0; i < (1 << 15); ++i) begins += "-----BEGIN X-----END ";
  CHECK(Redact(begins) == begins);
  std::string schemes;
  for (int i = 0; i < (1 << 17); ++i) schemes += "a://b";
  CHECK(Redact(schemes) == schemes);
  std::string quotes = "password='" + std::string(1 << 20, '\\');
  CHECK(Redact(quotes) == "password='***");
  CHECK(HasLiteralPassword("postgresql://u:" + mib + "@h/d"));
  auto u = ParseDbUrl("postgresql://u:" + mib + "@h/d");
  REQUIRE(u);
  CHECK(u->host == "h");
  CHECK(CapForDisplay(mib).size() < 300);
}

}  // namespace
}  // namespace dbconnd
