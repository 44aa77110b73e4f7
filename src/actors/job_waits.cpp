#include "actors/job_waits.hpp"

#include "claud/protocol.hpp"
#include "state/job_states.hpp"

namespace claud {

job_waits::wait::wait(caf::response_promise promise, bool many, const pb::JobList& records)
    : promise(std::move(promise)), many(many) {
  set_records(records);
  for (int i = 0; i < records.jobs_size(); ++i)
    if (!state::is_terminal(records.jobs(i).state()))
      awaited.push_back(i);
  unended = awaited.size();
}

void job_waits::wait::set_records(const pb::JobList& list) {
  ids.clear();
  records.clear();
  for (const auto& job : list.jobs()) {
    ids.push_back(job.id());
    records.push_back(job.SerializeAsString());
  }
}

uint64_t job_waits::park(wait w) {
  const auto serial = ++next_serial_;
  for (int position : w.awaited)
    by_job_.emplace(w.ids[position], std::make_pair(serial, position));
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
    w->second.records[position] = job.SerializeAsString();
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
  for (const auto& id : w->second.ids) {
    auto [first, last] = by_job_.equal_range(id);
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
  pb::JobList list;
  for (const auto& bytes : w.records)
    list.add_jobs()->ParseFromString(bytes); // serialized by set_records or job_changed
  if (w.many)
    w.promise.deliver(std::move(list));
  else
    w.promise.deliver(std::move(*list.mutable_jobs(0)));
}

} // namespace claud
