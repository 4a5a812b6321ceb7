#pragma once
// Internal to the emulator: the per-request context every API handler shares.
// One Handlers object serves one request against Emulator's state.

#include <string>

#include "emulator/emulator.h"
#include "emulator/model_util.h"

namespace dbconnd::emulator {

struct Handlers {
  Emulator& e;
  int64_t now;  // virtual milliseconds since the epoch
  const net::HttpRequest& req;
  Target t;
  std::string route = "";  // "METHOD route.id" of this request

  // Records that this request changed state (see Emulator::mutations_).
  void Effective() { ++e.mutations_[route]; }

  // ---- shared state helpers (emulator.cc)
  json::object& Map(std::string_view api, std::string_view kind);
  std::string NextId();
  std::string Uuid();
  void Touch() { ++e.generation_; }
  std::string ProjectNumber(const std::string& project_or_number);
  std::string ProjectId(const std::string& project_or_number);
  StatusOr<json::value> Body(std::string_view api, std::string_view schema);
  StatusOr<json::value> RawBody();
  // Registers a pending LRO transition; `effect.kind` names what happens at DONE.
  void Schedule(json::object effect, std::chrono::milliseconds delay);
  bool HasPendingFor(std::string_view target_key);
  // Consumes an injected operation error for this request, if any.
  std::string TakeOpError();
  json::object LroOperation(const std::string& name, std::string_view metadata_type,
                            json::value metadata);
  // 200 with what Map(api, kind) holds under `key`, else `missing()`.
  template <typename Missing>
  net::HttpResponse GetStored(std::string_view api, std::string_view kind, const std::string& key,
                              Missing missing) {
    auto* v = Map(api, kind).if_contains(key);
    return v ? JsonResponse(200, *v) : missing();
  }

  // ---- routing and auth (emulator.cc)
  net::HttpResponse Dispatch(const std::string& route);
  std::optional<net::HttpResponse> CheckAuth();
  net::HttpResponse Token();
  net::HttpResponse Metadata();
  net::HttpResponse Admin();

  // ---- Cloud SQL (sql.cc)
  net::HttpResponse SqlInstancesList();
  net::HttpResponse SqlInstancesGet();
  net::HttpResponse SqlInstancesPatch();
  net::HttpResponse SqlOperationsGet();
  net::HttpResponse SqlOperationsList();
  Status ValidateSqlInstance(const json::object& merged, const json::object& old);
  static void ApplySqlPatch(Emulator& e, json::object& inst, const json::object& patch);
  static void RecomputeIps(Emulator& e, json::object& inst);

  // ---- Cloud Run (run.cc)
  net::HttpResponse RunList(std::string_view kind);
  net::HttpResponse RunGet(std::string_view kind);
  net::HttpResponse RunPatch(std::string_view kind);
  net::HttpResponse RunJobRun();
  net::HttpResponse RunExecutionsList();
  net::HttpResponse RunOperationsGet();
  // Creates execution `exec_id` of job `job_name` as it is configured now
  // (with `overrides` applied), updates latestCreatedExecution and
  // executionCount, schedules its outcome. Returns the run operation.
  json::object StartExecution(const std::string& job_name, const std::string& exec_id,
                              const json::value* overrides);
  struct Outcome {
    bool ok;
    std::string message;
    std::chrono::milliseconds after;
  };
  Outcome EvaluateConnectivity(const json::object& job);

