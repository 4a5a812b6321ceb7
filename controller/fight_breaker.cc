#include "controller/fight_breaker.h"

#include <iterator>

namespace dbconnd::controller {

void FightBreaker::Prune(TimePoint now) {
  for (auto it = corrections_.begin(); it != corrections_.end();) {
    auto& times = it->second;
    while (!times.empty() && now - times.front() > window_) times.pop_front();
    it = times.empty() ? corrections_.erase(it) : std::next(it);
  }
}

bool FightBreaker::RecordCorrection(const std::string& field, TimePoint now) {
  Prune(now);
  auto& times = corrections_[field];
  times.push_back(now);
  if (!tripped_at_ && static_cast<int>(times.size()) > threshold_) {
    tripped_at_ = now;
    tripped_field_ = field;
    return true;
  }
  return false;
}

bool FightBreaker::IsOpen(TimePoint now) {
  if (!tripped_at_) return false;
  if (now - *tripped_at_ >= window_) {
    Reset();  // half-open: try writing again, trip again if the fight goes on
    return false;
  }
  return true;
}

void FightBreaker::Reset() {
  corrections_.clear();
  tripped_at_.reset();
  tripped_field_.clear();
}

int FightBreaker::Corrections(const std::string& field, TimePoint now) {
  Prune(now);
  auto it = corrections_.find(field);
  return it == corrections_.end() ? 0 : static_cast<int>(it->second.size());
}

}  // namespace dbconnd::controller
