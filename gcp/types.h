#pragma once
// Typed views of the live Google Cloud resources dbconnd manages. These are
// what reconcilers/ diff against; no JSON or HTTP detail leaks through them.
// Field names follow the REST resources (see shared gcp-api/REFERENCE.md).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace dbconnd::gcp {

// The full JSON document of a resource exactly as it was read. Opaque above
// gcp/: it exists so that a read-modify-write keeps every field dbconnd does
// not own byte for byte. Null for resources built by hand (tests).
class RawResource;
using RawResourcePtr = std::shared_ptr<const RawResource>;

// ---- Cloud SQL Admin v1 -----------------------------------------------------

struct AclEntry {
  std::string value;            // CIDR
  std::string name;             // label
  std::string expiration_time;  // RFC 3339, empty = never
  friend bool operator==(const AclEntry&, const AclEntry&) = default;
};

struct DatabaseFlag {
  std::string name;
  std::string value;
  friend bool operator==(const DatabaseFlag&, const DatabaseFlag&) = default;
};

struct IpMapping {
  std::string type;  // PRIMARY | PRIVATE | OUTGOING | ...
  std::string ip_address;
  friend bool operator==(const IpMapping&, const IpMapping&) = default;
};

struct SqlInstance {
  std::string project;
  std::string name;
  std::string region;
  std::string connection_name;   // PROJECT:REGION:INSTANCE
  std::string database_version;  // e.g. POSTGRES_15, MYSQL_8_0
  std::string state;             // RUNNABLE, ...
  std::string settings_version;  // int64 as a decimal string; echo it back on PATCH
  bool ipv4_enabled = false;
  std::string private_network;   // "projects/P/global/networks/N", empty = none
  std::string allocated_ip_range;
  std::vector<AclEntry> authorized_networks;
  std::string ssl_mode;          // wire enum, empty = unspecified
  std::string connector_enforcement;  // settings.connectorEnforcement, empty = unspecified
  bool require_ssl = false;
  std::vector<DatabaseFlag> database_flags;
  std::vector<IpMapping> ip_addresses;
  // Private Service Connect (settings.ipConfiguration.pscConfig).
  bool psc_enabled = false;
  std::vector<std::string> allowed_consumer_projects;
  std::string psc_service_attachment_link;  // OUTPUT_ONLY, set while PSC is on
  std::string dns_name;                     // OUTPUT_ONLY

  // First address of the given type ("PRIMARY" = public, "PRIVATE"), or "".
  std::string AddressOfType(std::string_view type) const;
  bool IsPostgres() const { return database_version.rfind("POSTGRES", 0) == 0; }
};

// One Cloud SQL PATCH. Only engaged fields are sent; lists replace the live
// list wholesale, so they must hold the full merged list.
struct SqlInstancePatch {
  std::string settings_version;  // from the GET this patch was computed on
  std::optional<bool> ipv4_enabled;
  std::optional<std::string> private_network;
  std::optional<std::string> allocated_ip_range;
  std::optional<std::vector<AclEntry>> authorized_networks;
  std::optional<std::string> ssl_mode;
  std::optional<std::vector<DatabaseFlag>> database_flags;
  // settings.ipConfiguration.pscConfig; the list replaces the live one.
  std::optional<bool> psc_enabled;
  std::optional<std::vector<std::string>> allowed_consumer_projects;
  std::optional<std::string> connector_enforcement;

  bool empty() const {
    return !ipv4_enabled && !private_network && !allocated_ip_range && !authorized_networks &&
           !ssl_mode && !database_flags && !psc_enabled && !allowed_consumer_projects &&
           !connector_enforcement;
  }
};

// ---- Long-running operations (all three styles) -----------------------------

enum class Api {
  kSqlAdmin,
  kRun,
  kVpcAccess,
  kServiceNetworking,
  kCompute,
  kSecretManager,    // reads only: versions.get, getIamPolicy
  kResourceManager,  // reads only: projects.getIamPolicy
};
std::string_view ToString(Api api);  // "sqladmin", "run", ...

