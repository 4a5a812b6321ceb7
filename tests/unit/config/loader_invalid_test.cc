// Invalid inputs, one TEST_CASE each: every case asserts the message, the
// field path and the exact line:column. The document prefix (lines 1-9) is in
// test_util.h; cases append from line 10.

#include <catch2/catch.hpp>

#include "config/loader.h"
#include "test_util.h"

using dbconnd::config::testing::Doc;
using dbconnd::config::testing::DocWith;

// Ready-made tails.
#define PRIVATE_PATH                              \
  "    privateIp: {network: default}\n"          \
  "  connector: {name: app-conn, network: default, ipCidrRange: 10.8.0.0/28}\n"
#define DB "      database: {name: app, user: app, passwordSecret: projects/p/secrets/s/versions/1}\n"

// --- document shape -------------------------------------------------------
DBCONND_INVALID_CASE("apiVersion other than v1alpha1",
                     DocWith("dbconnd.dev/v1alpha1", "dbconnd.dev/v1"), "apiVersion", 1,
                     "dbconnd.dev/v1", "write apiVersion: dbconnd.dev/v1alpha1")
DBCONND_INVALID_CASE("kind of another resource", DocWith("DatabaseConnectivity", "ConfigMap"),
                     "kind", 2, "ConfigMap", "is not handled by dbconnd")
DBCONND_INVALID_CASE("document is a list", "- a\n- b\n", "", 1, "- a",
                     "a document must be a mapping with apiVersion")
DBCONND_INVALID_CASE("YAML syntax error is located", Doc("    sslMode: [ENCRYPTED_ONLY\n"), "", 11,
                     "", "YAML syntax error")
DBCONND_INVALID_CASE("spec is a string, not a mapping",
                     "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\n"
                     "metadata: {name: app}\nspec: my-project\n",
                     "spec", 4, "my-project", "expected a mapping")
DBCONND_INVALID_CASE("missing metadata.name", DocWith("{name: app}", "{}"), "metadata.name", 3, "{}",
                     "missing required field; write name:")
DBCONND_INVALID_CASE("metadata.name with uppercase and underscore",
                     DocWith("{name: app}", "{name: App_1}"), "metadata.name", 3, "App_1",
                     "must start with a lowercase letter")
DBCONND_INVALID_CASE("missing instance", DocWith("  instance:\n    name: db1\n", ""), "spec.instance",
                     5, "project", "missing required field; write instance:")
DBCONND_INVALID_CASE("required field with no value", DocWith("name: db1", "name:"),
                     "spec.instance.name", 9, "name", "has no value")

// --- unknown keys -------------------------------------------------------------
DBCONND_INVALID_CASE("unknown key near miss suggests the right spelling",
                     Doc("    sslmode: ENCRYPTED_ONLY\n"), "spec.instance.sslmode", 10, "sslmode",
                     "did you mean \"sslMode\"?")
DBCONND_INVALID_CASE("snake_case key suggests camelCase", Doc("    iam_authentication: true\n"),
                     "spec.instance.iam_authentication", 10, "iam_",
                     "did you mean \"iamAuthentication\"?")
DBCONND_INVALID_CASE("right key at the wrong level", Doc("    network: default\n"),
                     "spec.instance.network", 10, "network",
                     "belongs in spec.instance.privateIp.network")
DBCONND_INVALID_CASE("unknown key lists the allowed ones", Doc("  owner: team-x\n"),
                     "spec.owner", 10, "owner", "allowed keys here: project, projectNumber")
DBCONND_INVALID_CASE("duplicate key", Doc("    name: db2\n"), "spec.instance.name", 10, "name",
                     "duplicate key \"name\" (first written at line 9)")

// --- names ------------------------------------------------------------------------
DBCONND_INVALID_CASE("project ID too short", DocWith("my-project-123", "my-pr"), "spec.project", 5,
                     "my-pr", "6 to 30 characters")
