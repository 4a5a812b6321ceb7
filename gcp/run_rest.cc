// Cloud Run Admin API v2 over REST (REFERENCE.md §2). Jobs keep their task
// template at template.template.*, services at template.*. jobs.patch has no
// updateMask, so a patch is read-modify-write of the whole live document.
#include <boost/json/serialize.hpp>

#include "gcp/json_util.h"
#include "gcp/raw_resource.h"
#include "gcp/rest_client.h"
#include "gcp/run_wire.h"
#include "gcp/status_mapping.h"

namespace dbconnd::gcp {

namespace json = boost::json;

namespace {

const json::object* TaskTemplate(const json::object& root, RunKind kind) {
  const json::object* t = wire::Obj(root, "template");
  if (t == nullptr || kind == RunKind::kService) return t;
  return wire::Obj(*t, "template");
}

json::object* MutableTaskTemplate(json::object& root, RunKind kind) {
  json::object* t = &wire::Ensure(root, "template");
  if (kind == RunKind::kJob) t = &wire::Ensure(*t, "template");
  return t;
}

EnvVar ParseEnv(const json::object& e) {
  EnvVar out;
  out.name = wire::Str(e, "name");
  out.value = wire::Str(e, "value");
  if (const auto* src = wire::Obj(e, "valueSource")) {
    if (const auto* ref = wire::Obj(*src, "secretKeyRef")) {
      out.secret = SecretKeyRef{wire::Str(*ref, "secret"), wire::Str(*ref, "version")};
    }
  }
  return out;
}

// Edits a live env entry (or a fresh object) to say what `want` says while
// keeping anything else it carries.
json::object EnvToJson(const EnvVar& want, json::object base) {
  base["name"] = want.name;
  if (want.secret) {
    base.erase("value");
    json::object& src = wire::Ensure(base, "valueSource");
    json::object& ref = wire::Ensure(src, "secretKeyRef");
    ref["secret"] = want.secret->secret;
    if (want.secret->version.empty()) ref.erase("version");
    else ref["version"] = want.secret->version;
  } else {
    base.erase("valueSource");
    base["value"] = want.value;
  }
  return base;
}

json::array ToArray(std::vector<json::object> objects) {
  json::array out;
  for (auto& o : objects) out.push_back(std::move(o));
  return out;
}

const json::object* FindByName(const json::array* arr, std::string_view name) {
  if (arr == nullptr) return nullptr;
  for (const auto& v : *arr) {
    if (v.is_object() && wire::Str(v.get_object(), "name") == name) return &v.get_object();
  }
  return nullptr;
}

Status ApplyContainer(const Container& want, json::object& live) {
  // env: the modelled list in the desired order; entries that already exist
  // keep their unmodelled fields.
  const json::array* live_env = wire::Arr(live, "env");
  std::vector<json::object> env;
  for (const auto& e : want.env) {
    const json::object* existing = FindByName(live_env, e.name);
    if (existing != nullptr && ParseEnv(*existing) == e) {
      env.push_back(*existing);
    } else {
      env.push_back(EnvToJson(e, existing ? *existing : json::object()));
    }
  }
  if (env.empty()) live.erase("env");
  else live["env"] = ToArray(std::move(env));

  const json::array* live_mounts = wire::Arr(live, "volumeMounts");
  std::vector<json::object> mounts;
  for (const auto& m : want.volume_mounts) {
    const json::object* existing = FindByName(live_mounts, m.name);
    json::object o = existing ? *existing : json::object();
    o["name"] = m.name;
    if (m.mount_path.empty()) o.erase("mountPath");
    else o["mountPath"] = m.mount_path;
    mounts.push_back(std::move(o));
  }
  if (mounts.empty()) live.erase("volumeMounts");
  else live["volumeMounts"] = ToArray(std::move(mounts));
  return OkStatus();
}

}  // namespace

RunWorkload ParseRunWorkload(const json::value& v, RunKind kind, RawDocuments raw) {
  RunWorkload out;
  out.kind = kind;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  wire::SetLocatedName(out, wire::Str(o, "name"));
  out.etag = wire::Str(o, "etag");
  out.generation = wire::Str(o, "generation");
  if (const auto* latest = wire::Obj(o, "latestCreatedExecution")) {
    out.latest_execution = wire::Str(*latest, "name");
    out.latest_execution_create_time = wire::Str(*latest, "createTime");
    out.latest_execution_status = wire::Str(*latest, "completionStatus");
  }
  out.execution_count = wire::Int(o, "executionCount");
  out.update_time = wire::Str(o, "updateTime");
  if (const auto* rec = o.if_contains("reconciling"); rec && rec->is_bool()) {
    out.reconciling = rec->get_bool();
  }
  if (const json::object* t = TaskTemplate(o, kind)) {
    if (const auto* containers = wire::Arr(*t, "containers")) {
      for (const auto& c : *containers) {
        if (!c.is_object()) continue;
        const auto& co = c.get_object();
        Container ct;
        ct.name = wire::Str(co, "name");
        ct.image = wire::Str(co, "image");
        if (const auto* env = wire::Arr(co, "env")) {
          for (const auto& e : *env) {
            if (e.is_object()) ct.env.push_back(ParseEnv(e.get_object()));
          }
        }
        if (const auto* mounts = wire::Arr(co, "volumeMounts")) {
          for (const auto& m : *mounts) {
            if (!m.is_object()) continue;
            ct.volume_mounts.push_back(
                {wire::Str(m.get_object(), "name"), wire::Str(m.get_object(), "mountPath")});
          }
        }
        out.containers.push_back(std::move(ct));
      }
    }
    if (const auto* volumes = wire::Arr(*t, "volumes")) {
      for (const auto& vol : *volumes) {
        if (!vol.is_object()) continue;
        const auto* sql = wire::Obj(vol.get_object(), "cloudSqlInstance");
        if (sql == nullptr) continue;
        CloudSqlVolume cv;
        cv.name = wire::Str(vol.get_object(), "name");
        if (const auto* inst = wire::Arr(*sql, "instances")) {
          for (const auto& i : *inst) {
            if (i.is_string()) cv.instances.emplace_back(i.get_string());
          }
        }
        out.cloud_sql_volumes.push_back(std::move(cv));
      }
    }
    out.service_account = wire::Str(*t, "serviceAccount");
    if (const auto* vpc = wire::Obj(*t, "vpcAccess")) {
      RunVpcAccess access;
      access.connector = wire::Str(*vpc, "connector");
      access.egress = wire::Str(*vpc, "egress");
      // Direct VPC egress. Cloud Run holds at most one interface; a longer
      // list is read as far as that (hostile input stays bounded).
      if (const auto* nis = wire::Arr(*vpc, "networkInterfaces")) {
        for (const auto& ni : *nis) {
          if (!ni.is_object() || !access.network_interfaces.empty()) break;
          NetworkInterface n;
          n.network = wire::Str(ni.get_object(), "network");
          n.subnetwork = wire::Str(ni.get_object(), "subnetwork");
          if (const auto* tags = wire::Arr(ni.get_object(), "tags")) {
            for (const auto& tag : *tags) {
              if (tag.is_string() && n.tags.size() < 64) n.tags.emplace_back(tag.get_string());
            }
          }
          access.network_interfaces.push_back(std::move(n));
        }
      }
      if (!access.connector.empty() || !access.network_interfaces.empty()) out.vpc_access = std::move(access);
    }
  }
  if (raw == RawDocuments::kKeep) out.raw = MakeRaw(v);
  return out;
}

namespace {
// Removes `key` unless it is an empty list: an empty list means unset to
// Google, and leaving it keeps an unchanged document byte for byte.
void EraseNonEmptyList(json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return;
  if (it->value().is_array() && it->value().get_array().empty()) return;
  o.erase(it);
}
}  // namespace

StatusOr<json::value> ApplyRunWorkload(const RunWorkload& desired) {
  const std::string what = "run patch " + desired.FullName();
  if (!desired.raw || !desired.raw->json().is_object()) {
    return InvalidArgumentError(what + ": needs the live resource it was read from (raw)");
  }
  json::value doc = desired.raw->json();  // deep copy; unknown fields ride along untouched
  json::object& root = doc.get_object();
  json::object& t = *MutableTaskTemplate(root, desired.kind);

  // Containers, matched by name (by position when the live one has no name).
  if (!desired.containers.empty()) {
    json::value& containers_v = t["containers"];
    if (!containers_v.is_array()) {
      return InvalidArgumentError(what + ": live resource has no containers");
    }
    json::array& containers = containers_v.get_array();
    for (size_t i = 0; i < desired.containers.size(); ++i) {
      const Container& want = desired.containers[i];
      json::object* live = nullptr;
      for (auto& c : containers) {
        if (c.is_object() && !want.name.empty() && wire::Str(c.get_object(), "name") == want.name) {
          live = &c.get_object();
        }
      }
      if (live == nullptr && want.name.empty() && i < containers.size() &&
          containers[i].is_object()) {
        live = &containers[i].get_object();
      }
      if (live == nullptr) {
        return InvalidArgumentError(what + ": container \"" + want.name +
                                    "\" is not in the live resource; adding containers is not "
                                    "supported");
      }
      DBCONND_RETURN_IF_ERROR(ApplyContainer(want, *live));
    }
  }

  // Volumes: cloudSqlInstance volumes follow the desired list by name; every
  // other kind stays exactly as it was.
  json::array volumes;
  std::vector<bool> placed(desired.cloud_sql_volumes.size(), false);
  if (const json::array* live_volumes = wire::Arr(t, "volumes")) {
    for (const auto& v : *live_volumes) {
      if (!v.is_object()) {
        volumes.push_back(v);
        continue;
      }
      const auto& vo = v.get_object();
      std::string name = wire::Str(vo, "name");
      size_t match = desired.cloud_sql_volumes.size();
      for (size_t i = 0; i < desired.cloud_sql_volumes.size(); ++i) {
        if (desired.cloud_sql_volumes[i].name == name) match = i;
      }
      bool is_sql = wire::Obj(vo, "cloudSqlInstance") != nullptr;
      if (!is_sql) {
        if (match != desired.cloud_sql_volumes.size()) {
          return InvalidArgumentError(what + ": volume \"" + name +
                                      "\" exists and is not a Cloud SQL volume");
        }
        volumes.push_back(v);
        continue;
      }
      if (match == desired.cloud_sql_volumes.size()) continue;  // removed
      json::object edited = vo;
      json::object& sql = wire::Ensure(edited, "cloudSqlInstance");
      json::array instances;
      for (const auto& i : desired.cloud_sql_volumes[match].instances) instances.emplace_back(i);
      sql["instances"] = std::move(instances);
      volumes.push_back(std::move(edited));
      placed[match] = true;
    }
  }
  for (size_t i = 0; i < desired.cloud_sql_volumes.size(); ++i) {
    if (placed[i]) continue;
    json::array instances;
    for (const auto& inst : desired.cloud_sql_volumes[i].instances) instances.emplace_back(inst);
    volumes.push_back(json::object{{"name", desired.cloud_sql_volumes[i].name},
                                   {"cloudSqlInstance", json::object{{"instances", instances}}}});
  }
  if (volumes.empty()) t.erase("volumes");
  else t["volumes"] = std::move(volumes);

  // vpcAccess: connector, networkInterfaces and egress are ours; anything
  // else in the object stays. Cloud Run refuses a connector together with
  // network interfaces (400), so the one not desired is removed in the same
  // PATCH: moving between the two paths is one write.
  if (desired.vpc_access) {
    json::object& vpc = wire::Ensure(t, "vpcAccess");
    if (desired.vpc_access->connector.empty()) vpc.erase("connector");
    else vpc["connector"] = desired.vpc_access->connector;
    if (desired.vpc_access->network_interfaces.empty()) {
      EraseNonEmptyList(vpc, "networkInterfaces");
    } else {
      json::array nis;
      for (const auto& n : desired.vpc_access->network_interfaces) {
        json::object ni;
        if (!n.network.empty()) ni["network"] = n.network;
        if (!n.subnetwork.empty()) ni["subnetwork"] = n.subnetwork;
        if (!n.tags.empty()) {
          json::array tags;
          for (const auto& tag : n.tags) tags.emplace_back(tag);
          ni["tags"] = std::move(tags);
        }
        nis.emplace_back(std::move(ni));
      }
      vpc["networkInterfaces"] = std::move(nis);
    }
    if (desired.vpc_access->egress.empty()) vpc.erase("egress");
    else vpc["egress"] = desired.vpc_access->egress;
  } else if (auto it = t.find("vpcAccess"); it != t.end() && it->value().is_object()) {
    json::object& vpc = it->value().get_object();
    vpc.erase("connector");
    EraseNonEmptyList(vpc, "networkInterfaces");
    vpc.erase("egress");
    if (vpc.empty()) t.erase("vpcAccess");
  }

  if (!desired.etag.empty()) root["etag"] = desired.etag;
  return doc;
}

namespace {

Execution ParseExecution(const json::value& v) {
  Execution out;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.name = wire::Str(o, "name");
  out.task_count = static_cast<int>(wire::Int(o, "taskCount"));
  out.succeeded_count = static_cast<int>(wire::Int(o, "succeededCount"));
  out.failed_count = static_cast<int>(wire::Int(o, "failedCount"));
  out.completion_time = wire::Str(o, "completionTime");
  out.create_time = wire::Str(o, "createTime");
  out.done = !out.completion_time.empty();
  out.succeeded = out.done && out.task_count > 0 && out.succeeded_count >= out.task_count;
  if (const auto* conditions = wire::Arr(o, "conditions")) {
    std::string completed, failed;
    for (const auto& c : *conditions) {
      if (!c.is_object()) continue;
      const auto& co = c.get_object();
      std::string message = wire::Str(co, "message");
      if (message.empty()) continue;
      if (wire::Str(co, "type") == "Completed") completed = message;
      if (wire::Str(co, "state") == "CONDITION_FAILED" && failed.empty()) failed = message;
    }
    out.message = !failed.empty() ? failed : completed;
  }
  out.message = RedactSecrets(out.message);
  return out;
}

class CloudRunRest final : public CloudRun, RestStub {
 public:
  using RestStub::RestStub;

