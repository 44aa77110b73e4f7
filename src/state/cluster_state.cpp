// The state's tables, its frozen records and its snapshot form; the transitions that apply
// makes are in cluster_state_ops.cpp.
#include "state/cluster_state.hpp"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "state/job_states.hpp"

namespace claud::state {

namespace {

void put_varint(std::string& out, uint64_t value) {
  for (; value >= 0x80; value >>= 7)
    out += static_cast<char>(value | 0x80);
  out += static_cast<char>(value);
}

void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  put_varint(out, static_cast<uint64_t>(field) << 3 | 2); // wire type 2: length-delimited
  put_varint(out, bytes.size());
  out.append(bytes);
}

/// The bytes of pb::ClusterState with jobs[id] = job alone, without copying the record into one:
/// a map field is encoded as a repeated message of {key = 1, value = 2} (protobuf's encoding).
std::string job_fragment(const std::string& id, const pb::Job& job) {
  std::string entry;
  put_bytes_field(entry, 1, id);
  put_bytes_field(entry, 2, job.SerializeAsString());
  std::string fragment;
  fragment.reserve(entry.size() + 12);
  put_bytes_field(fragment, pb::ClusterState::kJobsFieldNumber, entry);
  return fragment;
}

} // namespace

std::string state_snapshot::bytes() const {
  size_t size = live.size();
  for (const auto& part : parts)
    size += part->size();
  std::string out;
  out.reserve(size);
  out += live;
  for (const auto& part : parts)
    out += *part;
  return out;
}

cluster_state::cluster_state(pb::ClusterState snapshot) : live_(std::move(snapshot)) {
  // A snapshot holds every job and key parsed: the ended jobs and retired keys are frozen again,
  // in the order they ended, as apply froze them.
  auto& keys = *live_.mutable_submission_keys();
  std::vector<std::pair<std::string, pb::SubmissionKey>> retired;
  for (auto it = keys.begin(); it != keys.end();) {
    if (it->second.retired_at_ms() == 0) {
      ++it;
      continue;
    }
    retired.emplace_back(it->first, std::move(it->second));
    it = keys.erase(it);
  }
  std::sort(retired.begin(), retired.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.second.retired_at_ms(), std::cref(a.first))
           < std::make_tuple(b.second.retired_at_ms(), std::cref(b.first));
  });
  for (const auto& [key, k] : retired)
    retire_key(key, k.job_id(), k.retired_at_ms());
  live_jobs_.swap(*live_.mutable_jobs()); // live_ holds the rest: see live_job_bytes_
  std::vector<pb::Job> ended;
  for (auto it = live_jobs_.begin(); it != live_jobs_.end();) {
    if (!is_terminal(it->second.state())) {
      ++it;
      continue;
    }
    ended.push_back(std::move(it->second));
    it = live_jobs_.erase(it);
  }
  std::sort(ended.begin(), ended.end(), [](const pb::Job& a, const pb::Job& b) {
    return std::make_tuple(a.finished_at_ms(), a.id().size(), std::cref(a.id()))
           < std::make_tuple(b.finished_at_ms(), b.id().size(), std::cref(b.id()));
  });
  for (auto& job : ended)
    freeze(std::move(job));
  std::vector<const pb::Job*> waiting; // linked oldest first, as submissions linked them
  for (const auto& [id, job] : live_jobs_) {
    keep_bytes_of(id);
    if (job.waits_for_size() > 0)
      waiting.push_back(&job);
  }
  std::sort(waiting.begin(), waiting.end(),
            [](const pb::Job* a, const pb::Job* b) { return job_id_less(a->id(), b->id()); });
  for (const auto* job : waiting)
    for (const auto& id : job->waits_for())
      dependents_[id].push_back(job->id());
}

pb::ClusterState cluster_state::parse_record(std::string_view bytes) {
  pb::ClusterState record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw std::logic_error("cluster_state: a frozen record does not parse");
  return record;
}

std::optional<pb::Job> cluster_state::find_job(const std::string& id) const {
  if (auto i = live_jobs_.find(id); i != live_jobs_.end())
    return i->second;
  auto bytes = ended_.find(id);
  if (!bytes)
    return std::nullopt;
  auto record = parse_record(*bytes);
  return std::move((*record.mutable_jobs())[id]);
}