DBCONND_INVALID_CASE("project ID with uppercase", DocWith("my-project-123", "My-Project-123"),
                     "spec.project", 5, "My-", "must start with a lowercase letter")
DBCONND_INVALID_CASE("project number with letters", DocWith("\"123456789012\"", "\"12ab\""),
                     "spec.projectNumber", 6, "\"12ab\"", "must be the project's number")
DBCONND_INVALID_CASE("region given as a zone", DocWith("us-central1", "us-central1-a"), "spec.region",
                     7, "us-central1-a", "not a zone")
DBCONND_INVALID_CASE("instance name with underscore", DocWith("name: db1", "name: db_1"),
                     "spec.instance.name", 9, "db_1", "lowercase letters, digits and hyphens")
DBCONND_INVALID_CASE("connector name too long once hyphens count double",
                     Doc("  connector: {name: my-app-db-conn-xyz, network: default, ipCidrRange: 10.8.0.0/28}\n"),
                     "spec.connector.name", 10, "my-app", "counts as 22 characters")
DBCONND_INVALID_CASE("service name longer than 49",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - service: a123456789-123456789-123456789-123456789-1234567890\n"
                         "      method: cloudSqlSocket\n" DB),
                     "spec.workloads[0].service", 12, "a1234", "the limit is 49")
DBCONND_INVALID_CASE("job name ending in a hyphen",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n    - job: migrate-\n"
                         "      method: cloudSqlSocket\n" DB),
                     "spec.workloads[0].job", 12, "migrate-", "not end with a hyphen")

// --- types and enums ------------------------------------------------------------------
DBCONND_INVALID_CASE("sslMode unknown value", Doc("    sslMode: REQUIRED\n"), "spec.instance.sslMode",
                     10, "REQUIRED", "write one of: ALLOW_UNENCRYPTED_AND_ENCRYPTED, ENCRYPTED_ONLY")
DBCONND_INVALID_CASE("sslMode in the wrong case", Doc("    sslMode: encrypted_only\n"),
                     "spec.instance.sslMode", 10, "encrypted_only", "write ENCRYPTED_ONLY")
DBCONND_INVALID_CASE("boolean written as yes", Doc("    iamAuthentication: yes\n"),
                     "spec.instance.iamAuthentication", 10, "yes", "expected true or false")
DBCONND_INVALID_CASE("boolean in quotes", Doc("    iamAuthentication: \"true\"\n"),
                     "spec.instance.iamAuthentication", 10, "\"true\"", "without quotes")
DBCONND_INVALID_CASE("string where a mapping is expected", Doc("    publicIp: true\n"),
                     "spec.instance.publicIp", 10, "true", "expected a mapping")
DBCONND_INVALID_CASE("mapping where a string is expected", Doc("    sslMode: {mode: x}\n"),
                     "spec.instance.sslMode", 10, "{", "expected a single value")
DBCONND_INVALID_CASE("publicIp without enabled", Doc("    publicIp: {authorizedNetworks: []}\n"),
                     "spec.instance.publicIp.enabled", 10, "{", "missing required field")
DBCONND_INVALID_CASE("authorizedNetworks is not a list",
                     Doc("    publicIp: {enabled: true, authorizedNetworks: 203.0.113.0/24}\n"),
                     "spec.instance.publicIp.authorizedNetworks", 10, "203.", "expected a list")
DBCONND_INVALID_CASE("workloads is a mapping", Doc("  workloads: {job: x}\n"), "spec.workloads", 10,
                     "{", "expected a list")
DBCONND_INVALID_CASE("minInstances is not a number",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 10.8.0.0/28, minInstances: two}\n"),
                     "spec.connector.minInstances", 10, "two}", "expected a whole number from 2 to 9")
DBCONND_INVALID_CASE("maxInstances out of range",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 10.8.0.0/28, maxInstances: 50}\n"),
                     "spec.connector.maxInstances", 10, "50", "out of range; write a number from 3 to 10")