  Task<StatusOr<RunWorkload>> GetJob(std::string project, std::string region,
                                     std::string job) override {
    return Get(EncodedLocationName(project, region) + "/jobs/" + EncodeSegment(job), RunKind::kJob);
  }
  Task<StatusOr<std::vector<RunWorkload>>> ListJobs(std::string project, std::string region,
                                                    RawDocuments raw) override {
    return List(EncodedLocationName(project, region) + "/jobs", "jobs", RunKind::kJob, raw);
  }
  Task<StatusOr<Operation>> PatchJob(RunWorkload desired) override {
    return Patch(std::move(desired));
  }
  Task<StatusOr<Operation>> RunJob(std::string project, std::string region,
                                   std::string job) override {
    std::string name = EncodedLocationName(project, region) + "/jobs/" + EncodeSegment(job);
    RestCall c = MutationCall(Api::kRun, "POST", BuildUrl(root_, "v2/" + name + ":run"),
                              "run jobs.run " + name, "jobs.run");
    c.body = json::object();
    return SendForOperation(std::move(c));
  }
  Task<StatusOr<Operation>> StartExecution(RunWorkload job, std::string token) override {
    const std::string name = job.FullName();
    if (!job.raw || !job.raw->json().is_object()) {
      return Fail(InvalidArgumentError("run jobs.patch " + name +
                                       ": needs the live job it was read from (raw)"));
    }
    json::value doc = job.raw->json();  // deep copy, etag included
    json::object& root = doc.get_object();
    root.erase("runExecutionToken");  // at most one of the two
    root["startExecutionToken"] = token;
    RestCall c = MutationCall(Api::kRun, "PATCH", BuildUrl(root_, "v2/" + name),
                              "run jobs.patch " + name + " (startExecutionToken " + token + ")",
                              "jobs.patch");
    c.body = std::move(doc);
    return SendForOperation(std::move(c));
  }
  Task<StatusOr<Execution>> GetExecution(std::string name) override {
    return rest_->CallParsed(ReadCall(Api::kRun, BuildUrl(root_, "v2/" + name),
                                      "run executions.get " + name, "executions.get"),
                             ParseExecution);
  }
  Task<StatusOr<RunWorkload>> GetService(std::string project, std::string region,
                                         std::string service) override {
    return Get(EncodedLocationName(project, region) + "/services/" + EncodeSegment(service),
                           RunKind::kService);
  }
  Task<StatusOr<std::vector<RunWorkload>>> ListServices(std::string project, std::string region,
                                                        RawDocuments raw) override {
    return List(EncodedLocationName(project, region) + "/services", "services", RunKind::kService, raw);
  }
  Task<StatusOr<Operation>> PatchService(RunWorkload desired) override {
    return Patch(std::move(desired));
  }
  Task<StatusOr<Operation>> GetOperation(std::string name) override {
    return GetLongRunningOperation(Api::kRun, "v2", "run", name);
  }

