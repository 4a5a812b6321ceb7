// Cloud SQL Admin API v1 over REST (REFERENCE.md §1).
#include <boost/json/serialize.hpp>

#include "gcp/json_util.h"
#include "gcp/rest_client.h"
#include "gcp/status_mapping.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

SqlInstance ParseInstance(const json::value& v) {
  SqlInstance out;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.project = wire::Str(o, "project");
  out.name = wire::Str(o, "name");
  out.region = wire::Str(o, "region");
  out.connection_name = wire::Str(o, "connectionName");
  out.database_version = wire::Str(o, "databaseVersion");
  out.state = wire::Str(o, "state");
  out.psc_service_attachment_link = wire::Str(o, "pscServiceAttachmentLink");
  out.dns_name = wire::Str(o, "dnsName");
  if (const auto* settings = wire::Obj(o, "settings")) {
    out.settings_version = wire::Str(*settings, "settingsVersion");
    if (const auto* ip = wire::Obj(*settings, "ipConfiguration")) {
      out.ipv4_enabled = wire::Bool(*ip, "ipv4Enabled");
      out.private_network = wire::Str(*ip, "privateNetwork");
      out.allocated_ip_range = wire::Str(*ip, "allocatedIpRange");
      out.ssl_mode = wire::Str(*ip, "sslMode");
      out.require_ssl = wire::Bool(*ip, "requireSsl");
      if (const auto* psc = wire::Obj(*ip, "pscConfig")) {
        out.psc_enabled = wire::Bool(*psc, "pscEnabled");
        if (const auto* projects = wire::Arr(*psc, "allowedConsumerProjects")) {
          for (const auto& pr : *projects) {
            if (pr.is_string() && out.allowed_consumer_projects.size() < 1000) {
              out.allowed_consumer_projects.emplace_back(pr.get_string());
            }
          }
        }
      }
      if (const auto* nets = wire::Arr(*ip, "authorizedNetworks")) {
        for (const auto& n : *nets) {
          if (!n.is_object()) continue;
          const auto& no = n.get_object();
          out.authorized_networks.push_back(
              {wire::Str(no, "value"), wire::Str(no, "name"), wire::Str(no, "expirationTime")});
        }
      }
    }
    out.connector_enforcement = wire::Str(*settings, "connectorEnforcement");
    if (const auto* flags = wire::Arr(*settings, "databaseFlags")) {
      for (const auto& f : *flags) {
        if (!f.is_object()) continue;
        out.database_flags.push_back(
            {wire::Str(f.get_object(), "name"), wire::Str(f.get_object(), "value")});
      }
    }
  }
  if (const auto* addrs = wire::Arr(o, "ipAddresses")) {
    for (const auto& a : *addrs) {
      if (!a.is_object()) continue;
      out.ip_addresses.push_back(
          {wire::Str(a.get_object(), "type"), wire::Str(a.get_object(), "ipAddress")});
    }
  }
  return out;
}

// sql#operationErrors: {errors: [{code, message, kind}]}.
Status SqlOperationFailure(const json::object&, OperationErrors errors) {
  std::string message = std::move(errors.message);
  if (message.empty()) message = errors.code.empty() ? "operation failed" : errors.code;
  return Status(StatusCode::kAborted, RedactSecrets(message)).WithReason(errors.code);
}

Operation ParseSqlOperation(const json::value& v, const std::string& project) {
  Operation op = ParseStatusOperation(v, Api::kSqlAdmin, project, "targetId", SqlOperationFailure);
  if (v.is_object()) {
    if (std::string p = wire::Str(v.get_object(), "targetProject"); !p.empty()) op.project = p;
  }
  return op;
}

