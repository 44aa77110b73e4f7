#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "log.pb.h"
#include "raft.pb.h"

namespace claud::storage::test {

/// A log entry whose content names its index and term, so a mix-up shows in a comparison.
inline pb::LogEntry entry(uint64_t index, uint64_t term) {
  pb::LogEntry e;
  e.set_index(index);
  e.set_term(term);
  e.set_time_ms(static_cast<int64_t>(1000 * index));
  e.mutable_job_placed()->set_job_id("job-" + std::to_string(index));
  e.mutable_job_placed()->set_node_id("node-term-" + std::to_string(term));
  return e;
}

/// Entries first..last, all in `term`.
inline std::vector<pb::LogEntry> entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<pb::LogEntry> out;
  for (uint64_t i = first; i <= last; ++i)
    out.push_back(entry(i, term));
  return out;
}

inline pb::HardState hard_state(uint64_t term, const std::string& vote, uint64_t commit) {
  pb::HardState s;
  s.set_term(term);
  s.set_vote(vote);
  s.set_commit(commit);
  return s;
}

/// A snapshot whose data names its index and term.
inline pb::Snapshot snapshot(uint64_t index, uint64_t term) {
  pb::Snapshot s;
  s.set_index(index);
  s.set_term(term);
  s.set_data("state-" + std::to_string(index) + "-" + std::to_string(term));
  return s;
}

inline bool same(const pb::Snapshot& a, const pb::Snapshot& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

/// "index/term" of each entry, which Catch prints readably when a comparison fails.
inline std::vector<std::string> summary(const std::vector<pb::LogEntry>& log) {
  std::vector<std::string> out;
  for (const auto& e : log)
    out.push_back(std::to_string(e.index()) + "/" + std::to_string(e.term()) + "/"
                  + e.job_placed().job_id());
  return out;
}

inline bool same(const pb::HardState& a, const pb::HardState& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

} // namespace claud::storage::test