 private:
  Task<StatusOr<RunWorkload>> Get(std::string name, RunKind kind) {
    RestCall c =
        ReadCall(Api::kRun, BuildUrl(root_, "v2/" + name),
                 std::string(kind == RunKind::kJob ? "run jobs.get " : "run services.get ") + name,
                 kind == RunKind::kJob ? "jobs.get" : "services.get");
    auto parse = [kind](const json::value& v) { return ParseRunWorkload(v, kind); };
    co_return co_await rest_->CallParsed(std::move(c), std::move(parse));
  }

  Task<Status> ForEachWorkload(RunKind kind, std::string project, std::string region,
                               RawDocuments raw, std::function<void(RunWorkload)> each) override {
    const bool job = kind == RunKind::kJob;
    return Each(EncodedLocationName(project, region) + (job ? "/jobs" : "/services"), job ? "jobs" : "services",
                kind, raw, std::move(each));
  }

  Task<Status> Each(std::string parent, std::string field, RunKind kind, RawDocuments raw,
                    std::function<void(RunWorkload)> each) {
    RestCall c = ListCall(Api::kRun, BuildUrl(root_, "v2/" + parent),
                          "run " + field + ".list " + parent,
                          kind == RunKind::kJob ? "jobs.list" : "services.list");
    std::function<void(const json::value&)> item = [&](const json::value& v) {
      each(ParseRunWorkload(v, kind, raw));
    };
    Status listed = co_await rest_->ListEach(std::move(c), field, std::move(item));
    co_return listed;
  }

