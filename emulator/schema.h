#pragma once
// Request-body validation against Google's discovery schemas (the stripped
// copies in emulator/schemas/, embedded at build time). Google rejects
// unknown fields with 400 and silently drops output-only ones; so do we.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace dbconnd::emulator {

// {file name, contents} of every embedded schema file.
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedSchemaFiles();

class SchemaSet {
 public:
  // Loads the embedded discovery documents; keyed by the document's "name"
  // ("sqladmin", "run", "vpcaccess", "servicenetworking", "compute").
  static StatusOr<SchemaSet> LoadEmbedded();
  Status AddDocument(std::string_view json_text);

  bool Has(std::string_view api, std::string_view schema) const;

  // Checks `body` against schema `schema` of `api`. On success returns the
  // body with output-only fields removed. Errors are INVALID_ARGUMENT with
  // Google's wording ("Invalid JSON payload received. Unknown name ...").
  StatusOr<boost::json::value> CheckRequest(std::string_view api, std::string_view schema,
                                            const boost::json::value& body) const;

  // Like CheckRequest but only reports whether every field is known; used by
  // tests to prove that what we serve can be sent back unchanged.
  Status CheckKnownFields(std::string_view api, std::string_view schema,
                          const boost::json::value& body) const;

 private:
  Status Walk(const boost::json::object& schemas, const boost::json::object& node,
              const boost::json::value& in, boost::json::value* out, const std::string& path,
              int depth) const;
  std::map<std::string, boost::json::object, std::less<>> docs_;  // api -> "schemas"
};

}  // namespace dbconnd::emulator
