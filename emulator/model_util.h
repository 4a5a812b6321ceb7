#pragma once
// Small JSON, time, URL and CIDR helpers shared by the emulator's sources.

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "net/http.h"

namespace dbconnd::emulator {

namespace json = boost::json;

std::string Rfc3339(int64_t ms_since_epoch);

// Google's JSON error body: {error:{code,message,status,errors[...]}}.
net::HttpResponse ErrorResponse(int http, std::string_view status, std::string_view message,
                                std::string_view reason, std::string_view domain = "global",
                                std::string_view location = "", std::string_view location_type = "");
// From a Status carrying an http_status and reason (defaults by code).
net::HttpResponse ErrorFromStatus(const Status& s);
net::HttpResponse JsonResponse(int http, const json::value& body);

struct Target {
  std::string path;
  std::vector<std::string> segs;  // percent-decoded
  std::map<std::string, std::string> query;
  std::string Query(const std::string& k) const {
    auto it = query.find(k);
    return it == query.end() ? std::string() : it->second;
  }
};
Target ParseTarget(std::string_view target);
std::string PercentDecode(std::string_view s, bool plus_is_space);
std::map<std::string, std::string> ParseForm(std::string_view body);

// Object/array/string accessors that never throw.
json::object* ObjAt(json::object& o, std::string_view key);  // creates
const json::value* Find(const json::value& v, std::initializer_list<std::string_view> path);
// Overload so an object is never copied into a temporary value.
const json::value* Find(const json::object& o, std::initializer_list<std::string_view> path);
std::string Str(const json::value* v);
std::string Str(const json::object& o, std::string_view key);
// Merges src into dst the way Google's PATCH does: objects field by field,
// everything else (lists included) replaced; null removes the field.
void MergePatch(json::object& dst, const json::object& src);

// IPv4 CIDR "a.b.c.d/n" -> (network, prefix). nullopt when malformed.
struct Cidr {
  uint32_t base;
  int prefix;
};
std::optional<Cidr> ParseCidr(std::string_view s);
std::optional<uint32_t> ParseIpv4(std::string_view s);
std::string FormatIpv4(uint32_t ip);
bool CidrContains(const Cidr& c, uint32_t ip);
bool CidrOverlap(const Cidr& a, const Cidr& b);

// What follows the last '/' of a name or URL (all of it without one).
std::string LastSegment(const std::string& s);

// A Compute regional reference: "…projects/P/regions/R/KIND/N" (full URL or
// partial) or a bare "N" (project and region empty); not ok when malformed.
struct RegionalRef {
  std::string project, region, name;
  bool ok = false;
};
RegionalRef ParseRegionalRef(const std::string& ref, std::string_view kind);

}  // namespace dbconnd::emulator
