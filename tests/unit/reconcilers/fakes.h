#pragma once
// In-memory fakes of the gcp interfaces over one shared world, with a call
// log, a log of accepted writes, and "fail the next call of method M with
// status S". Operations finish immediately unless a running one is injected.

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gcp/api.h"
#include "gcp/write_fence.h"
#include "reconcilers/live_state.h"
#include "fixtures.h"

namespace dbconnd::reconcilers::testing {

class FakeCloud {
 public:
  explicit FakeCloud(LiveState world) : world_(std::move(world)) {}

  gcp::Clients clients() { return {&sql_, &run_, &vpc_, &networking_, &compute_}; }
  const LiveState& world() const { return world_; }
  LiveState& world() { return world_; }
  // The connector or the replace's new one called `name`, if either is.
  gcp::Connector* ConnectorNamed(const std::string& name) {
    if (world_.connector && world_.connector->name == name) return &*world_.connector;
    if (world_.replacement_connector && world_.replacement_connector->name == name) {
      return &*world_.replacement_connector;
    }
    return nullptr;
  }

  std::vector<std::string> calls;   // every call, "api.Method target"
  std::vector<std::string> writes;  // accepted mutations only
  // A created connector reads CREATING this many times before READY.
  int connector_creating_reads = 0;
  std::map<std::string, std::deque<Status>> fail_next;  // by method name
  // Returned by ListOperations until polled once (simulates a running op).
  std::vector<gcp::Operation> running_sql_ops;
  bool run_succeeds = true;
  // Accept job patches (answer with a done operation) without changing the
  // job, as if someone reverted it at once.
  bool revert_job_patches = false;
  // Asked before every write like RestClient does (gcp/write_fence.h).
  std::shared_ptr<gcp::WriteFence> write_fence;
  // requestId of every InsertGlobalAddress call, in order.
  std::vector<std::string> insert_request_ids;
  // An execution Google already has (e.g. started by a process that died).
  void AddExecution(gcp::Execution e) { executions_[e.name] = std::move(e); }

 private:
  std::optional<Status> Call(const std::string& method, const std::string& target) {
    calls.push_back(method + " " + target);
    const std::string verb = method.substr(method.find('.') + 1);
    if (write_fence && verb.rfind("Get", 0) != 0 && verb.rfind("List", 0) != 0) {
      auto admitted = write_fence->Admit(method, gcp::SteadyTime::max());
      if (!admitted.ok()) return admitted.status();
    }
    auto it = fail_next.find(method);
    if (it != fail_next.end() && !it->second.empty()) {
      Status s = it->second.front();
      it->second.pop_front();
      return s;
    }
    return std::nullopt;
  }
  gcp::Operation Done(gcp::Api api, const std::string& target, const std::string& method) {
    writes.push_back(method + " " + target);
    gcp::Operation op;
    op.api = api;
    op.project = kProject;
    op.name = "op-" + std::to_string(++op_counter_);
    op.target = target;
    op.done = true;
    return op;
  }

  class Sql : public gcp::SqlAdmin {
   public:
    explicit Sql(FakeCloud* c) : c_(c) {}
    gcp::Task<StatusOr<gcp::SqlInstance>> GetInstance(std::string, std::string name) override {
      if (auto s = c_->Call("sql.GetInstance", name)) co_return *s;
      if (!c_->world_.instance) co_return NotFoundError(name);
      co_return *c_->world_.instance;
    }
    gcp::Task<StatusOr<std::vector<gcp::SqlInstance>>> ListInstances(std::string p) override {
      if (auto s = c_->Call("sql.ListInstances", p)) co_return *s;
      std::vector<gcp::SqlInstance> out;
      if (c_->world_.instance) out.push_back(*c_->world_.instance);
      co_return out;
    }
    gcp::Task<StatusOr<gcp::Operation>> PatchInstance(std::string, std::string name,
                                                      gcp::SqlInstancePatch patch) override {
      if (auto s = c_->Call("sql.PatchInstance", name)) co_return *s;
      if (patch.settings_version != c_->world_.instance->settings_version) {
        co_return FailedPreconditionError("Condition does not match.")
            .WithHttpStatus(412)
            .WithReason("staleData");
      }
      Step step;
      step.payload = patch;
      Simulate(step, c_->world_);
      co_return c_->Done(gcp::Api::kSqlAdmin, name, "sql.PatchInstance");
    }
    gcp::Task<StatusOr<gcp::Operation>> GetOperation(std::string, std::string name) override {
      c_->Call("sql.GetOperation", name);
      c_->running_sql_ops.clear();
      gcp::Operation op;
      op.api = gcp::Api::kSqlAdmin;
      op.project = kProject;
      op.name = name;
      op.done = true;
      co_return op;
    }
    gcp::Task<StatusOr<std::vector<gcp::Operation>>> ListOperations(std::string,
                                                                   std::string i) override {
      c_->Call("sql.ListOperations", i);
      co_return c_->running_sql_ops;
    }