const pb::Job* cluster_state::find_live_job(const std::string& id) const {
  auto i = live_jobs_.find(id);
  return i == live_jobs_.end() ? nullptr : &i->second;
}

const pb::Node* cluster_state::find_node(const std::string& id) const {
  auto i = live_.nodes().find(id);
  return i == live_.nodes().end() ? nullptr : &i->second;
}

void cluster_state::for_each_job(const std::function<void(const pb::Job&)>& visit) const {
  for (const auto& [id, job] : live_jobs_)
    visit(job);
  ended_.for_each([&](std::string_view bytes) {
    const auto record = parse_record(bytes);
    for (const auto& [id, job] : record.jobs())
      visit(job);
  });
}

std::optional<pb::SubmissionKey> cluster_state::submission(const std::string& key) const {
  if (key.empty())
    return std::nullopt;
  if (auto live = live_.submission_keys().find(key); live != live_.submission_keys().end())
    return live->second;
  if (auto ended = ended_.id_of_alias(key)) {
    pb::SubmissionKey made;
    made.set_job_id(*ended);
    return made;
  }
  if (auto bytes = retired_keys_.find(key))
    return parse_record(*bytes).submission_keys().at(key);
  return std::nullopt;
}

state_snapshot cluster_state::snapshot() const {
  state_snapshot out;
  out.live = live_.SerializeAsString();
  out.parts.reserve(live_job_bytes_.size());
  for (const auto& [id, bytes] : live_job_bytes_)
    out.parts.push_back(bytes);
  for (auto* frozen : {&ended_, &retired_keys_})
    for (auto& chunk : frozen->chunks())
      out.parts.push_back(std::move(chunk));
  return out;
}

pb::ClusterState cluster_state::pending_view() const {
  pb::ClusterState view;
  *view.mutable_nodes() = live_.nodes();
  for (const auto& [id, job] : live_jobs_)
    if (job.state() == pb::JOB_PENDING)
      (*view.mutable_jobs())[id] = job;
  return view;
}

pb::ClusterState cluster_state::whole() const {
  return parse_record(snapshot().bytes());
}

pb::Job* cluster_state::live_job(const std::string& id) {
  auto i = live_jobs_.find(id);
  return i == live_jobs_.end() ? nullptr : &i->second;
}

void cluster_state::freeze_if_ended(const std::string& id) {
  auto i = live_jobs_.find(id);
  if (i == live_jobs_.end() || !is_terminal(i->second.state()))
    return;
  pb::Job job = std::move(i->second);
  live_jobs_.erase(i);
  freeze(std::move(job));
}

void cluster_state::freeze(pb::Job job) {
  pb::ClusterState record; // the fields this job adds to a snapshot
  const std::string key = job.spec().idempotency_key();
  auto keys = live_.mutable_submission_keys();
  std::string alias; // the key made this job: it finds the job while the job is kept
  if (auto made = keys->find(key);
      !key.empty() && made != keys->end() && made->second.job_id() == job.id()) {
    (*record.mutable_submission_keys())[key] = std::move(made->second);
    keys->erase(made);
    alias = key;
  }
  const std::string id = job.id();
  const int64_t finished_at = job.finished_at_ms();
  (*record.mutable_jobs())[id] = std::move(job);
  ended_.add(id, finished_at, record.SerializeAsString(), alias);
}

void cluster_state::retire_key(const std::string& key, const std::string& job_id,
                               int64_t retired_at_ms) {
  pb::ClusterState record;
  auto& retired = (*record.mutable_submission_keys())[key];
  retired.set_job_id(job_id);
  retired.set_retired_at_ms(retired_at_ms);
  retired_keys_.add(key, retired_at_ms, record.SerializeAsString());
}

apply_result cluster_state::apply(const pb::LogEntry& entry) {
  auto result = apply_op(entry);
  if (!dependents_.empty())
    settle_dependents(result, entry.time_ms());
  for (const auto& id : result.changed_jobs) {
    freeze_if_ended(id);
    keep_bytes_of(id);
  }
  return result;
}

void cluster_state::keep_bytes_of(const std::string& id) {
  auto job = live_jobs_.find(id);
  if (job == live_jobs_.end())
    live_job_bytes_.erase(id); // ended: its bytes are frozen now
  else
    live_job_bytes_[id] = std::make_shared<const std::string>(job_fragment(id, job->second));
}

} // namespace claud::state
