#pragma once
// Rendering of the controller's /status document for `dbconnd status`:
// a kubectl-style table. Pure, so tests feed it documents directly.

#include <boost/json/object.hpp>
#include <string>

namespace dbconnd::cli {

// NAME MODE READY SYNCED REASON GEN PLAN NEXT-RESYNC AGE-style table, a header
// line with the generation, readiness and config state, then (with
// `resources`) one indented row per resource, then the last errors.
std::string RenderStatusTable(const boost::json::object& status, bool resources);

// Every intent's Ready condition is True.
bool AllReady(const boost::json::object& status);

}  // namespace dbconnd::cli
