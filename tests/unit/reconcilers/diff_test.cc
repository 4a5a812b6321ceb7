#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "reconcilers/db_url.h"
#include "reconcilers/diff.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using testing::SeedInstance;
using testing::SeedJob;

struct InstanceCase {
  const char* name;
  std::function<void(gcp::SqlInstance& live, gcp::SqlInstance& want)> setup;
  const char* path;
  Impact impact;
};

TEST_CASE("DiffInstance: one impact class per kind of change", "[diff][impact]") {
  const InstanceCase cases[] = {
      {"attach a private network (irreversible)",
       [](auto&, auto& w) { w.private_network = "projects/p/global/networks/default"; },
       "settings.ipConfiguration.privateNetwork", Impact::kIrreversible},
      {"move to another private network (may restart)",
       [](auto& l, auto& w) {
         l.private_network = "projects/p/global/networks/a";
         w.private_network = "projects/p/global/networks/b";
       },
       "settings.ipConfiguration.privateNetwork", Impact::kMayRestart},
      {"public IP off (connectivity break)", [](auto&, auto& w) { w.ipv4_enabled = false; },
       "settings.ipConfiguration.ipv4Enabled", Impact::kConnectivityBreak},
      {"public IP on (online)",
       [](auto& l, auto& w) {
         l.ipv4_enabled = false;
         w.ipv4_enabled = true;
       },
       "settings.ipConfiguration.ipv4Enabled", Impact::kOnline},
      {"require TLS (connectivity break)", [](auto&, auto& w) { w.ssl_mode = "ENCRYPTED_ONLY"; },
       "settings.ipConfiguration.sslMode", Impact::kConnectivityBreak},
      {"relax TLS (online)",
       [](auto& l, auto& w) {
         l.ssl_mode = "ENCRYPTED_ONLY";
         w.ssl_mode = "ALLOW_UNENCRYPTED_AND_ENCRYPTED";
       },
       "settings.ipConfiguration.sslMode", Impact::kOnline},
      {"add authorized network (online)",
       [](auto&, auto& w) { w.authorized_networks.push_back({"198.51.100.0/24", "ci", ""}); },
       "settings.ipConfiguration.authorizedNetworks[198.51.100.0/24]", Impact::kOnline},
      {"remove authorized network (connectivity break)",
       [](auto& l, auto&) { l.authorized_networks.push_back({"198.51.100.0/24", "ci", ""}); },
       "settings.ipConfiguration.authorizedNetworks[198.51.100.0/24]", Impact::kConnectivityBreak},
      {"relabel authorized network (none)",
       [](auto& l, auto& w) {
         l.authorized_networks = {{"198.51.100.0/24", "old", ""}};
         w.authorized_networks = {{"198.51.100.0/24", "ci", ""}};
       },
       "settings.ipConfiguration.authorizedNetworks[198.51.100.0/24]", Impact::kNone},
      {"IAM flag on (online)",
       [](auto&, auto& w) { w.database_flags.push_back({"cloudsql.iam_authentication", "on"}); },
       "settings.databaseFlags[cloudsql.iam_authentication]", Impact::kOnline},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      gcp::SqlInstance live = SeedInstance();
      live.ipv4_enabled = true;
      gcp::SqlInstance want = live;
      c.setup(live, want);
      const auto changes = DiffInstance(want, live);
      REQUIRE(changes.size() == 1);
      CHECK(changes[0].path == c.path);
      CHECK(changes[0].impact == c.impact);
      const auto patch = MakeInstancePatch(want, live);
      CHECK_FALSE(patch.empty());
      CHECK(patch.settings_version == "7");
    }
  }
}

TEST_CASE("DiffInstance: in sync is zero changes and an empty patch", "[diff][converged]") {
  gcp::SqlInstance live = SeedInstance();
  gcp::SqlInstance want = live;
  // Order of lists is not a difference; Cloud SQL returns them as it likes.
  live.authorized_networks = {{"10.0.0.0/24", "a", ""}, {"10.0.1.0/24", "b", ""}};
  want.authorized_networks = {{"10.0.1.0/24", "b", ""}, {"10.0.0.0/24", "a", ""}};
  std::reverse(want.database_flags.begin(), want.database_flags.end());
  // A network given as a full URL is the same network.
  live.private_network = "projects/p/global/networks/default";
  want.private_network = "https://www.googleapis.com/compute/v1/projects/p/global/networks/default";
  CHECK(DiffInstance(want, live).empty());
  CHECK(MakeInstancePatch(want, live).empty());
}

TEST_CASE("MakeInstancePatch sends whole lists, including flags it does not own",
          "[diff][preserve]") {
  gcp::SqlInstance live = SeedInstance();
  gcp::SqlInstance want = live;
  want.database_flags.push_back({"cloudsql.iam_authentication", "on"});
  const auto patch = MakeInstancePatch(want, live);
  REQUIRE(patch.database_flags);
  CHECK(patch.database_flags->size() == 3);
  CHECK((*patch.database_flags)[0] == gcp::DatabaseFlag{"max_connections", "100"});
  CHECK_FALSE(patch.authorized_networks);
  CHECK_FALSE(patch.ssl_mode);
}

