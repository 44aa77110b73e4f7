#pragma once
// job_waits: the waits the api holds open until jobs end. A wait names one job or several, and is
// answered with their records once every one has ended, or when it expires (then the api answers
// with their records as they are, and the client asks again). Bookkeeping only, no messages: the
// api delivers the answers.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/response_promise.hpp>

#include "wire.pb.h"

namespace claud {

class job_waits {
public:
  struct wait {
    caf::response_promise promise;
    bool many = false;   // answered with a pb::JobList, else with its one pb::Job
    pb::JobList records; // in the order asked; an ended job's record is its final one
    size_t unended = 0;  // set by park()
  };

  /// True when every job in `records` has ended: a wait for them is answered at once.
  static bool all_ended(const pb::JobList& records);

  /// Holds `w` until its jobs have ended; returns the serial that take() accepts.
  uint64_t park(wait w);

  /// Records a job's new state; returns the waits its end completed, no longer held.
  std::vector<wait> job_changed(const pb::Job& job);

  /// The wait `serial`, no longer held; nullopt if it was answered already.
  std::optional<wait> take(uint64_t serial);

  /// Every wait, none held any more.
  std::vector<wait> take_all();

  size_t size() const {
    return waits_.size();
  }

private:
  std::map<uint64_t, wait> waits_;                              // by serial
  std::multimap<std::string, std::pair<uint64_t, int>> by_job_; // (serial, position in records)
  uint64_t next_serial_ = 0;
};

/// Delivers the answer to `w`: its records, or its one record.
void answer(job_waits::wait& w);

} // namespace claud