struct Operation {
  Api api = Api::kSqlAdmin;
  // Cloud SQL and Compute need the project to poll; the others use `name`.
  std::string project;
  // Cloud SQL: the operation ID; Compute: the operation name; Run / VPC
  // Access / Service Networking: the full name ("projects/.../operations/ID",
  // "operations/ID").
  std::string name;
  std::string target;  // what it acts on, for progress messages
  std::string type;    // operationType / metadata verb when known
  // The API method whose answer this operation was ("instances.patch"), for
  // telemetry labels; empty when the operation was found by listing or read
  // back from an older journal.
  std::string started_by;
  bool done = false;
  Status error;        // meaningful when done; OK = succeeded
};

// `op` with started_by set: the mutation call sites tag what they started.
Operation StartedBy(Operation op, std::string_view rpc);

// ---- Serverless VPC Access v1 -----------------------------------------------

struct Connector {
  std::string project;
  std::string region;
  std::string name;           // short ID
  std::string network;        // short network name
  std::string ip_cidr_range;
  std::string state;          // READY, CREATING, ...
  std::string machine_type;
  int min_instances = 0;
  int max_instances = 0;
  std::string subnet_name;    // subnet.name: a Shared VPC subnet instead of a range
  std::string subnet_project; // subnet.projectId; empty = the connector's project
  int min_throughput = 0;     // Mbps; 0 = not sent / not reported
  int max_throughput = 0;

  // "projects/P/locations/R/connectors/N": what Cloud Run's vpcAccess wants.
  std::string FullName() const;
};

// connectors.patch: `connector` carries the new values of the fields named
// in `update_mask` (machineType, minInstances, maxInstances: the only ones
// Serverless VPC Access changes in place).
struct ConnectorPatch {
  Connector connector;
  std::vector<std::string> update_mask;
};

// ---- Cloud Run Admin v2 -------------------------------------------------------

struct SecretKeyRef {
  std::string secret;   // "S" or "projects/P/secrets/S"
  std::string version;  // "latest", "3", ...
  friend bool operator==(const SecretKeyRef&, const SecretKeyRef&) = default;
};

struct EnvVar {
  std::string name;
  std::string value;                   // literal value (empty when secret is set)
  std::optional<SecretKeyRef> secret;  // valueSource.secretKeyRef
  friend bool operator==(const EnvVar&, const EnvVar&) = default;
};

struct VolumeMount {
  std::string name;
  std::string mount_path;
  friend bool operator==(const VolumeMount&, const VolumeMount&) = default;
};

struct Container {
  std::string name;
  std::string image;
  std::vector<EnvVar> env;
  std::vector<VolumeMount> volume_mounts;
};

// A volume of kind cloudSqlInstance. Other volume kinds are not modelled and
// survive a patch untouched through the raw document.
struct CloudSqlVolume {
  std::string name;
  std::vector<std::string> instances;  // connection names
  friend bool operator==(const CloudSqlVolume&, const CloudSqlVolume&) = default;
};

// vpcAccess.networkInterfaces[] item: Direct VPC egress. Values as Cloud
// Run holds them (short names or resource paths).
struct NetworkInterface {
  std::string network;
  std::string subnetwork;
  std::vector<std::string> tags;
  friend bool operator==(const NetworkInterface&, const NetworkInterface&) = default;
};

// Cloud Run takes a connector or network interfaces, never both (400).
struct RunVpcAccess {
  std::string connector;  // full connector name; empty with Direct VPC egress
  std::string egress;     // ALL_TRAFFIC | PRIVATE_RANGES_ONLY
  std::vector<NetworkInterface> network_interfaces = {};  // Direct VPC egress (at most one)
  friend bool operator==(const RunVpcAccess&, const RunVpcAccess&) = default;
};

enum class RunKind { kJob, kService };

// Whether listed Cloud Run workloads carry their raw document (needed only
// to patch that very object; ~5 KB each when parsed).
enum class RawDocuments { kKeep, kDrop };