DBCONND_INVALID_CASE("machineType unknown",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 10.8.0.0/28, machineType: n1-standard-1}\n"),
                     "spec.connector.machineType", 10, "n1-", "write one of: e2-micro, f1-micro")
DBCONND_INVALID_CASE("policy mode unknown", Doc("  policy: {mode: dry-run}\n"), "spec.policy.mode", 10,
                     "dry-run", "write one of: enforce, observe")
DBCONND_INVALID_CASE("resyncInterval without a unit", Doc("  policy: {resyncInterval: 60}\n"),
                     "spec.policy.resyncInterval", 10, "60", "with a unit such as 60s")
DBCONND_INVALID_CASE("resyncInterval too short", Doc("  policy: {resyncInterval: 1s}\n"),
                     "spec.policy.resyncInterval", 10, "1s", "between 10s and 24h")
DBCONND_INVALID_CASE("egress with gcloud spelling",
                     Doc(PRIVATE_PATH "  workloads:\n    - job: migrate\n      method: privateIp\n"
                         "      egress: private-ranges-only\n" DB),
                     "spec.workloads[0].egress", 15, "private-", "write PRIVATE_RANGES_ONLY")

#define DIRECT(dv) \
  "    privateIp: {network: default}\n  workloads:\n    - job: migrate\n      method: privateIp\n" dv DB
DBCONND_INVALID_CASE("directVpc in another network than the instance's private IP",
                     Doc(DIRECT("      directVpc: {network: other}\n")), "spec.workloads[0].directVpc.network", 14,
                     "other", "cannot reach the instance's private IP in network \"default\"")
DBCONND_INVALID_CASE("directVpc subnetwork of another region",
                     Doc(DIRECT("      directVpc: {network: default, subnetwork: "
                                "projects/host-project-1/regions/europe-west1/subnetworks/shared}\n")),
                     "spec.workloads[0].directVpc.subnetwork", 14, "projects/host",
                     "subnetwork is in region europe-west1 but the workload runs in us-central1")
DBCONND_INVALID_CASE("directVpc subnetwork as a URL of something else",
                     Doc(DIRECT("      directVpc: {network: default, subnetwork: projects/p/global/networks/default}\n")),
                     "spec.workloads[0].directVpc.subnetwork", 14, "projects/p",
                     "projects/HOST_PROJECT/regions/REGION/subnetworks/NAME")
DBCONND_INVALID_CASE("directVpc network written as a path",
                     Doc(DIRECT("      directVpc: {network: projects/p/global/networks/default}\n")),
                     "spec.workloads[0].directVpc.network", 14, "projects/p", "write the short network name")
DBCONND_INVALID_CASE("directVpc with method publicIp",
                     Doc("    publicIp:\n      enabled: true\n      authorizedNetworks: [{name: nat, cidr: 203.0.113.7/32}]\n"
                         "  workloads:\n    - job: migrate\n      method: publicIp\n      directVpc: {network: default}\n" DB),
                     "spec.workloads[0].directVpc", 16, "{network", "directVpc applies only to methods privateIp and psc")

