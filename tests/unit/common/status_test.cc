#include "common/status.h"

#include <catch2/catch.hpp>

namespace dbconnd {
namespace {

TEST_CASE("Status carries code, http status and reason into its text") {
  Status s = FailedPreconditionError("Condition does not match.").WithHttpStatus(412).WithReason("staleData");
  CHECK_FALSE(s.ok());
  CHECK(s.ToString() == "FAILED_PRECONDITION: Condition does not match. [http 412, reason staleData]");
  CHECK(std::move(s).Annotate("instances.patch saleor-db-demo").message() ==
        "instances.patch saleor-db-demo: Condition does not match.");
}

TEST_CASE("Code names round-trip and map to HTTP like google.rpc.Code") {
  for (int i = 0; i <= 16; ++i) {
    auto code = static_cast<StatusCode>(i);
    CHECK(StatusCodeFromName(StatusCodeName(code)) == code);
  }
  CHECK(HttpStatusForCode(StatusCode::kResourceExhausted) == 429);
  CHECK(HttpStatusForCode(StatusCode::kUnavailable) == 503);
  CHECK(CodeForHttpStatus(404) == StatusCode::kNotFound);
  CHECK(CodeForHttpStatus(503) == StatusCode::kUnavailable);
  CHECK(CodeForHttpStatus(502) == StatusCode::kInternal);
}

TEST_CASE("StatusOr holds a value or an error") {
  StatusOr<int> v = 7;
  REQUIRE(v.ok());
  CHECK(*v == 7);
  StatusOr<int> e = NotFoundError("no such instance");
  CHECK_FALSE(e.ok());
  CHECK(e.status().code() == StatusCode::kNotFound);
}

}  // namespace
}  // namespace dbconnd
