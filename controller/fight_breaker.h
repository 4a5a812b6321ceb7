#pragma once
// The fight breaker: "the same field corrected more than `threshold` times
// within `window` means another writer is fighting us". Once open, the
// intent is only observed until `window` has passed since the trip (then the
// history is cleared and writing resumes), or its configuration changes.

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace dbconnd::controller {

class FightBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit FightBreaker(int threshold = 3,
                        std::chrono::milliseconds window = std::chrono::minutes(10))
      : threshold_(threshold), window_(window) {}

  // Records that `field` was written back to the desired value at `now`.
  // Returns true when this correction trips the breaker.
  bool RecordCorrection(const std::string& field, TimePoint now);
  bool IsOpen(TimePoint now);
  void Reset();
  const std::string& tripped_field() const { return tripped_field_; }
  int Corrections(const std::string& field, TimePoint now);

 private:
  void Prune(TimePoint now);
  int threshold_;
  std::chrono::milliseconds window_;
  std::map<std::string, std::deque<TimePoint>> corrections_;
  std::optional<TimePoint> tripped_at_;
  std::string tripped_field_;
};

}  // namespace dbconnd::controller
