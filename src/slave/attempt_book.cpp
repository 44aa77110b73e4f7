#include "slave/attempt_book.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace claud::slave {

namespace {

std::string memory_text(int64_t bytes) {
  constexpr int64_t mib = 1024 * 1024;
  return bytes % mib == 0 ? fmt::format("{} MiB", bytes / mib) : fmt::format("{} bytes", bytes);
}

} // namespace

attempt_book::record* attempt_book::latest(const attempt_key& attempt) {
  return const_cast<record*>(static_cast<const attempt_book*>(this)->latest(attempt));
}

const attempt_book::record* attempt_book::latest(const attempt_key& attempt) const {
  auto i = jobs_.find(attempt.job_id);
  return i != jobs_.end() && i->second.report.attempt() == attempt.attempt ? &i->second : nullptr;
}

attempt_book::start_plan attempt_book::plan_start(const pb::Job& job, bool started_before) {
  start_plan plan;
  if (auto known = jobs_.find(job.id()); known != jobs_.end()) {
    auto& current = known->second;
    if (current.report.attempt() == job.attempts() && !current.report.running()
        && !current.end_waits_for_output) {
      // The leader asks for an attempt that already ended here: its log lost the end though this
      // slave's report of it was acknowledged. Telling the end again ends the job as it really
      // did, instead of leaving it `placed` for ever.
      current.acknowledged = false;
      queued_.insert(job.id());
      plan.action = start_action::report_again;
      return plan;
    }
    if (current.report.attempt() >= job.attempts())
      return plan; // a repeated start changes nothing
    if (current.pid != 0) {
      plan.stop_older = attempt_key{job.id(), current.report.attempt()};
      job_by_pid_.erase(current.pid);
      superseded_.emplace(current.pid, std::move(current));
    }
  }
  record fresh;
  fresh.report.set_job_id(job.id());
  fresh.report.set_attempt(job.attempts());
  fresh.memory_bytes = job.spec().memory_bytes();
  jobs_[job.id()] = std::move(fresh);
  plan.action = started_before ? start_action::refuse : start_action::spawn;
  return plan;
}

uint64_t attempt_book::open_stream(const attempt_key& attempt) {
  auto* r = latest(attempt);
  if (!r)
    throw std::logic_error("attempt_book: a stream of an attempt that is not being started");
  ++r->streams_open;
  auto token = next_stream_token_++;
  streams_[token] = attempt;
  return token;
}

void attempt_book::spawned(const attempt_key& attempt, int64_t pid, int64_t now_ms) {
  auto* r = latest(attempt);
  if (!r)
    throw std::logic_error("attempt_book: spawned an attempt that is not being started");
  r->pid = pid;
  job_by_pid_[pid] = attempt.job_id;
  r->report.set_running(true);
  r->report.set_started_at_ms(now_ms);
}

void attempt_book::spawn_failed(const attempt_key& attempt, std::string reason, int64_t now_ms) {
  auto* r = latest(attempt);
  if (!r)
    throw std::logic_error("attempt_book: failed an attempt that is not being started");
  r->report.set_running(false);
  r->report.set_reason(std::move(reason));
  r->report.set_finished_at_ms(now_ms);
  queued_.insert(attempt.job_id);
}

void attempt_book::started_delay_over(const attempt_key& attempt) {
  if (auto* r = latest(attempt); r && r->report.running() && !r->acknowledged)
    queued_.insert(attempt.job_id);
}

bool attempt_book::timeout_over(const attempt_key& attempt, std::string reason) {
  auto* r = latest(attempt);
  if (!r || r->pid == 0)
    return false;
  r->stop_reason = std::move(reason);
  return true;
}