// A Cloud Run job or service, reduced to the parts connectivity depends on.
// For a job these live at template.template.*, for a service at template.*.
// To change one: copy the live value, edit these fields, hand it to
// CloudRun::PatchJob/PatchService; everything else comes from `raw`.
struct RunWorkload {
  RunKind kind = RunKind::kJob;
  std::string project;
  std::string region;
  std::string name;        // short ID
  std::string etag;
  std::string generation;  // int64 as string
  std::vector<Container> containers;
  std::vector<CloudSqlVolume> cloud_sql_volumes;
  std::optional<RunVpcAccess> vpc_access;
  std::string latest_execution;  // jobs: full name of the latest execution, if any
  // jobs: latestCreatedExecution.createTime / .completionStatus
  // (EXECUTION_RUNNING, EXECUTION_SUCCEEDED, ...) and executionCount: what a
  // verification reads before and after jobs.run to know whether it ran.
  std::string latest_execution_create_time;
  std::string latest_execution_status;
  int64_t execution_count = 0;
  std::string update_time;  // RFC 3339; moves on every change of the job/service
  bool reconciling = false;  // Google is still rolling out the last change
  // The identity the containers run as; empty = the project's default
  // compute service account (PROJECT_NUMBER-compute@developer.gserviceaccount.com).
  std::string service_account;
  RawResourcePtr raw;

  std::string FullName() const;  // projects/P/locations/R/jobs|services/N
};

struct Execution {
  std::string name;  // full name
  bool done = false;
  bool succeeded = false;
  int task_count = 0;
  int succeeded_count = 0;
  int failed_count = 0;
  std::string message;  // failure (or success) message from conditions
  std::string completion_time;
  std::string create_time;
};

// ---- Private services access --------------------------------------------------

struct GlobalAddress {
  std::string project;
  std::string name;
  std::string address;       // first address of the range, e.g. "10.20.0.0"
  int prefix_length = 0;
  std::string network;       // network URL
  std::string purpose;       // VPC_PEERING
  std::string address_type;  // INTERNAL
  std::string status;
  // Insert only: sent as ?requestId= (a UUID) so that Compute answers a
  // repeat of the same logical insert with the first one's operation.
  // Never part of the resource.
  std::string request_id;
};

// Compute v1 subnetworks.get, the fields Direct VPC egress depends on.
struct Subnetwork {
  std::string project;
  std::string name;
  std::string region;          // URL as Compute returns it (…/regions/R)
  std::string network;         // URL (…/global/networks/N)
  std::string ip_cidr_range;   // primary IPv4 range
  std::string purpose;         // PRIVATE (or unset) for ordinary subnets
};

// Compute v1 regional address (addresses.get/insert): a Private Service
// Connect endpoint's internal IP in a consumer subnetwork.
struct RegionAddress {
  std::string project;
  std::string region;
  std::string name;
  std::string address;       // the IP; insert: empty = Compute picks one in the subnetwork
  std::string address_type;  // INTERNAL
  std::string purpose;       // GCE_ENDPOINT for an endpoint's address
  std::string subnetwork;    // URL (read) or partial path (insert)
  std::string network;       // URL, read only
  std::string region_url;    // read only: …/regions/R
  std::string status;        // RESERVING, RESERVED, IN_USE
  std::vector<std::string> users;
  std::string request_id;    // insert only, ?requestId=
  friend bool operator==(const RegionAddress&, const RegionAddress&) = default;
};

// Compute v1 regional forwarding rule targeting a service attachment: the
// Private Service Connect endpoint itself.
struct ForwardingRule {
  std::string project;
  std::string region;
  std::string name;
  std::string ip_address;  // insert: the address's path; read: the IP literal
  std::string network;     // URL or partial path
  std::string target;      // the instance's pscServiceAttachmentLink
  std::string region_url;  // read only
  std::string psc_connection_status;  // PENDING, ACCEPTED, REJECTED, CLOSED, ...
  std::string psc_connection_id;
  std::string request_id;  // insert only
  friend bool operator==(const ForwardingRule&, const ForwardingRule&) = default;
};

// Cloud Resource Manager v3 projects.get.
struct ProjectInfo {
  std::string project_id;
  std::string project_number;  // from name "projects/<number>"
  std::string state;           // ACTIVE, DELETE_REQUESTED
};

struct PeeringConnection {
  std::string network;  // "projects/NUMBER/global/networks/N"
  std::vector<std::string> reserved_peering_ranges;
  std::string service;  // "services/servicenetworking.googleapis.com"
  std::string peering;
};

}  // namespace dbconnd::gcp
