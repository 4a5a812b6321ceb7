#pragma once
// The desired-state model: plain, immutable-after-load structs. Nothing here
// knows YAML (the loader in config/ does) or any Google wire format.
//
// One DatabaseConnectivity document = one Intent: a single Cloud SQL instance
// in one project/region, the Serverless VPC Access connector that reaches it,
// and the Cloud Run jobs/services that connect to it.

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/heap_optional.h"

namespace dbconnd::config {

inline constexpr char kApiVersion[] = "dbconnd.dev/v1alpha1";
inline constexpr char kKind[] = "DatabaseConnectivity";

// A file's name, shared by every SourceLocation in that file: one
// allocation per file, not one per located value (10,000 intents hold
// ~50,000 locations).
class FileName {
 public:
  FileName() = default;
  FileName(std::string name)  // NOLINT: implicit, a name is a name
      : name_(name.empty() ? nullptr : std::make_shared<const std::string>(std::move(name))) {}
  FileName(const char* name) : FileName(std::string(name)) {}  // NOLINT
  const std::string& str() const {
    static const std::string kEmpty;
    return name_ ? *name_ : kEmpty;
  }
  operator const std::string&() const { return str(); }  // NOLINT
  bool empty() const { return str().empty(); }
  friend bool operator==(const FileName& a, std::string_view b) { return a.str() == b; }

 private:
  std::shared_ptr<const std::string> name_;
};

// Where a value came from, for error messages ("file:line:col").
struct SourceLocation {
  FileName file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

enum class SslMode {
  kAllowUnencryptedAndEncrypted,      // ALLOW_UNENCRYPTED_AND_ENCRYPTED
  kEncryptedOnly,                     // ENCRYPTED_ONLY
  kTrustedClientCertificateRequired,  // TRUSTED_CLIENT_CERTIFICATE_REQUIRED
};

struct AuthorizedNetwork {
  std::string name;     // label shown in Cloud SQL, unique within the intent
  std::string cidr;     // canonical IPv4 CIDR, e.g. "203.0.113.0/24"
  std::string expires;  // RFC 3339 timestamp, empty = never
  SourceLocation where;
};

struct PublicIp {
  bool enabled = false;
  std::vector<AuthorizedNetwork> authorized_networks;
};

// The private services access range Service Networking peers with Google's
// producer network (Compute globalAddresses + servicenetworking connection).
struct PrivateServicesAccess {
  std::string range_name;  // e.g. "google-managed-services-default"
  std::string cidr;        // optional fixed range, e.g. "10.20.0.0/16"; empty = Google picks
  int prefix_length = 16;  // used when cidr is empty
};

struct PrivateIp {
  std::string network;  // short VPC network name, e.g. "default"
  PrivateServicesAccess services_access;
};

// Private Service Connect on the instance (settings.ipConfiguration.pscConfig):
// Cloud SQL publishes a service attachment that endpoints in the allowed
// consumer projects connect to.
struct Psc {
  bool enabled = true;
  std::vector<std::string> allowed_consumer_projects;  // project IDs or numbers
  friend bool operator==(const Psc&, const Psc&) = default;
};
// settings.connectorEnforcement: REQUIRED refuses every connection that
// does not come through the Cloud SQL Auth Proxy / language connectors (the
// /cloudsql socket of Cloud Run included); raw-IP clients are cut off.
enum class ConnectorEnforcement { kNotRequired, kRequired };

struct Instance {
  std::string name;                        // Cloud SQL instance ID
  std::optional<SslMode> ssl_mode;         // unset = not managed
  std::optional<bool> iam_authentication;  // unset = not managed
  std::optional<PublicIp> public_ip;       // unset = not managed
  std::optional<PrivateIp> private_ip;     // unset = not managed (never removed)
  common::HeapOptional<Psc> psc;           // unset = not managed
  std::optional<ConnectorEnforcement> connector_enforcement;  // unset = not managed
  SourceLocation where;
};

// A Shared VPC subnet the connector lives in (Connector.subnet): an existing
// /28 subnet with nothing else in it, in the host project `project_id`
// (empty = the intent's project). Takes the place of network + ipCidrRange.
struct ConnectorSubnet {
  std::string name;        // short subnet name
  std::string project_id;  // host project; empty = spec.project
  friend bool operator==(const ConnectorSubnet&, const ConnectorSubnet&) = default;
};

struct Connector {
  std::string name;           // connector ID (< 21 chars, hyphens count double)
  std::string network;        // short VPC network name; empty with `subnet`
  std::string ip_cidr_range;  // /28 inside RFC 1918 space; empty with `subnet`
  common::HeapOptional<ConnectorSubnet> subnet;  // Shared VPC subnet instead of network + range
  // Scaling: instances (patchable in place) or throughput in Mbps (fixed at
  // creation), never both. Throughput 0 = not declared.
  int min_instances = 2;
  int max_instances = 3;
  int min_throughput = 0;  // 200..900, step 100
  int max_throughput = 0;  // 300..1000, step 100
  std::string machine_type = "e2-micro";
  SourceLocation where;