   private:
    FakeCloud* c_;
  };

  class Run : public gcp::CloudRun {
   public:
    explicit Run(FakeCloud* c) : c_(c) {}
    gcp::Task<StatusOr<gcp::RunWorkload>> GetJob(std::string, std::string, std::string j) override {
      c_->Call("run.GetJob", j);
      auto it = c_->world_.jobs.find(j);
      if (it == c_->world_.jobs.end()) co_return NotFoundError(j);
      co_return it->second;
    }
    gcp::Task<StatusOr<std::vector<gcp::RunWorkload>>> ListJobs(std::string, std::string,
                                                                gcp::RawDocuments raw) override {
      if (auto s = c_->Call("run.ListJobs", "")) co_return *s;
      std::vector<gcp::RunWorkload> out;
      for (const auto& [n, w] : c_->world_.jobs) out.push_back(w);
      if (raw == gcp::RawDocuments::kDrop) {
        for (auto& w : out) w.raw.reset();
      }
      co_return out;
    }
    gcp::Task<StatusOr<gcp::Operation>> PatchJob(gcp::RunWorkload w) override {
      if (auto s = c_->Call("run.PatchJob", w.name)) co_return *s;
      if (!c_->revert_job_patches) c_->world_.jobs[w.name] = w;
      co_return c_->Done(gcp::Api::kRun, w.name, "run.PatchJob");
    }
    gcp::Task<StatusOr<gcp::Operation>> RunJob(std::string, std::string, std::string j) override {
      if (auto s = c_->Call("run.RunJob", j)) co_return *s;
      gcp::Execution e;
      e.name = "projects/p/locations/r/jobs/" + j + "/executions/e" +
               std::to_string(c_->executions_.size() + 1);
      e.done = true;
      e.succeeded = c_->run_succeeds;
      e.message = c_->run_succeeds ? "" : "connection timeout expired";
      c_->executions_[e.name] = e;
      c_->world_.jobs[j].latest_execution = e.name;
      co_return c_->Done(gcp::Api::kRun, j, "run.RunJob");
    }
    gcp::Task<StatusOr<gcp::Operation>> StartExecution(gcp::RunWorkload job,
                                                       std::string token) override {
      if (auto s = c_->Call("run.StartExecution", job.name)) co_return *s;
      // The execution <job>-<token> is created once; the same token again
      // creates nothing.
      const std::string name = job.FullName() + "/executions/" + job.name + "-" + token;
      if (!c_->executions_.count(name)) {
        gcp::Execution e;
        e.name = name;
        e.done = true;
        e.succeeded = c_->run_succeeds;
        e.message = c_->run_succeeds ? "" : "connection timeout expired";
        c_->executions_[name] = e;
      }
      c_->world_.jobs[job.name].latest_execution = name;
      co_return c_->Done(gcp::Api::kRun, job.name, "run.StartExecution");
    }
    gcp::Task<StatusOr<gcp::Execution>> GetExecution(std::string name) override {
      c_->Call("run.GetExecution", name);
      co_return c_->executions_.at(name);
    }
    gcp::Task<StatusOr<gcp::RunWorkload>> GetService(std::string, std::string,
                                                     std::string s) override {
      c_->Call("run.GetService", s);
      co_return NotFoundError(s);
    }
    gcp::Task<StatusOr<std::vector<gcp::RunWorkload>>> ListServices(
        std::string, std::string, gcp::RawDocuments raw) override {
      c_->Call("run.ListServices", "");
      std::vector<gcp::RunWorkload> out;
      for (const auto& [n, w] : c_->world_.services) out.push_back(w);
      if (raw == gcp::RawDocuments::kDrop) {
        for (auto& w : out) w.raw.reset();
      }
      co_return out;
    }
    gcp::Task<StatusOr<gcp::Operation>> PatchService(gcp::RunWorkload w) override {
      if (auto s = c_->Call("run.PatchService", w.name)) co_return *s;
      c_->world_.services[w.name] = w;
      co_return c_->Done(gcp::Api::kRun, w.name, "run.PatchService");
    }
    gcp::Task<StatusOr<gcp::Operation>> GetOperation(std::string name) override {
      c_->Call("run.GetOperation", name);
      co_return NotFoundError(name);
    }

   private:
    FakeCloud* c_;
  };