json::value PatchBody(const SqlInstancePatch& p) {
  json::object settings;
  settings["settingsVersion"] = p.settings_version;  // int64 as a string
  json::object ip;
  if (p.ipv4_enabled) ip["ipv4Enabled"] = *p.ipv4_enabled;
  if (p.private_network) ip["privateNetwork"] = *p.private_network;
  if (p.allocated_ip_range) ip["allocatedIpRange"] = *p.allocated_ip_range;
  if (p.ssl_mode) ip["sslMode"] = *p.ssl_mode;
  if (p.authorized_networks) {
    // Lists replace the live list wholesale: an empty array clears it.
    json::array nets;
    for (const auto& n : *p.authorized_networks) {
      json::object e;
      e["value"] = n.value;
      if (!n.name.empty()) e["name"] = n.name;
      if (!n.expiration_time.empty()) e["expirationTime"] = n.expiration_time;
      e["kind"] = "sql#aclEntry";
      nets.push_back(std::move(e));
    }
    ip["authorizedNetworks"] = std::move(nets);
  }
  if (p.psc_enabled || p.allowed_consumer_projects) {
    json::object psc;
    if (p.psc_enabled) psc["pscEnabled"] = *p.psc_enabled;
    if (p.allowed_consumer_projects) {
      json::array projects;
      for (const auto& pr : *p.allowed_consumer_projects) projects.emplace_back(pr);
      psc["allowedConsumerProjects"] = std::move(projects);
    }
    ip["pscConfig"] = std::move(psc);
  }
  if (!ip.empty()) settings["ipConfiguration"] = std::move(ip);
  if (p.database_flags) {
    json::array flags;
    for (const auto& f : *p.database_flags) flags.push_back(json::object{{"name", f.name}, {"value", f.value}});
    settings["databaseFlags"] = std::move(flags);
  }
  if (p.connector_enforcement) settings["connectorEnforcement"] = *p.connector_enforcement;
  return json::object{{"settings", std::move(settings)}};
}

// Operations carry no project in their short names: it rides along.
auto SqlOperationParser(std::string project) {
  return [project = std::move(project)](const json::value& v) {
    return ParseSqlOperation(v, project);
  };
}

class SqlAdminRest final : public SqlAdmin, RestStub {
 public:
  using RestStub::RestStub;

  Task<StatusOr<SqlInstance>> GetInstance(std::string project, std::string instance) override {
    return rest_->CallParsed(ReadCall(Api::kSqlAdmin, InstanceUrl(project, instance),
                                      "sqladmin instances.get " + project + "/" + instance,
                                      "instances.get"),
                             ParseInstance);
  }

  Task<StatusOr<std::vector<SqlInstance>>> ListInstances(std::string project) override {
    return rest_->ListAll(ListInstancesCall(project), "items", ParseInstance);
  }

  Task<Status> ForEachInstance(std::string project,
                               std::function<void(SqlInstance)> each) override {
    RestCall c = ListInstancesCall(project);
    std::function<void(const json::value&)> item = [&](const json::value& v) {
      each(ParseInstance(v));
    };
    Status listed = co_await rest_->ListEach(std::move(c), "items", std::move(item));
    co_return listed;
  }

  Task<StatusOr<Operation>> PatchInstance(std::string project, std::string instance,
                                          SqlInstancePatch patch) override {
    if (patch.settings_version.empty()) {
      co_return InvalidArgumentError("sqladmin instances.patch " + project + "/" + instance +
                                     ": settings_version is required (echo the one from GET)");
    }
    RestCall c = MutationCall(Api::kSqlAdmin, "PATCH", InstanceUrl(project, instance),
                              "sqladmin instances.patch " + project + "/" + instance,
                              "instances.patch");
    c.body = PatchBody(patch);
    auto parse = SqlOperationParser(project);
    co_return co_await rest_->CallForOperation(std::move(c), std::move(parse));
  }

  Task<StatusOr<Operation>> GetOperation(std::string project, std::string operation) override {
    return rest_->CallParsed(
        ReadCall(Api::kSqlAdmin,
                 BuildUrl(root_, "v1/projects/" + EncodeSegment(project) + "/operations/" +
                                     EncodeSegment(operation)),
                 "sqladmin operations.get " + project + "/" + operation, "operations.get"),
        SqlOperationParser(project));
  }

  Task<StatusOr<std::vector<Operation>>> ListOperations(std::string project,
                                                        std::string instance) override {
    return rest_->ListAll(
        ListCall(Api::kSqlAdmin,
                 BuildUrl(root_, "v1/projects/" + EncodeSegment(project) + "/operations",
                          {{"instance", instance}}),
                 "sqladmin operations.list " + project + "/" + instance, "operations.list"),
        "items", SqlOperationParser(project));
  }

 private:
  std::string InstanceUrl(const std::string& project, const std::string& instance) const {
    return BuildUrl(root_, "v1/projects/" + EncodeSegment(project) + "/instances/" +
                               EncodeSegment(instance));
  }
  RestCall ListInstancesCall(const std::string& project) const {
    return ListCall(Api::kSqlAdmin,
                    BuildUrl(root_, "v1/projects/" + EncodeSegment(project) + "/instances"),
                    "sqladmin instances.list " + project, "instances.list");
  }

};

}  // namespace

std::unique_ptr<SqlAdmin> MakeSqlAdminRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<SqlAdminRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
