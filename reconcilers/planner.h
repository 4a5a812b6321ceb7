#pragma once
// The planner: compiles one intent against a live snapshot into a Plan.
// Pure: no I/O, no clock, no randomness. See plan.h for how plans are run.
//
// Steps, in order, each present only when live state differs:
//   range/<name>                 private services access range (Compute)
//   peering/<network>            Service Networking connection using the range
//   connector/<name>             Serverless VPC Access connector
//   instance/<name>              private network, allocated range, sslMode,
//                                IAM flag, authorized-network additions,
//                                ipv4Enabled=true if the file asks for it
//   job/<name>, service/<name>   DATABASE_URL, password secret ref in the
//                                variable the driver reads (credentials.h),
//                                vpcAccess or Cloud SQL volume + mount;
//                                blocked when no URL could log in (IAM user
//                                on the socket, SQL Server without
//                                passwordEnv, client certificates required)
//   verify/job/<name>            policy.verify: run the job after moving it
//   instance/<name>/public-path  ipv4Enabled=false, pruned authorized networks:
//                                the breaking half, after every workload moved

#include <string>
#include <string_view>

#include "config/model.h"
#include "gcp/types.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

Plan ComputePlan(const config::Intent& intent, const LiveState& live);

// "cloudsql.iam_authentication" for PostgreSQL, "cloudsql_iam_authentication"
// for MySQL, "" for engines without the flag.
std::string_view IamFlagName(std::string_view database_version);

// The range name used when the intent leaves it empty.
std::string DefaultRangeName(std::string_view network);
// The private services access range an intent's privateIp uses.
std::string ServicesRangeName(const config::PrivateIp& private_ip);

// Step ids, so callers and tests need not spell them.
std::string InstanceStepId(std::string_view instance);
std::string PublicPathStepId(std::string_view instance);

}  // namespace dbconnd::reconcilers