  // ---- VPC Access, Service Networking, Compute (network.cc)
  net::HttpResponse VpcList();
  net::HttpResponse VpcGet();
  net::HttpResponse VpcCreate();
  net::HttpResponse VpcPatch();
  net::HttpResponse VpcDelete();
  net::HttpResponse VpcOperationsGet();
  net::HttpResponse VpcOperationsList();
  // One page of vpc.<kind> ("connectors", "operations") under the request's
  // projects/P/locations/L, listed under the field `kind`.
  net::HttpResponse VpcListPage(std::string_view kind);
  net::HttpResponse SnList();
  net::HttpResponse SnCreate();
  net::HttpResponse SnPatch();
  net::HttpResponse SnOperationsGet();
  // Stores the VPC Access operation of `method` on connector `name` (under
  // `parent`), schedules the effect `effect_kind` that finishes it, and
  // answers with the operation.
  net::HttpResponse StartVpcOperation(const std::string& parent, std::string_view method,
                                      const std::string& name, std::string_view effect_kind);
  // The 409 while connector `name` has an operation in progress.
  std::optional<net::HttpResponse> ConnectorBusy(const std::string& name);
  // Stores a Service Networking operation of project `number` that makes
  // `conn` the connection under `key` once done; answers with it.
  net::HttpResponse StartSnOperation(const std::string& number, const std::string& key,
                                     json::object conn);
  net::HttpResponse ComputeList();
  net::HttpResponse ComputeGet();
  net::HttpResponse ComputeInsert();
  net::HttpResponse ComputeDelete();
  net::HttpResponse ComputeOperationsGet();
  net::HttpResponse SubnetworksGet();   // compute/v1/projects/P/regions/R/subnetworks/N
  net::HttpResponse SubnetworksList();
  // The subnetwork `ref` (short name, partial or full URL) of `project` in
  // `region`, or null. State key: "P/R/N" under compute.subnetworks.
  const json::object* FindSubnetwork(const std::string& project, const std::string& region,
                                     const std::string& ref);
  // Cloud Run's vpcAccess rules for the template of a job or service about
  // to be stored; an error response when Google would refuse it.
  std::optional<net::HttpResponse> CheckVpcAccess(const json::object& resource, bool is_job);
  std::optional<net::HttpResponse> CheckConnectorScaling(const json::object& c, const json::object* before);
  json::object ComputeOperation(const std::string& project, const std::string& type,
                                const std::string& target_link);
  // Where a Compute resource lives: global (empty region) or in a region.
  struct ComputeScope {
    std::string project, region;
    // State key of `name` under compute.*: "P/N" or "P/R/N" ("P/" or
    // "P/R/", the prefix of the scope's keys, for an empty name).
    std::string Key(std::string_view name) const;
    // "projects/P/global/C" or "projects/P/regions/R/C", and with "/N".
    std::string Path(std::string_view collection) const;
    std::string Path(std::string_view collection, std::string_view name) const;
  };
  // One page of the resources stored in compute.<state_kind> under
  // `key_prefix`, as a Compute list `list_kind` with id `path` (and
  // selfLink, when asked) and each item passed through `fresh` when given.
  net::HttpResponse ComputeListPage(std::string_view state_kind, const std::string& key_prefix,
                                    std::string_view list_kind, const std::string& path,
                                    bool self_link,
                                    json::object (Handlers::*fresh)(const json::object&) = nullptr);
  // What every Compute insert starts with: a repeated requestId is answered
  // with the operation it started; the body must be a valid `schema`; its
  // name RFC 1035 (`strict_name`) or at least present, and free: nothing
  // stored in compute.<state_kind>, nothing pending, under the scope's key.
  struct ComputeInsertRequest {
    std::string request_key;  // "P/requestId", or empty without one
    json::object resource;    // the request body
    std::string name, key;
  };
  std::optional<net::HttpResponse> BeginComputeInsert(const ComputeScope& scope,
                                                      std::string_view schema,
                                                      std::string_view state_kind,
                                                      std::string_view collection, bool strict_name,
                                                      ComputeInsertRequest* in);
  // What every Compute insert and delete ends with: the scope's operation
  // `type` on `target_link` is stored, the effect `effect_kind` on `key`
  // (with `fields`) scheduled to finish it, a requestId remembered to
  // answer its repeats; the answer is the operation.
  net::HttpResponse StartComputeOperation(const ComputeScope& scope, const std::string& type,
                                          const std::string& target_link,
                                          std::string_view effect_kind, const std::string& key,
                                          json::object fields, const std::string& request_key);