  Task<StatusOr<std::vector<RunWorkload>>> List(std::string parent, std::string field,
                                                RunKind kind, RawDocuments raw) {
    std::vector<RunWorkload> out;
    std::function<void(RunWorkload)> each = [&](RunWorkload w) { out.push_back(std::move(w)); };
    Status listed = co_await Each(std::move(parent), std::move(field), kind, raw, std::move(each));
    if (!listed.ok()) co_return listed;
    co_return out;
  }

  Task<StatusOr<Operation>> Patch(RunWorkload desired) {
    auto body = ApplyRunWorkload(desired);
    if (!body.ok()) return Fail(body.status());
    const bool job = desired.kind == RunKind::kJob;
    RestCall c = MutationCall(
        Api::kRun, "PATCH", BuildUrl(root_, "v2/" + desired.FullName()),
        std::string(job ? "run jobs.patch " : "run services.patch ") + desired.FullName(),
        job ? "jobs.patch" : "services.patch");
    c.body = *std::move(body);
    return SendForOperation(std::move(c));
  }

  // Built outside the coroutine that sends it: GCC 12 reports a bogus
  // -Wmismatched-new-delete for a coroutine that co_returns before its first
  // co_await when it is inlined.
  static Task<StatusOr<Operation>> Fail(Status s) { co_return s; }

  Task<StatusOr<Operation>> SendForOperation(RestCall c) {
    return rest_->CallForOperation(std::move(c), ParseLro<Api::kRun>);
  }

};

}  // namespace

std::unique_ptr<CloudRun> MakeCloudRunRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<CloudRunRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
