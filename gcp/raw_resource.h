#pragma once
// gcp-private: the definition behind types.h's opaque RawResource. Only
// gcp/*.cc include this; reconcilers see a shared_ptr they cannot look into.

#include <boost/json/value.hpp>
#include <utility>

#include "gcp/types.h"

namespace dbconnd::gcp {

class RawResource {
 public:
  explicit RawResource(boost::json::value json) : json_(std::move(json)) {}
  const boost::json::value& json() const { return json_; }

 private:
  boost::json::value json_;
};

// A copy in the default storage: never pins the arena of the page it was
// listed in (RestCall::arena).
inline RawResourcePtr MakeRaw(const boost::json::value& json) {
  return std::make_shared<const RawResource>(boost::json::value(json, boost::json::storage_ptr()));
}

}  // namespace dbconnd::gcp