  // ---- Private Service Connect: regional addresses, forwarding rules (psc.cc)
  net::HttpResponse RegionAddressesList();
  net::HttpResponse RegionAddressesGet();
  net::HttpResponse RegionAddressesInsert();
  net::HttpResponse ForwardingRulesList();
  net::HttpResponse ForwardingRulesGet();
  net::HttpResponse ForwardingRulesInsert();
  net::HttpResponse RegionOperationsGet();
  json::object RegionOperation(const std::string& project, const std::string& region,
                               const std::string& type, const std::string& target_link);
  std::optional<net::HttpResponse> RepeatedRequest(const std::string& project, std::string* key);
  // The instance whose pscServiceAttachmentLink is `attachment`, or null.
  const json::object* PscInstanceFor(const std::string& attachment);
  // ACCEPTED / PENDING / CLOSED for a consumer project's endpoint.
  std::string PscConnectionStatus(const std::string& consumer_project, const std::string& attachment);
  json::object FreshForwardingRule(const json::object& stored);
  // pscServiceAttachmentLink and dnsName follow pscConfig.pscEnabled.
  static void RecomputePsc(json::object& inst);
  static void CompleteRegional(Emulator& e, json::object& effect);

  // ---- completion of due operations (emulator.cc dispatches, each file applies)
  static void Complete(Emulator& e, json::object& effect, int64_t at);
  static void CompleteRun(Emulator& e, json::object& effect, int64_t at);
  static void CompleteNetwork(Emulator& e, json::object& effect, int64_t at);
  static void CompleteSql(Emulator& e, json::object& effect, int64_t at);
  static void MarkRunning(Emulator& e, json::object& effect, int64_t at);

  // ---- Secret Manager, Resource Manager IAM policies (secrets.cc)
  std::string SecretName(const std::string& project, const std::string& secret);
  json::object* SmFindVersion(const std::string& secret_name, const std::string& version);
  // The version this request's path names (…/secrets/S/versions/V[:verb]),
  // or null with *refusal set: 403 for a project the caller cannot see, 404
  // for a missing secret or version.
  json::object* SmRequestedVersion(net::HttpResponse* refusal);
  net::HttpResponse SmSecretCreate();
  net::HttpResponse SmSecretGet();
  net::HttpResponse SmSecretAddVersion();
  net::HttpResponse SmVersionGet();
  net::HttpResponse SmVersionAccess();
  net::HttpResponse SmVersionDisable();
  net::HttpResponse SmGetIamPolicy();
  net::HttpResponse SmSetIamPolicy();
  net::HttpResponse StorePolicy(const char* api, const std::string& key);
  net::HttpResponse CrmProjectGet();
  net::HttpResponse CrmGetIamPolicy();
  net::HttpResponse CrmSetIamPolicy();
  std::optional<net::HttpResponse> DispatchSecrets(const std::string& id);
  // One secret with version 1 holding `data_base64`, for seeds.
  static void SeedSecrets(json::object& state, const std::string& project_number,
                          const std::string& secret, const std::string& data_base64, int64_t now);

  // ---- seeds (seeds.cc)
  static Status ApplySeed(Emulator& e, std::string_view seed, int64_t now);
};

// Route ids of secrets.cc's APIs ("" when the path is not theirs).
std::string SecretsRouteId(std::string_view method, const std::vector<std::string>& segs);
std::string ResourceManagerRouteId(std::string_view method, const std::vector<std::string>& segs);

// Compute's 404: "The resource '<path>' was not found".
net::HttpResponse ComputeNotFound(const std::string& path);

// Pagination over a JSON array: returns the page and sets *next when more remain.
json::array Page(const json::array& all, const std::string& page_size, const std::string& token,
                 std::string* next);

inline constexpr char kSqlBase[] = "https://sqladmin.googleapis.com/v1/";
inline constexpr char kComputeBase[] = "https://www.googleapis.com/compute/v1/";

}  // namespace dbconnd::emulator