// --- CIDRs and world-open networks ----------------------------------------------------------
#define NETS(line) "    publicIp:\n      enabled: true\n      authorizedNetworks:\n" line
DBCONND_INVALID_CASE("authorized network with host bits set",
                     Doc(NETS("        - {name: office, cidr: 203.0.113.7/24}\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].cidr", 13, "203.",
                     "203.0.113.7/24 has host bits set; write 203.0.113.0/24")
DBCONND_INVALID_CASE("authorized network without a prefix",
                     Doc(NETS("        - {name: nat, cidr: 198.51.100.7}\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].cidr", 13, "198.",
                     "write 198.51.100.7/32 for a single address")
DBCONND_INVALID_CASE("authorized network octet out of range",
                     Doc(NETS("        - {name: x, cidr: 300.1.2.0/24}\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].cidr", 13, "300.",
                     "is not an IPv4 CIDR")
DBCONND_INVALID_CASE("authorized network with a leading-zero octet",
                     Doc(NETS("        - {name: x, cidr: 010.1.2.0/24}\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].cidr", 13, "010.",
                     "without leading zeros")
DBCONND_INVALID_CASE("0.0.0.0/0 refused without allowWorldOpen",
                     Doc(NETS("        - name: anyone\n          cidr: 0.0.0.0/0\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].cidr", 14, "0.0.0.0/0",
                     "0.0.0.0/0 opens the instance to every address on the internet")
DBCONND_INVALID_CASE("prefix shorter than /8 refused",
                     Doc(NETS("        - {name: half, cidr: 0.0.0.0/1}\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].cidr", 13, "0.0.0.0/1",
                     "prefix shorter than /8")
DBCONND_INVALID_CASE("duplicate authorized network name",
                     Doc(NETS("        - {name: office, cidr: 203.0.113.0/24}\n"
                              "        - {name: office, cidr: 198.51.100.0/24}\n")),
                     "spec.instance.publicIp.authorizedNetworks[1].name", 14, "office",
                     "is already used at line 13")
DBCONND_INVALID_CASE("duplicate authorized network cidr",
                     Doc(NETS("        - {name: a, cidr: 203.0.113.0/24}\n"
                              "        - {name: b, cidr: 203.0.113.0/24}\n")),
                     "spec.instance.publicIp.authorizedNetworks[1].cidr", 14, "203.",
                     "is already listed at line 13")
DBCONND_INVALID_CASE("authorized network expiry not RFC 3339",
                     Doc(NETS("        - {name: a, cidr: 203.0.113.0/24, expires: tomorrow}\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].expires", 13, "tomorrow",
                     "write e.g. 2025-12-31T23:59:59Z")
DBCONND_INVALID_CASE("authorized network without a name",
                     Doc(NETS("        - {cidr: 203.0.113.0/24}\n")),
                     "spec.instance.publicIp.authorizedNetworks[0].name", 13, "{",
                     "missing required field")

// --- private IP, services access, connector ----------------------------------------------------
DBCONND_INVALID_CASE("network written as a resource path",
                     Doc("    privateIp: {network: projects/p/global/networks/default}\n"),
                     "spec.instance.privateIp.network", 10, "projects/",
                     "write the short network name \"default\"")
DBCONND_INVALID_CASE("services access prefixLength disagrees with cidr",
                     Doc("    privateIp:\n      network: default\n"
                         "      servicesAccess: {cidr: 10.20.0.0/16, prefixLength: 20}\n"),
                     "spec.instance.privateIp.servicesAccess.prefixLength", 12, "20}",
                     "remove prefixLength or write 16")
DBCONND_INVALID_CASE("services access range smaller than /24",
                     Doc("    privateIp:\n      network: default\n"
                         "      servicesAccess: {cidr: 10.20.0.0/26}\n"),
                     "spec.instance.privateIp.servicesAccess.cidr", 12, "10.20",
                     "Cloud SQL needs at least a /24")
DBCONND_INVALID_CASE("services access range in public space",
                     Doc("    privateIp:\n      network: default\n"
                         "      servicesAccess: {cidr: 8.8.0.0/16}\n"),
                     "spec.instance.privateIp.servicesAccess.cidr", 12, "8.8",
                     "must be private address space")
DBCONND_INVALID_CASE("connector range not a /28",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 10.8.0.0/24}\n"),
                     "spec.connector.ipCidrRange", 10, "10.8", "must be a /28")
DBCONND_INVALID_CASE("connector range outside RFC 1918",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 100.64.0.0/28}\n"),
                     "spec.connector.ipCidrRange", 10, "100.64", "must be inside RFC 1918 space")
DBCONND_INVALID_CASE("connector range with host bits",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 10.8.0.1/28}\n"),
                     "spec.connector.ipCidrRange", 10, "10.8", "write 10.8.0.0/28")
DBCONND_INVALID_CASE("connector overlaps the services access range",
                     Doc("    privateIp:\n      network: default\n"
                         "      servicesAccess: {cidr: 10.8.0.0/16}\n"
                         "  connector: {name: c1, network: default, ipCidrRange: 10.8.0.16/28}\n"),
                     "spec.connector.ipCidrRange", 13, "10.8",
                     "overlaps the private services access range 10.8.0.0/16 (line 12)")
DBCONND_INVALID_CASE("connector overlaps an authorized network",
                     Doc(NETS("        - {name: lan, cidr: 192.168.0.0/16}\n")
                         "  connector: {name: c1, network: default, ipCidrRange: 192.168.5.0/28}\n"),
                     "spec.connector.ipCidrRange", 14, "192.168.5",
                     "overlaps authorized network 192.168.0.0/16 (line 13)")
DBCONND_INVALID_CASE("connector maxInstances not above minInstances",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 10.8.0.0/28, "
                         "minInstances: 5, maxInstances: 4}\n"),
                     "spec.connector.maxInstances", 10, "4}", "must be greater than minInstances (5)")

// --- workloads and methods ------------------------------------------------------------------------
DBCONND_INVALID_CASE("workload is both job and service",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: a\n      service: b\n      method: cloudSqlSocket\n" DB),
                     "spec.workloads[0]", 12, "job", "either job: NAME or service: NAME, not both")
DBCONND_INVALID_CASE("workload without a name",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - method: cloudSqlSocket\n" DB),
                     "spec.workloads[0]", 12, "method", "write job: NAME or service: NAME")
DBCONND_INVALID_CASE("unknown method",
                     Doc("  workloads:\n    - job: migrate\n      method: vpc\n" DB),
                     "spec.workloads[0].method", 12, "vpc",
                     "write one of: privateIp, cloudSqlSocket, publicIp")
DBCONND_INVALID_CASE("privateIp method without private IP on the instance",
                     Doc("  connector: {name: c1, network: default, ipCidrRange: 10.8.0.0/28}\n"
                         "  workloads:\n    - job: migrate\n      method: privateIp\n" DB),
                     "spec.workloads[0].method", 13, "privateIp",
                     "method privateIp needs spec.instance.privateIp")
DBCONND_INVALID_CASE("privateIp method without a connector",
                     Doc("    privateIp: {network: default}\n"
                         "  workloads:\n    - job: migrate\n      method: privateIp\n" DB),
                     "spec.workloads[0].method", 13, "privateIp", "method privateIp needs spec.connector")
DBCONND_INVALID_CASE("privateIp method with the connector in another network",
                     Doc("    privateIp: {network: default}\n"
                         "  connector: {name: c1, network: shared-vpc, ipCidrRange: 10.8.0.0/28}\n"
                         "  workloads:\n    - job: migrate\n      method: privateIp\n" DB),
                     "spec.workloads[0].method", 14, "privateIp",
                     "spec.connector.network is \"shared-vpc\" and spec.instance.privateIp.network is \"default\"")
DBCONND_INVALID_CASE("publicIp method with the public IP off",
                     Doc("    publicIp: {enabled: false}\n"
                         "  workloads:\n    - service: web\n      method: publicIp\n" DB),
                     "spec.workloads[0].method", 13, "publicIp",
                     "method publicIp needs spec.instance.publicIp.enabled: true")
DBCONND_INVALID_CASE("publicIp method with no authorized networks is the seed incident",
                     Doc("    publicIp: {enabled: true}\n"
                         "  workloads:\n    - job: migrate\n      method: publicIp\n" DB
                         "  policy: {pruneAuthorizedNetworks: true}\n"),
                     "spec.workloads[0].method", 13, "publicIp", "connection timeout expired")
DBCONND_INVALID_CASE("cloudSqlSocket with no path to the instance",
                     Doc("    publicIp: {enabled: false}\n"
                         "  workloads:\n    - job: migrate\n      method: cloudSqlSocket\n" DB),
                     "spec.workloads[0].method", 13, "cloudSqlSocket",
                     "enable publicIp (no authorized networks are needed) or add privateIp and a connector")
DBCONND_INVALID_CASE("duplicate workload in one intent",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n" DB
                         "    - job: migrate\n      method: cloudSqlSocket\n" DB),
                     "spec.workloads[1]", 15, "job", "job migrate is already declared at line 12")
DBCONND_INVALID_CASE("urlEnv is not an environment variable name",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n      urlEnv: DATABASE-URL\n" DB),
                     "spec.workloads[0].urlEnv", 14, "DATABASE-URL", "letters, digits and underscores")
DBCONND_INVALID_CASE("urlEnv is the variable the driver reads the password from",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n      urlEnv: PGPASSWORD\n" DB),
                     "spec.workloads[0].urlEnv", 14, "PGPASSWORD", "where the database driver reads the password")
DBCONND_INVALID_CASE("database block missing",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n"),
                     "spec.workloads[0].database", 12, "job", "missing required field; write database:")
DBCONND_INVALID_CASE("passwordSecret required without IAM authentication",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n"
                         "      database: {name: app, user: app}\n"),
                     "spec.workloads[0].database.passwordSecret", 14, "{",
                     "or set spec.instance.iamAuthentication: true")

// --- literal passwords (never echoed back) ---------------------------------------------------------
DBCONND_INVALID_CASE("passwordSecret holding the password itself",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n"
                         "      database: {name: app, user: app, passwordSecret: hunter2}\n"),
                     "spec.workloads[0].database.passwordSecret", 14, "hunter2",
                     "must be a Secret Manager reference")
DBCONND_INVALID_CASE("password key under database",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n"
                         "      database: {name: app, user: app, password: hunter2}\n"),
                     "spec.workloads[0].database.password", 14, "hunter2",
                     "reference it with database.passwordSecret")
DBCONND_INVALID_CASE("password inside a connection URL",
                     Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n" DB
                         "      env:\n        DATABASE_URL: postgresql://saleor:secure-db-password-123@34.41.195.120:5432/saleor\n"),
                     "spec.workloads[0].env.DATABASE_URL", 16, "postgresql", "literal password")
DBCONND_INVALID_CASE("password in a libpq keyword string",
                     DocWith("{name: app}", "{name: app, annotations: {dsn: 'host=db user=u password=s3cret'}}"),
                     "metadata.annotations.dsn", 3, "'host", "literal password")

TEST_CASE("literal passwords are never echoed in diagnostics", "[config][invalid][secrets]") {
  using namespace dbconnd::config;
  std::string yaml = Doc("    publicIp: {enabled: true}\n  workloads:\n"
                         "    - job: migrate\n      method: cloudSqlSocket\n"
                         "      database: {name: app, user: app, passwordSecret: hunter2-secret, pwd: pw-one}\n"
                         "      url: mysql://root:pw-two@10.0.0.3/db\n"
                         "  extra: \"dbname=x password=pw-three\"\n");
  LoadResult r = LoadString(yaml, "s.yaml");
  INFO(testing::Dump(r));
  CHECK_FALSE(r.ok());
  CHECK(r.error_count() >= 4);
  for (const auto& d : r.diagnostics) {
    for (const char* secret : {"hunter2", "pw-one", "pw-two", "pw-three"}) {
      CHECK(FormatDiagnostic(d).find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("every written-out password form is refused", "[config][invalid][secrets]") {
  using namespace dbconnd::config;
  // Each form in an annotation value (single-quoted YAML: '' is one quote).
  const char* forms[] = {
      "postgresql://u:pa?ss@10.0.0.3/db",
      "postgresql://u:p/a/ss@10.0.0.3/db",
      "mysql://root:p%40ss@db:3306/app",
      "postgresql://h/db?user=u&password=s3cret",
      "mysql://h/db?pwd=s3cret",
      "host=x password=''a b\\''c'' dbname=d",
      "jdbc:postgresql://h:5432/db;user=u;password=s3cret;",
      "Server=h;Uid=u;Pwd=s3cret;",
      "PGPASSWORD=s3cret",
  };
  for (const char* form : forms) {
    std::string yaml = DocWith("{name: app}", std::string("{name: app, annotations: {dsn: '") +
                                                  form + "'}}");
    LoadResult r = LoadString(yaml, "forms.yaml");
    INFO(form);
    INFO(testing::Dump(r));
    CHECK(testing::FindError(r, "metadata.annotations.dsn", "literal password") != nullptr);
    for (const auto& d : r.diagnostics) {
      CHECK(FormatDiagnostic(d).find("s3cret") == std::string::npos);
      CHECK(FormatDiagnostic(d).find("pa?ss") == std::string::npos);
    }
  }
}

TEST_CASE("all errors are collected, not just the first", "[config][invalid]") {
  using namespace dbconnd::config;
  std::string yaml = DocWith("us-central1", "us-central1-a",
                             "    sslMode: encrypted\n"
                             "    publicIp: {enabled: true, authorizedNetworks: [{name: w, cidr: 0.0.0.0/0}]}\n"
                             "  connector: {name: c1, network: default, ipCidrRange: 10.8.0.0/24}\n"
                             "  policy: {mode: sometimes}\n");
  LoadResult r = LoadString(yaml, "many.yaml");
  INFO(testing::Dump(r));
  CHECK(testing::FindError(r, "spec.region", "not a zone"));
  CHECK(testing::FindError(r, "spec.instance.sslMode", "write one of"));
  CHECK(testing::FindError(r, "spec.connector.ipCidrRange", "/28"));
  CHECK(testing::FindError(r, "spec.policy.mode", "enforce, observe"));
  CHECK(r.error_count() >= 4);
}

namespace dbconnd::config {
namespace {

std::string PscDoc(const std::string& instance_psc, const std::string& workload) {
  return "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata:\n  name: p\nspec:\n"
         "  project: melodic-now-463704-k1\n  region: us-central1\n  instance:\n    name: db\n" +
         instance_psc +
         "  workloads:\n    - job: migrate\n      method: psc\n" + workload +
         "      database: {name: saleor, user: saleor, passwordSecret: "
         "projects/melodic-now-463704-k1/secrets/s/versions/latest}\n";
}

}  // namespace

TEST_CASE("psc: method psc needs instance psc, an endpoint, and a path in the endpoint's network",
          "[config][psc]") {
  const std::string on = "    psc: {enabled: true, allowedConsumerProjects: [melodic-now-463704-k1]}\n";
  const std::string endpoint = "      psc: {endpoint: ep, address: ep-ip, network: default}\n";
  CHECK(LoadString(PscDoc(on, endpoint + "      directVpc: {network: default}\n"), "p.yaml").ok());
  auto no_psc = LoadString(PscDoc("", endpoint + "      directVpc: {network: default}\n"), "p.yaml");
  CHECK_FALSE(no_psc.ok());
  CHECK_FALSE(LoadString(PscDoc(on, "      directVpc: {network: default}\n"), "p.yaml").ok());
  CHECK_FALSE(LoadString(PscDoc(on, endpoint), "p.yaml").ok());  // no VPC path at all
  CHECK_FALSE(LoadString(PscDoc(on, endpoint + "      directVpc: {network: other}\n"), "p.yaml").ok());
  CHECK_FALSE(LoadString(PscDoc("    psc: {allowedConsumerProjects: [Not_A_Project]}\n",
                                endpoint + "      directVpc: {network: default}\n"),
                         "p.yaml")
                  .ok());
}

}  // namespace dbconnd::config