  class Vpc : public gcp::VpcAccess {
   public:
    explicit Vpc(FakeCloud* c) : c_(c) {}
    gcp::Task<StatusOr<gcp::Connector>> GetConnector(std::string, std::string,
                                                     std::string n) override {
      c_->Call("vpc.GetConnector", n);
      gcp::Connector* found = c_->ConnectorNamed(n);
      if (!found) co_return NotFoundError(n);
      auto& conn = *found;
      if (conn.state == "CREATING" && c_->connector_creating_reads-- <= 0) conn.state = "READY";
      co_return conn;
    }
    gcp::Task<StatusOr<std::vector<gcp::Connector>>> ListConnectors(std::string,
                                                                    std::string) override {
      c_->Call("vpc.ListConnectors", "");
      std::vector<gcp::Connector> out;
      if (c_->world_.connector) out.push_back(*c_->world_.connector);
      if (c_->world_.replacement_connector) out.push_back(*c_->world_.replacement_connector);
      co_return out;
    }
    gcp::Task<StatusOr<gcp::Operation>> CreateConnector(gcp::Connector c) override {
      if (auto s = c_->Call("vpc.CreateConnector", c.name)) co_return *s;
      // A second name beside the existing connector is a replace's new one;
      // the old one stays (dbconnd never deletes).
      auto& slot = c_->world_.connector && c_->world_.connector->name != c.name
                       ? c_->world_.replacement_connector
                       : c_->world_.connector;
      slot = c;
      slot->state = c_->connector_creating_reads > 0 ? "CREATING" : "READY";
      co_return c_->Done(gcp::Api::kVpcAccess, c.name, "vpc.CreateConnector");
    }
    gcp::Task<StatusOr<gcp::Operation>> DeleteConnector(std::string, std::string,
                                                        std::string n) override {
      if (auto s = c_->Call("vpc.DeleteConnector", n)) co_return *s;
      c_->world_.connector.reset();
      co_return c_->Done(gcp::Api::kVpcAccess, n, "vpc.DeleteConnector");
    }
    gcp::Task<StatusOr<gcp::Operation>> GetOperation(std::string name) override {
      c_->Call("vpc.GetOperation", name);
      co_return NotFoundError(name);
    }

   private:
    FakeCloud* c_;
  };

  class Networking : public gcp::ServiceNetworking {
   public:
    explicit Networking(FakeCloud* c) : c_(c) {}
    gcp::Task<StatusOr<std::vector<gcp::PeeringConnection>>> ListConnections(
        std::string network) override {
      c_->Call("networking.ListConnections", network);
      co_return c_->world_.Peerings();
    }
    gcp::Task<StatusOr<gcp::Operation>> CreateConnection(gcp::PeeringConnection c) override {
      if (auto s = c_->Call("networking.CreateConnection", c.network)) co_return *s;
      PeeringList list = c_->world_.Peerings();
      list.push_back(c);
      c_->world_.peerings = std::make_shared<const PeeringList>(std::move(list));
      co_return c_->Done(gcp::Api::kServiceNetworking, c.network, "networking.CreateConnection");
    }
    gcp::Task<StatusOr<gcp::Operation>> GetOperation(std::string name) override {
      c_->Call("networking.GetOperation", name);
      co_return NotFoundError(name);
    }

   private:
    FakeCloud* c_;
  };

  class ComputeFake : public gcp::Compute {
   public:
    explicit ComputeFake(FakeCloud* c) : c_(c) {}
    gcp::Task<StatusOr<gcp::GlobalAddress>> GetGlobalAddress(std::string,
                                                             std::string name) override {
      c_->Call("compute.GetGlobalAddress", name);
      if (!c_->world_.services_range || c_->world_.services_range->name != name) {
        co_return NotFoundError(name);
      }
      co_return *c_->world_.services_range;
    }
    gcp::Task<StatusOr<gcp::Operation>> InsertGlobalAddress(gcp::GlobalAddress a) override {
      c_->insert_request_ids.push_back(a.request_id);
      if (auto s = c_->Call("compute.InsertGlobalAddress", a.name)) co_return *s;
      c_->world_.services_range = a;
      co_return c_->Done(gcp::Api::kCompute, a.name, "compute.InsertGlobalAddress");
    }
    gcp::Task<StatusOr<gcp::Operation>> GetGlobalOperation(std::string,
                                                           std::string name) override {
      c_->Call("compute.GetGlobalOperation", name);
      co_return NotFoundError(name);
    }

   private:
    FakeCloud* c_;
  };

  LiveState world_;
  int op_counter_ = 0;
  std::map<std::string, gcp::Execution> executions_;
  Sql sql_{this};
  Run run_{this};
  Vpc vpc_{this};
  Networking networking_{this};
  ComputeFake compute_{this};
};

}  // namespace dbconnd::reconcilers::testing
