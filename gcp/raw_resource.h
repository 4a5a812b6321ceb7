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

inline RawResourcePtr MakeRaw(boost::json::value json) {
  return std::make_shared<const RawResource>(std::move(json));
}

}  // namespace dbconnd::gcp
