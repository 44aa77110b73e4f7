#include "actors/job_waits.hpp"

#include "claud/protocol.hpp"
#include "state/job_states.hpp"

namespace claud {

bool job_waits::all_ended(const pb::JobList& records) {
  for (const auto& job : records.jobs())
    if (!state::is_terminal(job.state()))
      return false;
  return true;
}

uint64_t job_waits::park(wait w) {
  const auto serial = ++next_serial_;
  w.unended = 0;
  for (int i = 0; i < w.records.jobs_size(); ++i) {
    const auto& job = w.records.jobs(i);
    if (state::is_terminal(job.state()))
      continue;
    by_job_.emplace(job.id(), std::make_pair(serial, i));
    ++w.unended;
  }
  waits_.emplace(serial, std::move(w));
  return serial;
}

std::vector<job_waits::wait> job_waits::job_changed(const pb::Job& job) {
  std::vector<wait> done;
  if (!state::is_terminal(job.state()))
    return done;
  auto [first, last] = by_job_.equal_range(job.id());
  for (auto i = first; i != last; ++i) {
    const auto [serial, position] = i->second;
    auto w = waits_.find(serial);
    *w->second.records.mutable_jobs(position) = job;
    if (--w->second.unended == 0) {
      done.push_back(std::move(w->second));
      waits_.erase(w);
    }
  }
  by_job_.erase(first, last);
  return done;
}

std::optional<job_waits::wait> job_waits::take(uint64_t serial) {
  auto w = waits_.find(serial);
  if (w == waits_.end())
    return std::nullopt;
  for (const auto& job : w->second.records.jobs()) {
    auto [first, last] = by_job_.equal_range(job.id());
    for (auto i = first; i != last;)
      i = i->second.first == serial ? by_job_.erase(i) : std::next(i);
  }
  auto out = std::move(w->second);
  waits_.erase(w);
  return out;
}

std::vector<job_waits::wait> job_waits::take_all() {
  std::vector<wait> all;
  for (auto& [serial, w] : waits_)
    all.push_back(std::move(w));
  waits_.clear();
  by_job_.clear();
  return all;
}

void answer(job_waits::wait& w) {
  if (w.many)
    w.promise.deliver(std::move(w.records));
  else
    w.promise.deliver(std::move(*w.records.mutable_jobs(0)));
}

} // namespace claud