  bool by_throughput() const { return min_throughput > 0 || max_throughput > 0; }
};

// Cloud Run Direct VPC egress: the workload gets a network interface in the
// VPC itself (vpcAccess.networkInterfaces) instead of going through a
// Serverless VPC Access connector. Cloud Run takes one or the other.
struct DirectVpc {
  std::string network;     // short VPC network name, e.g. "default"
  // Short subnetwork name in spec.region, or for a Shared VPC
  // "projects/HOST/regions/REGION/subnetworks/NAME". Empty = the subnetwork
  // named like the network (what Cloud Run picks when only network is set).
  std::string subnetwork;
  std::vector<std::string> tags;  // network tags for firewall rules
  friend bool operator==(const DirectVpc&, const DirectVpc&) = default;
};

// A Private Service Connect endpoint in the workload's VPC: an internal
// address (Compute addresses) and a forwarding rule targeting the instance's
// service attachment (Compute forwardingRules), both in spec.region.
struct PscEndpoint {
  std::string endpoint;    // forwarding rule name
  std::string address;     // internal address name
  std::string network;     // short VPC network name
  // Short subnetwork name in spec.region, or
  // "projects/HOST/regions/REGION/subnetworks/NAME". Empty = the network's name.
  std::string subnetwork;
  friend bool operator==(const PscEndpoint&, const PscEndpoint&) = default;
};

enum class WorkloadKind { kJob, kService };
enum class ConnectionMethod { kPrivateIp, kCloudSqlSocket, kPublicIp, kPsc };
enum class VpcEgress { kPrivateRangesOnly, kAllTraffic };

struct DatabaseIdentity {
  std::string name;  // database name
  std::string user;
  // Secret Manager reference "projects/P/secrets/S/versions/V". Empty only
  // when iam_authentication is used (no password at all).
  std::string password_secret;
  // Env var that receives the password through valueSource.secretKeyRef.
  // Empty = the variable the engine's drivers read by themselves, chosen by
  // the planner from the instance's databaseVersion: PGPASSWORD (PostgreSQL),
  // MYSQL_PWD (MySQL); SQL Server has none, so it must be named there.
  std::string password_env;
};

struct Workload {
  WorkloadKind kind = WorkloadKind::kJob;
  std::string name;       // Cloud Run job or service ID
  ConnectionMethod method = ConnectionMethod::kPrivateIp;
  std::string container;  // container name to manage; empty = the first one
  std::string url_env = "DATABASE_URL";  // env var carrying the connection URL
  VpcEgress egress = VpcEgress::kPrivateRangesOnly;  // privateIp only
  // privateIp only: reach the instance through Direct VPC egress instead of
  // spec.connector. Unset = through the connector.
  common::HeapOptional<DirectVpc> direct_vpc;
  // psc only: the endpoint the workload connects to, reached through
  // direct_vpc or spec.connector like a private IP.
  common::HeapOptional<PscEndpoint> psc;
  DatabaseIdentity database;
  SourceLocation where;
};

enum class PolicyMode { kEnforce, kObserve };

struct Policy {
  PolicyMode mode = PolicyMode::kEnforce;
  bool prune_authorized_networks = false;  // remove live networks not in the file
  bool allow_world_open = false;           // permit /0../7 authorized networks
  bool paused = false;                     // report only, like observe, per intent
  bool allow_irreversible = false;         // e.g. setting a private network
  bool allow_replace = false;              // delete+create a connector whose range changed
  bool verify = false;                     // run the job after moving it, before breaking the old path
  std::chrono::seconds resync_interval{60};
};

struct Intent {
  std::string name;            // metadata.name, unique across all files
  std::string project;         // project ID
  std::string project_number;  // needed by Service Networking when privateIp is declared
  std::string region;
  Instance instance;
  std::optional<Connector> connector;
  std::vector<Workload> workloads;
  Policy policy;
  SourceLocation where;        // the document's first line
};

// Everything loaded from a set of files at one moment.
// Intents are shared and immutable: a reload that did not touch a file hands
// on the very objects of the previous load (config::ConfigSource).
struct DesiredState {
  std::vector<std::shared_ptr<const Intent>> intents;  // sorted by name; never null

  // Built by hand (tests, tools): the intents in the order given.
  static std::shared_ptr<DesiredState> Of(std::vector<Intent> list) {
    auto s = std::make_shared<DesiredState>();
    for (auto& in : list) s->intents.push_back(std::make_shared<const Intent>(std::move(in)));
    return s;
  }
};

// How each value is spelled in intent files, in the enum's order: the
// decoder accepts exactly these and ToString gives them back.
inline constexpr std::array<std::string_view, 3> kSslModeNames = {
    "ALLOW_UNENCRYPTED_AND_ENCRYPTED", "ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"};
inline constexpr std::array<std::string_view, 4> kConnectionMethodNames = {
    "privateIp", "cloudSqlSocket", "publicIp", "psc"};
inline constexpr std::array<std::string_view, 2> kWorkloadKindNames = {"job", "service"};
inline constexpr std::array<std::string_view, 2> kPolicyModeNames = {"enforce", "observe"};
inline constexpr std::array<std::string_view, 2> kVpcEgressNames = {"PRIVATE_RANGES_ONLY",
                                                                     "ALL_TRAFFIC"};
inline constexpr std::array<std::string_view, 2> kConnectorEnforcementNames = {"NOT_REQUIRED",
                                                                                "REQUIRED"};

// names[value]; empty for a value outside the table.
template <typename E, std::size_t N>
constexpr std::string_view NameIn(const std::array<std::string_view, N>& names, E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : std::string_view();
}

inline std::string_view ToString(SslMode m) { return NameIn(kSslModeNames, m); }
inline std::string_view ToString(ConnectionMethod m) { return NameIn(kConnectionMethodNames, m); }
inline std::string_view ToString(WorkloadKind k) { return NameIn(kWorkloadKindNames, k); }
inline std::string_view ToString(PolicyMode m) { return NameIn(kPolicyModeNames, m); }
inline std::string_view ToString(VpcEgress e) { return NameIn(kVpcEgressNames, e); }
inline std::string_view ToString(ConnectorEnforcement e) {
  return NameIn(kConnectorEnforcementNames, e);
}

}  // namespace dbconnd::config
