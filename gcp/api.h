#pragma once
// The typed Google API surface reconcilers see. Implementations over HTTP live
// in gcp/*_rest.cc; in-memory fakes for tests implement the same interfaces.
//
// Conventions for every method:
// - Never throws; errors are Status values carrying HTTP status and Google's
//   reason (e.g. 409 "operationInProgress", 412 "staleData").
// - Reads (Get*/List*) are idempotent and retried by the client's policy on
//   429/5xx/connection errors; mutations are never retried blindly: the caller
//   decides after 409/412.
// - Mutations return the Operation to wait on (see gcp/operations.h).

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gcp/iam.h"
#include "gcp/types.h"

namespace dbconnd::gcp {

template <typename T>
using Task = boost::asio::awaitable<T>;

class SqlAdmin {
 public:
  virtual ~SqlAdmin() = default;
  virtual Task<StatusOr<SqlInstance>> GetInstance(std::string project, std::string instance) = 0;
  // Follows nextPageToken to the end.
  virtual Task<StatusOr<std::vector<SqlInstance>>> ListInstances(std::string project) = 0;
  // The same list handed over item by item as its pages arrive, with no
  // vector of the whole project in between (a bulk observation of 10,000
  // instances). The default collects ListInstances first.
  virtual Task<Status> ForEachInstance(std::string project,
                                       std::function<void(SqlInstance)> each);
  // PATCH with patch.settings_version; 412 staleData when it is stale, 409
  // operationInProgress while another operation runs on the instance.
  virtual Task<StatusOr<Operation>> PatchInstance(std::string project, std::string instance,
                                                 SqlInstancePatch patch) = 0;
  virtual Task<StatusOr<Operation>> GetOperation(std::string project, std::string operation) = 0;
  // Newest first; `instance` filters.
  virtual Task<StatusOr<std::vector<Operation>>> ListOperations(std::string project,
                                                               std::string instance) = 0;
};

class CloudRun {
 public:
  virtual ~CloudRun() = default;
  virtual Task<StatusOr<RunWorkload>> GetJob(std::string project, std::string region,
                                             std::string job) = 0;
  virtual Task<StatusOr<std::vector<RunWorkload>>> ListJobs(std::string project,
                                                            std::string region,
                                                            RawDocuments raw) = 0;
  // Read-modify-write: `desired` is a live RunWorkload (with raw) whose
  // modelled fields were edited; everything else is sent back unchanged with
  // the etag it was read with.
  virtual Task<StatusOr<Operation>> PatchJob(RunWorkload desired) = 0;
  virtual Task<StatusOr<Operation>> RunJob(std::string project, std::string region,
                                           std::string job) = 0;
  // Starts one execution through the Job's startExecutionToken: `job` (a
  // live RunWorkload with raw) is sent back unchanged by jobs.patch with the
  // etag it was read with and startExecutionToken = `token`. Cloud Run
  // creates the execution "<job>-<token>" once; the same token again
  // creates nothing. Job name and token together stay under 63 characters.
  virtual Task<StatusOr<Operation>> StartExecution(RunWorkload job, std::string token) = 0;
  virtual Task<StatusOr<Execution>> GetExecution(std::string name) = 0;
  virtual Task<StatusOr<RunWorkload>> GetService(std::string project, std::string region,
                                                 std::string service) = 0;
  virtual Task<StatusOr<std::vector<RunWorkload>>> ListServices(std::string project,
                                                                std::string region,
                                                                RawDocuments raw) = 0;
  // ListJobs / ListServices item by item as pages arrive (see
  // SqlAdmin::ForEachInstance). The defaults collect the list first.
  virtual Task<Status> ForEachWorkload(RunKind kind, std::string project, std::string region,
                                       RawDocuments raw,
                                       std::function<void(RunWorkload)> each);
  virtual Task<StatusOr<Operation>> PatchService(RunWorkload desired) = 0;
  virtual Task<StatusOr<Operation>> GetOperation(std::string name) = 0;
};

class VpcAccess {
 public:
  virtual ~VpcAccess() = default;
  virtual Task<StatusOr<Connector>> GetConnector(std::string project, std::string region,
                                                 std::string connector) = 0;
  virtual Task<StatusOr<std::vector<Connector>>> ListConnectors(std::string project,
                                                                std::string region) = 0;
  virtual Task<StatusOr<Operation>> CreateConnector(Connector connector) = 0;
  virtual Task<StatusOr<Operation>> DeleteConnector(std::string project, std::string region,
                                                    std::string connector) = 0;
  // connectors.patch?updateMask=...; the default refuses (clients that
  // never patch need not offer it).
  virtual Task<StatusOr<Operation>> PatchConnector(ConnectorPatch patch);
  virtual Task<StatusOr<Operation>> GetOperation(std::string name) = 0;
};

class ServiceNetworking {
 public:
  virtual ~ServiceNetworking() = default;
  // network: "projects/PROJECT_NUMBER/global/networks/N".
  virtual Task<StatusOr<std::vector<PeeringConnection>>> ListConnections(std::string network) = 0;
  virtual Task<StatusOr<Operation>> CreateConnection(PeeringConnection connection) = 0;
  virtual Task<StatusOr<Operation>> GetOperation(std::string name) = 0;
};

class Compute {
 public:
  virtual ~Compute() = default;
  virtual Task<StatusOr<GlobalAddress>> GetGlobalAddress(std::string project,
                                                         std::string name) = 0;
  virtual Task<StatusOr<Operation>> InsertGlobalAddress(GlobalAddress address) = 0;
  virtual Task<StatusOr<Operation>> GetGlobalOperation(std::string project,
                                                       std::string operation) = 0;
  // subnetworks.get (read-only). Not every implementation reads subnetworks:
  // UNIMPLEMENTED then, which callers treat as "not checked".
  virtual Task<StatusOr<Subnetwork>> GetSubnetwork(std::string project, std::string region,
                                                   std::string name);
  // Private Service Connect endpoints (regional addresses and forwarding
  // rules). UNIMPLEMENTED where not provided. Inserts send the struct's
  // request_id as ?requestId=. Their operations are regional: the
  // Operation's name is "regions/R/operations/NAME", which
  // GetRegionOperation (and WaitForOperation) understand.
  virtual Task<StatusOr<RegionAddress>> GetAddress(std::string project, std::string region,
                                                   std::string name);
  virtual Task<StatusOr<Operation>> InsertAddress(RegionAddress address);
  virtual Task<StatusOr<ForwardingRule>> GetForwardingRule(std::string project, std::string region,
                                                           std::string name);
  virtual Task<StatusOr<Operation>> InsertForwardingRule(ForwardingRule rule);
  virtual Task<StatusOr<Operation>> GetRegionOperation(std::string project, std::string region,
                                                       std::string operation);
};

// Secret Manager v1, read-only and metadata only: dbconnd never reads a
// secret's payload (versions.access).
class SecretManager {
 public:
  virtual ~SecretManager() = default;
  // name: projects/P/secrets/S/versions/V (V a number or "latest").
  virtual Task<StatusOr<SecretVersionInfo>> GetSecretVersion(std::string name) = 0;
  // secret: projects/P/secrets/S. Asks for policy version 3.
  virtual Task<StatusOr<IamPolicy>> GetSecretIamPolicy(std::string secret) = 0;
};

// Cloud Resource Manager v3: a project's IAM policy.
class ResourceManager {
 public:
  virtual ~ResourceManager() = default;
  // project: ID or number.
  virtual Task<StatusOr<IamPolicy>> GetProjectIamPolicy(std::string project) = 0;
  // projects.get: the project's number. UNIMPLEMENTED where not provided.
  virtual Task<StatusOr<ProjectInfo>> GetProject(std::string project);
};

// Non-owning bundle handed to reconcilers.
struct Clients {
  SqlAdmin* sql = nullptr;
  CloudRun* run = nullptr;
  VpcAccess* vpc = nullptr;
  ServiceNetworking* networking = nullptr;
  Compute* compute = nullptr;
  // Optional: run-time prerequisite checks are skipped without them.
  SecretManager* secrets = nullptr;
  ResourceManager* resource_manager = nullptr;
};

}  // namespace dbconnd::gcp
