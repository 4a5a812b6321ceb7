#pragma once
// `dbconnd export`: live Cloud SQL / Cloud Run / VPC Access state turned into
// intent files, one DatabaseConnectivity per Cloud SQL instance.
//
// Reading (ReadForExport) and building (BuildExport) are separate so the
// building, which holds every rule, is a pure function tested without I/O.
//
// Round trip: each intent is checked before it is handed out. It is loaded
// back with config::LoadString (it must validate) and planned with
// reconcilers::ComputePlan against the very snapshot it came from. An intent
// whose plan is not empty could not be declared as live state is (a literal
// password, a URL in another form, a connector shared oddly, ...): it gets
// policy.mode: observe, so adopting it never writes, and every such step is
// named in a comment and in the notes. Passwords never leave this file: URLs
// are inspected, never copied, and notes name env vars, not values.

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "gcp/api.h"
#include "gcp/types.h"

namespace dbconnd::cli {

struct ExportOptions {
  std::string project;
  std::string project_number;          // needed when an instance has a private IP
  std::vector<std::string> regions;    // empty = every region with an instance
  std::vector<std::string> instances;  // empty = every instance
};

// What export reads from one project.
struct ExportSnapshot {
  std::vector<gcp::SqlInstance> instances;  // after the filters, sorted by name
  // Everything below is keyed by region (Cloud Run, VPC Access) or by short
  // network name (peerings) or range name (private services ranges).
  std::map<std::string, std::vector<gcp::RunWorkload>> jobs;
  std::map<std::string, std::vector<gcp::RunWorkload>> services;
  std::map<std::string, std::vector<gcp::Connector>> connectors;
  std::map<std::string, std::vector<gcp::PeeringConnection>> peerings;
  std::map<std::string, gcp::GlobalAddress> ranges;
};

struct ExportedIntent {
  std::string name;                // metadata.name and file stem (the instance name)
  std::string yaml;                // one document, validated; empty when `error` is set
  std::vector<std::string> notes;  // what could not be declared as it is (stderr)
  bool observe = false;            // policy.mode: observe was chosen for adoption
  std::string error;               // the intent could not be written as a valid file
};

// Reads every instance of the project (filtered), then Cloud Run jobs and
// services and VPC Access connectors of each region involved, the Service
// Networking connections of each private network and the private services
// ranges they reserve. Read-only. FAILED_PRECONDITION when an instance has a
// private IP and options.project_number is empty; NOT_FOUND for an
// --instance that does not exist.
gcp::Task<StatusOr<ExportSnapshot>> ReadForExport(gcp::Clients clients, ExportOptions options);

// Pure: the intents for `snapshot`, sorted by name.
std::vector<ExportedIntent> BuildExport(const ExportSnapshot& snapshot,
                                        const ExportOptions& options);

// The placeholder secret an export writes where a password has no Secret
// Manager reference yet: "projects/P/secrets/CREATE-ME-<workload>-db-password/versions/latest".
std::string PlaceholderSecret(const std::string& project, const std::string& workload);

}  // namespace dbconnd::cli
