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
    /// A wait for the jobs of `records`, as they are when asked.
    wait(caf::response_promise promise, bool many, const pb::JobList& records);
    /// Replaces the records held by `records` (the same jobs, as they are now).
    void set_records(const pb::JobList& records);

    caf::response_promise promise;
    bool many = false;            // answered with a pb::JobList, else with its one pb::Job
    std::vector<std::string> ids; // in the order asked
    // Each job's serialized record, in the same order; an ended job's is its final one. Bytes,
    // not parsed records: a wait for thousands of jobs then holds about 250 B a job, not 1.6 KiB.
    std::vector<std::string> records;
    std::vector<int> awaited; // positions of the jobs that had not ended when asked
    size_t unended = 0;       // how many of those have not ended yet: 0 is answered at once
  };

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