TEST_CASE("DiffConnector: network and range changes need a replace", "[diff][replace]") {
  gcp::Connector live{"p", "r", "c", "default", "10.8.0.0/28", "READY", "e2-micro", 2, 3, "", "", 0, 0};
  gcp::Connector want = live;
  want.max_instances = 10;  // creation-time default, not taken over
  want.machine_type = "e2-standard-4";
  CHECK(DiffConnector(want, live).empty());
  want.ip_cidr_range = "10.9.0.0/28";
  const auto changes = DiffConnector(want, live);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].replace);
  CHECK(changes[0].impact == Impact::kConnectivityBreak);
}

TEST_CASE("DiffWorkload: only edited env vars show, passwords masked", "[diff][secret]") {
  gcp::RunWorkload live = SeedJob();
  gcp::RunWorkload want = live;
  CHECK(DiffWorkload(want, live).empty());
  want.containers[0].env[1].value = "postgresql://saleor@10.20.0.3:5432/saleor?sslmode=require";
  want.containers[0].env.push_back({"DB_PASSWORD", "", gcp::SecretKeyRef{"projects/p/secrets/s", "3"}});
  const auto changes = DiffWorkload(want, live);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].path == "template.template.containers[saleor].env[DATABASE_URL]");
  CHECK(changes[0].before == "\"postgresql://saleor:***@34.41.195.120:5432/saleor\"");
  CHECK(changes[1].after == "secretKeyRef projects/p/secrets/s version 3");
  CHECK(changes[1].before.empty());
  CHECK(DisplayEnvValue({"API_TOKEN", "abc", std::nullopt}) == "*** (literal value)");
}

struct UrlCase {
  const char* url;
  const char* redacted;
  const char* host;
  const char* database;
};

TEST_CASE("RedactUrl and ParseDbUrl", "[db_url][secret]") {
  const UrlCase cases[] = {
      {"postgresql://saleor:secure-db-password-123@34.41.195.120:5432/saleor",
       "postgresql://saleor:***@34.41.195.120:5432/saleor", "34.41.195.120", "saleor"},
      {"postgresql://saleor@10.0.0.3:5432/saleor?sslmode=require",
       "postgresql://saleor@10.0.0.3:5432/saleor?sslmode=require", "10.0.0.3", "saleor"},
      {"postgresql://u:p/w@d@host:5432/db", "postgresql://u:***@host:5432/db", "host", "db"},
      {"postgresql://saleor:pw@/saleor?host=/cloudsql/p:r:i", "postgresql://saleor:***@/saleor?host=/cloudsql/p:r:i",
       "", "saleor"},
      {"mysql://root:pw@[::1]:3306/app", "mysql://root:***@[::1]:3306/app", "[::1]", "app"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    CHECK(RedactUrl(c.url) == c.redacted);
    auto parsed = ParseDbUrl(c.url);
    REQUIRE(parsed);
    CHECK(parsed->host == c.host);
    CHECK(parsed->database == c.database);
  }
  CHECK(RedactUrl("not a url") == "not a url");
  CHECK_FALSE(ParseDbUrl("plain-value"));
  auto u = ParseDbUrl("postgresql://a@h/d?x=1&sslmode=disable");
  REQUIRE(u);
  CHECK(QueryParam(*u, "sslmode") == std::optional<std::string>("disable"));
  CHECK_FALSE(QueryParam(*u, "host"));
}

TEST_CASE("CIDR and secret reference helpers", "[db_url]") {
  CHECK(CidrPrefixLength("0.0.0.0/0") == std::optional<int>(0));
  CHECK(CidrPrefixLength("10.8.0.0/28") == std::optional<int>(28));
  CHECK(CidrPrefixLength("34.41.195.120") == std::optional<int>(32));
  CHECK_FALSE(CidrPrefixLength("10.0.0/8"));
  CHECK_FALSE(CidrPrefixLength("10.0.0.0/33"));
  // The loader's strict octets: no value above 255, no octal-looking zeros.
  CHECK_FALSE(CidrPrefixLength("10.0.0.256/32"));
  CHECK_FALSE(CidrPrefixLength("010.0.0.0/8"));
  CHECK(CidrPrefixLength("10.0.0.1/8") == std::optional<int>(8));  // host bits: Google kept them
  const auto ref = ParseSecretVersion("projects/p/secrets/s/versions/7");
  CHECK(ref.secret == "projects/p/secrets/s");
  CHECK(ref.version == "7");
  CHECK(EncodeUserInfo("sa@p.iam") == "sa%40p.iam");
}

}  // namespace
}  // namespace dbconnd::reconcilers