attempt_book::exit_outcome attempt_book::exited(int64_t pid, bool exited, int code, int signal,
                                                bool over_memory, int64_t now_ms) {
  exit_outcome out;
  if (auto older = superseded_.find(pid); older != superseded_.end()) {
    out.known = out.superseded = true;
    out.attempt = {older->second.report.job_id(), older->second.report.attempt()};
    superseded_.erase(older);
    return out;
  }
  auto running = job_by_pid_.find(pid);
  if (running == job_by_pid_.end())
    return out;
  auto* r = &jobs_.at(running->second); // a running attempt not superseded is the latest
  job_by_pid_.erase(running);
  out.known = true;
  out.attempt = {r->report.job_id(), r->report.attempt()};
  r->pid = 0;
  r->acknowledged = false;
  auto& report = r->report;
  report.set_running(false);
  report.set_has_exit_code(exited);
  report.set_exit_code(exited ? code : 0);
  report.set_term_signal(exited ? 0 : signal);
  report.set_finished_at_ms(now_ms);
  if (over_memory)
    report.set_reason(fmt::format("over its memory limit of {}; ask for more with --memory",
                                  memory_text(r->memory_bytes)));
  else if (!r->stop_reason.empty())
    report.set_reason(r->stop_reason);
  // Ended means its output can be read whole: the report waits for the streams to close.
  if (r->streams_open > 0) {
    r->end_waits_for_output = out.waits_for_output = true;
    return out;
  }
  queued_.insert(out.attempt.job_id);
  return out;
}

void attempt_book::end_report_due(const attempt_key& attempt) {
  auto* r = latest(attempt);
  if (!r || !r->end_waits_for_output)
    return;
  r->end_waits_for_output = false;
  queued_.insert(attempt.job_id);
}

std::optional<attempt_key> attempt_book::stream_closed(uint64_t token) {
  auto i = streams_.find(token);
  if (i == streams_.end())
    return std::nullopt;
  auto owner = std::move(i->second);
  streams_.erase(i);
  auto* r = latest(owner);
  if (r && --r->streams_open == 0)
    end_report_due(owner);
  return owner;
}

void attempt_book::output_wait_over(const attempt_key& attempt) {
  end_report_due(attempt);
}

pb::SlaveReport attempt_book::take_reports() {
  pb::SlaveReport batch;
  for (const auto& job_id : queued_)
    if (auto i = jobs_.find(job_id); i != jobs_.end())
      *batch.add_jobs() = i->second.report;
  queued_.clear();
  return batch;
}

std::vector<attempt_key> attempt_book::acknowledge(const pb::SlaveReport& batch) {
  std::vector<attempt_key> settled;
  for (const auto& report : batch.jobs()) {
    auto* r = latest({report.job_id(), report.attempt()});
    // Only the report that was sent is acknowledged; a newer one is still to be sent.
    if (r && r->report.running() == report.running())
      r->acknowledged = true;
    settled.push_back({report.job_id(), report.attempt()});
  }
  return settled;
}

pb::SlaveReport attempt_book::full_report() const {
  pb::SlaveReport report;
  for (const auto& [id, r] : jobs_)
    if (r.report.running() || !r.acknowledged)
      *report.add_jobs() = r.report;
  for (const auto& [pid, older] : superseded_)
    *report.add_jobs() = older.report;
  return report;
}

void attempt_book::resend_unacknowledged() {
  for (const auto& [id, r] : jobs_)
    if (!r.acknowledged)
      queued_.insert(id);
}

int64_t attempt_book::pid_of(const attempt_key& attempt) const {
  if (const auto* r = latest(attempt); r && r->pid != 0)
    return r->pid;
  for (const auto& [pid, older] : superseded_)
    if (older.report.job_id() == attempt.job_id && older.report.attempt() == attempt.attempt)
      return pid;
  return 0;
}

std::vector<int64_t> attempt_book::pids() const {
  std::vector<int64_t> out;
  for (const auto& [pid, job_id] : job_by_pid_)
    out.push_back(pid);
  for (const auto& [pid, older] : superseded_)
    out.push_back(pid);
  return out;
}

attempt_book::attempt_status attempt_book::status(const attempt_key& attempt) const {
  attempt_status out;
  if (const auto* r = latest(attempt)) {
    out.latest = true;
    out.ongoing = r->pid != 0 || r->streams_open > 0;
  }
  return out;
}

bool attempt_book::keeps_output(const attempt_key& attempt) const {
  const auto* r = latest(attempt);
  return r && (r->pid != 0 || r->streams_open > 0 || !r->acknowledged);
}

void attempt_book::forget_ended_before(int64_t ms) {
  for (auto i = jobs_.begin(); i != jobs_.end();) {
    const auto& r = i->second;
    bool done
        = r.pid == 0 && r.streams_open == 0 && r.acknowledged && r.report.finished_at_ms() < ms;
    i = done ? jobs_.erase(i) : std::next(i);
  }
}

} // namespace claud::slave
