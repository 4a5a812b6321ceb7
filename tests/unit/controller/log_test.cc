#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "controller/log.h"

namespace dbconnd::controller {
namespace {

TEST_CASE("Redact hides bearer tokens, keys, JSON secrets and URL passwords") {
  CHECK(Redact("Authorization: Bearer ya29.a0AfH6SMBx-abc_def") == "Authorization: Bearer ***");
  CHECK(Redact("authorization: bearer abc.def") == "authorization: bearer ***");
  CHECK(Redact(R"({"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n","client_email":"a@b"})")
            .find("MIIE") == std::string::npos);
  std::string pem = "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
  CHECK(Redact(pem) == "key: ***");
  CHECK(Redact(R"({"access_token":"ya29.secret","expires_in":3599})") ==
        R"({"access_token":"***","expires_in":3599})");
  CHECK(Redact("postgres://saleor:hunter2@10.0.0.3:5432/saleor") ==
        "postgres://saleor:***@10.0.0.3:5432/saleor");
  CHECK(Redact("https://proxyuser:pa55@proxy:3128") == "https://proxyuser:***@proxy:3128");
  CHECK(Redact("grant_type=refresh_token&refresh_token=1//0gabc&client_secret=xyz") ==
        "grant_type=refresh_token&refresh_token=***&client_secret=***");
  CHECK(Redact("password=hunter2 user=saleor") == "password=*** user=saleor");
  // Torn line: the END marker never arrived.
  CHECK(Redact("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg").find("MIIE") == std::string::npos);
}

TEST_CASE("Redact leaves ordinary text alone") {
  std::string plain =
      "instance/saleor-db-demo: patched settings.ipConfiguration.authorizedNetworks "
      "(operation op-123) in 1.2s; url http://127.0.0.1:9090/status";
  CHECK(Redact(plain) == plain);
  CHECK(Redact("DATABASE_URL=postgres://saleor@10.0.0.3/saleor") ==
        "DATABASE_URL=postgres://saleor@10.0.0.3/saleor");
}

std::chrono::system_clock::time_point FixedTime() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'782'000'000'123));
}

TEST_CASE("JSON log lines carry Cloud Logging fields and never a secret") {
  std::vector<std::string> lines;
  Logger log({LogLevel::kInfo, LogFormat::kJson, [&](std::string_view l) { lines.emplace_back(l); },
              FixedTime});
  log.Log(LogLevel::kWarning, "patch failed: Bearer abc.def \"quoted\"",
          {"saleor", "instance/saleor-db-demo", "op-1", "r-7"});
  log.Log(LogLevel::kDebug, "not shown");
  REQUIRE(lines.size() == 1);
  REQUIRE(lines[0].back() == '\n');
  auto v = boost::json::parse(lines[0]).as_object();
  CHECK(v.at("severity") == "WARNING");
  CHECK(v.at("message") == "patch failed: Bearer *** \"quoted\"");
  CHECK(v.at("time") == "2026-06-21T00:00:00.123Z");
  CHECK(v.at("intent") == "saleor");
  CHECK(v.at("resource") == "instance/saleor-db-demo");
  CHECK(v.at("operation") == "op-1");
  CHECK(v.at("reconcile_id") == "r-7");
  CHECK(lines[0].find("abc.def") == std::string::npos);
}

TEST_CASE("Text log lines are readable and redacted: levels parse") {
  std::vector<std::string> lines;
  Logger log({LogLevel::kDebug, LogFormat::kText,
              [&](std::string_view l) { lines.emplace_back(l); }, FixedTime});
  log.Log(LogLevel::kDebug, "db postgres://u:pw@h/d", {"saleor", "", "", ""});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "2026-06-21T00:00:00.123Z DEBUG   db postgres://u:***@h/d intent=saleor\n");
  log.SetLevel(LogLevel::kError);
  log.Log(LogLevel::kWarning, "dropped");
  CHECK(lines.size() == 1);
  CHECK(ParseLogLevel("WARN") == LogLevel::kWarning);
  CHECK(ParseLogLevel("debug") == LogLevel::kDebug);
  CHECK_FALSE(ParseLogLevel("verbose").has_value());
}

TEST_CASE("A 40 kB value in a log line neither crashes nor floods the log") {
  // A 40 kB DATABASE_URL once crashed the regex redactor (SIGSEGV).
  std::vector<std::string> lines;
  Logger log({LogLevel::kInfo, LogFormat::kJson, [&](std::string_view l) { lines.emplace_back(l); },
              FixedTime});
  const std::string value(40000, 'a');
  log.Log(LogLevel::kInfo, "writing " + value, {"saleor", "job/" + value, "", ""});
  log.Log(LogLevel::kInfo, "url postgresql://u:" + value + "@h/d");
  REQUIRE(lines.size() == 2);
  auto v = boost::json::parse(lines[0]).as_object();
  const std::string message(v.at("message").as_string());
  CHECK(message.size() < 9000);
  CHECK(message.find("(40008 bytes)") != std::string::npos);
  CHECK(std::string(v.at("resource").as_string()).size() < 600);
  CHECK(lines[1].find("postgresql://u:***@h/d") != std::string::npos);
}

}  // namespace
}  // namespace dbconnd::controller
