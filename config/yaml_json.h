#pragma once
// Other YAML file formats (a kubeconfig) read through config/, the one
// folder that links yaml-cpp: a document becomes Boost.JSON.

#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace dbconnd::config {

// The first document of `text`: mappings become objects (keys as written),
// sequences arrays, every scalar a string (as YAML wrote it: `true`, `8080`),
// an empty value null. Aliases are expanded, bounded by `max_nodes`. A
// syntax error names the line and column, never the content.
StatusOr<boost::json::value> YamlToJson(std::string_view text, std::size_t max_nodes = 100000);

}  // namespace dbconnd::config
