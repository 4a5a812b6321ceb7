#include <catch2/catch.hpp>

#include "gcp/status_mapping.h"

namespace dbconnd::gcp {
namespace {

TEST_CASE("Google error bodies map to the right Status", "[status_mapping]") {
  struct Case {
    const char* name;
    int http;
    std::string body;
    StatusCode code;
    std::string reason;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {"Cloud SQL 409 operationInProgress (legacy errors[])", 409,
       R"({"error":{"code":409,"message":"Operation failed because another operation was already in progress.","errors":[{"message":"Operation failed because another operation was already in progress.","domain":"global","reason":"operationInProgress"}]}})",
       StatusCode::kAborted, "operationInProgress", "another operation"},
      {"Cloud SQL 412 staleData", 412,
       R"({"error":{"code":412,"message":"Condition does not match.","errors":[{"message":"Condition does not match.","domain":"global","reason":"staleData","location":"If-Match","locationType":"header"}]}})",
       StatusCode::kFailedPrecondition, "staleData", "Condition does not match"},
      {"Cloud SQL 400 required settingsVersion", 400,
       R"({"error":{"code":400,"message":"Missing parameter: Settings version.","errors":[{"reason":"required"}]}})",
       StatusCode::kInvalidArgument, "required", "Settings version"},
      {"Run 404 with status and ErrorInfo details", 404,
       R"({"error":{"code":404,"message":"Resource 'j' of kind 'JOB' not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RESOURCE_NOT_FOUND","domain":"run.googleapis.com"}]}})",
       StatusCode::kNotFound, "RESOURCE_NOT_FOUND", "not found"},
      {"Run 400 FAILED_PRECONDITION keeps canonical status from body", 400,
       R"({"error":{"code":400,"message":"precondition","status":"FAILED_PRECONDITION"}})",
       StatusCode::kFailedPrecondition, "", "precondition"},
      {"Run 429 RESOURCE_EXHAUSTED", 429,
       R"({"error":{"code":429,"message":"Quota exceeded for quota metric 'Read requests'","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED"}]}})",
       StatusCode::kResourceExhausted, "RATE_LIMIT_EXCEEDED", "Quota exceeded"},
      {"Compute 403 rateLimitExceeded is RESOURCE_EXHAUSTED", 403,
       R"({"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"domain":"usageLimits","reason":"rateLimitExceeded"}]}})",
       StatusCode::kResourceExhausted, "rateLimitExceeded", "Rate Limit"},
      {"plain 403 stays PERMISSION_DENIED", 403,
       R"({"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}})",
       StatusCode::kPermissionDenied, "", "permission"},
      {"ALREADY_EXISTS 409", 409,
       R"({"error":{"code":409,"message":"exists","status":"ALREADY_EXISTS"}})",
       StatusCode::kAlreadyExists, "", "exists"},
      {"OAuth token endpoint error", 400,
       R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})",
       StatusCode::kInvalidArgument, "invalid_grant", "Invalid JWT Signature"},
      {"HTML 502 from a proxy", 502, "<html><body>Bad Gateway</body></html>",
       StatusCode::kInternal, "", "HTTP 502"},
      {"empty 503", 503, "", StatusCode::kUnavailable, "", "empty body"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      Status s = StatusFromHttp(c.http, c.body, "ctx");
      CHECK(s.code() == c.code);
      CHECK(s.http_status() == c.http);
      CHECK(s.reason() == c.reason);
      CHECK_THAT(s.message(), Catch::Contains(c.message_part, Catch::CaseSensitive::No));
      CHECK(s.message().rfind("ctx: ", 0) == 0);
    }
  }
}

TEST_CASE("RetryInfo delay is kept", "[status_mapping]") {
  auto e = MapHttpError(
      503,
      R"({"error":{"code":503,"status":"UNAVAILABLE","message":"try later","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3.5s"}]}})");
  REQUIRE(e.retry_delay.has_value());
  CHECK(*e.retry_delay == std::chrono::milliseconds(3500));
  CHECK(e.status.code() == StatusCode::kUnavailable);
  CHECK(ParseProtoDuration("0.250s") == std::chrono::milliseconds(250));
  CHECK(ParseProtoDuration("12s") == std::chrono::milliseconds(12000));
  CHECK_FALSE(ParseProtoDuration("abc").has_value());
  CHECK_FALSE(ParseProtoDuration("1.2").has_value());
}

TEST_CASE("non-JSON bodies are summarised, truncated and redacted", "[status_mapping]") {
  std::string token = "ya29.a0AfH6SMBsecretsecretsecret";
  std::string body = "<html>upstream said: Authorization: Bearer " + token + "\n" +
                     std::string(1000, 'x') + "</html>";
  Status s = StatusFromHttp(502, body);
  CHECK(s.message().find(token) == std::string::npos);
  CHECK(s.message().find("secretsecret") == std::string::npos);
  CHECK(s.message().size() < 300);
  CHECK_THAT(s.message(), Catch::Contains("bytes)"));
}

TEST_CASE("RedactSecrets removes credential shapes", "[status_mapping]") {
  CHECK(RedactSecrets("token ya29.abcdef end") == "token [REDACTED] end");
  CHECK(RedactSecrets("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln done") ==
        "jwt [REDACTED] done");
  CHECK(RedactSecrets("refresh_token=1//0abcdefghijk&x=1") == "refresh_token=[REDACTED]&x=1");
  CHECK(RedactSecrets(R"({"client_secret": "shh-very-secret"})") ==
        R"({"client_secret": "[REDACTED]"})");
  CHECK(RedactSecrets("k -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- z") ==
        "k [REDACTED] z");
  CHECK(RedactSecrets("custom S3cr3tValue here", {"S3cr3tValue"}) == "custom [REDACTED] here");
  // Ordinary resource names survive.
  CHECK(RedactSecrets("projects/melodic-now-463704-k1/instances/saleor-db-demo") ==
        "projects/melodic-now-463704-k1/instances/saleor-db-demo");
}

TEST_CASE("long-running operation errors map from google.rpc.Status", "[status_mapping]") {
  Status s = StatusFromRpcStatusJson(R"({"code":9,"message":"connector range overlaps"})");
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(s.message() == "connector range overlaps");
  CHECK(StatusFromRpcStatusJson("nope").code() == StatusCode::kUnknown);
}

}  // namespace
}  // namespace dbconnd::gcp
