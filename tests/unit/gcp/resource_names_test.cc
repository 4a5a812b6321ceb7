#include "gcp/resource_names.h"

#include <catch2/catch.hpp>

#include "gcp/rest_client.h"
#include "gcp/types.h"

namespace dbconnd::gcp {
namespace {

TEST_CASE("resource names: each builder spells Google's name", "[names]") {
  CHECK(NetworkName("123456", "default") == "projects/123456/global/networks/default");
  CHECK(GlobalAddressName("shop-prod", "psa-range") ==
        "projects/shop-prod/global/addresses/psa-range");
  CHECK(ComputeScopeName("shop-prod", "") == "projects/shop-prod/global");
  CHECK(ComputeScopeName("shop-prod", "europe-west1") ==
        "projects/shop-prod/regions/europe-west1");
  CHECK(LocationName("shop-prod", "europe-west1") == "projects/shop-prod/locations/europe-west1");
  CHECK(ConnectorName("shop-prod", "europe-west1", "conn-a") ==
        "projects/shop-prod/locations/europe-west1/connectors/conn-a");
  CHECK(SqlConnectionName("shop-prod", "europe-west1", "db-1") == "shop-prod:europe-west1:db-1");
  CHECK(ServiceNetworkingConnections() == "services/servicenetworking.googleapis.com/connections");
  CHECK(kServiceNetworkingService == "services/servicenetworking.googleapis.com");
}

TEST_CASE("resource names: the typed records name themselves through the builders", "[names]") {
  Connector c;
  c.project = "p";
  c.region = "r";
  c.name = "c";
  CHECK(c.FullName() == ConnectorName("p", "r", "c"));
  RunWorkload job;
  job.kind = RunKind::kJob;
  job.project = "p";
  job.region = "r";
  job.name = "migrate";
  CHECK(job.FullName() == "projects/p/locations/r/jobs/migrate");
  job.kind = RunKind::kService;
  CHECK(job.FullName() == "projects/p/locations/r/services/migrate");
}

TEST_CASE("resource names: a URL's location encodes each segment", "[names]") {
  // A hostile region must not add path segments to the request.
  CHECK(EncodedLocationName("p", "r/../x") == "projects/p/locations/r%2F..%2Fx");
}

}  // namespace
}  // namespace dbconnd::gcp
