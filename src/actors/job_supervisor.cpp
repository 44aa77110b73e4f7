#include "actors/job_supervisor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "actors/wall_clock.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "proc/job_cgroups.hpp"
#include "proc/output_pump.hpp"
#include "proc/output_retention.hpp"
#include "proc/reaper.hpp"
#include "proc/spawn.hpp"
#include "slave/attempt_book.hpp"
#include "state/units.hpp"
#include "storage/disk_space.hpp"
#include "storage/started_attempts.hpp"

namespace claud {

namespace {

struct job_supervisor_state {
  job_supervisor_config config;
  caf::actor link;
  slave::attempt_book book; // every decision about the attempts
  // The cgroup of each running process (latest or superseded), released when it exits.
  std::map<pid_t, proc::job_cgroup> cgroups;
  bool reports_scheduled = false;
  std::string disk_note; // why the data dir is nearly full or unwritable, "" if neither
  std::unique_ptr<proc::reaper> reaper;
  std::unique_ptr<proc::output_pump> pump;
  static inline const char* name = "job_supervisor";

  job_supervisor_state() = default;
  job_supervisor_state(const job_supervisor_state&) = delete;
  job_supervisor_state& operator=(const job_supervisor_state&) = delete;
  // A stopping slave takes its jobs with it; the leader reschedules or reports them. Here, not in
  // an attached functor: CAF destroys an actor's state before it runs those.
  ~job_supervisor_state() {
    for (auto pid : book.pids())
      proc::signal_process_group(static_cast<pid_t>(pid), SIGKILL);
  }
};

using self_pointer = caf::stateful_actor<job_supervisor_state>*;

/// DATA/jobs/<job>.<attempt>.stdout (or .stderr), made by the pump when the first byte arrives.
/// One flat directory: making directories was the costliest part of starting a short job (ext4
/// spreads new directories over the disk's block groups). Job ids are decimal, so no path tricks
/// get through.
std::string output_path(const job_supervisor_config& config, const std::string& job_id,
                        uint32_t attempt, const char* stream) {
  return fmt::format("{}/{}.{}.{}", config.jobs_dir, job_id, attempt, stream);
}

/// Sends the reports queued since the last batch as one message: the jobs of a slave start and end
/// in bursts, and one message and one acknowledgement per burst cost less than one per job.
void send_reports(self_pointer self) {
  auto& st = self->state;
  st.reports_scheduled = false;
  if (!st.link)
    return; // they stay queued: the link registers with the full report
  auto batch = st.book.take_reports();
  if (batch.jobs_size() == 0)
    return;
  self->request(st.link, st.config.report_timeout, report_atom::value, batch)
      .then(
          [=]() {
            // The leader now knows these attempts and never asks for their start again.
            for (const auto& attempt : self->state.book.acknowledge(batch))
              self->state.config.started->forget(attempt.job_id, attempt.attempt);
          },
          [=](caf::error& err) {
            log::debug(
                "supervisor", "reports not acknowledged yet",
                {{"jobs", std::to_string(batch.jobs_size())}, {"error", error_message(err)}});
          });
}

/// After every event: queued reports go in the next batch, sent once the mailbox holds no more
/// messages.
void schedule_reports(self_pointer self) {
  auto& st = self->state;
  if (st.book.reports_queued() && !st.reports_scheduled) {
    st.reports_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

void pump_output(self_pointer self, unique_fd read_end, const slave::attempt_key& attempt,
                 const char* stream) {
  auto& st = self->state;
  auto token = st.book.open_stream(attempt);
  st.pump->add(std::move(read_end), output_path(st.config, attempt.job_id, attempt.attempt, stream),
               token);
}

/// SIGTERM to the attempt's group, and SIGKILL after kill_grace if it still runs.
void stop_attempt(self_pointer self, const std::string& job_id, uint32_t attempt) {
  if (auto pid = self->state.book.pid_of({job_id, attempt}); pid != 0) {
    proc::signal_process_group(static_cast<pid_t>(pid), SIGTERM);
    self->delayed_send(self, self->state.config.kill_grace, escalate_atom::value, job_id, attempt);
  }
}

void escalate(self_pointer self, const std::string& job_id, uint32_t attempt) {
  if (auto pid = self->state.book.pid_of({job_id, attempt}); pid != 0)
    proc::signal_process_group(static_cast<pid_t>(pid), SIGKILL);
}

/// Who `job` runs as here: the user it asks for, else --run-as's (null: the slave's own user).
/// Throws spawn_error when this slave does not let jobs run as the user asked for (it was placed
/// by a leader that knew this slave with other --allow-users).
const proc::job_identity* identity_of(const job_supervisor_config& config, const pb::Job& job) {
  const auto& user = job.spec().user();
  const auto* own = config.run_as ? &*config.run_as : nullptr;
  if (user.empty() || (own != nullptr ? user == own->user : user == proc::current_user_name()))
    return own;
  if (auto allowed = config.allowed_users.find(user); allowed != config.allowed_users.end())
    return &allowed->second;
  throw proc::spawn_error(fmt::format(
      "cannot start job: slave {} does not let jobs run as {}; start it with --allow-users {}",
      config.node_id, user, user));
}

/// Spawns the attempt the book has begun; returns its pid, or throws spawn_error (or the
/// runtime_error of a cgroup or journal that cannot be written).
pid_t spawn(self_pointer self, const pb::Job& job, const slave::attempt_key& attempt) {
  auto& st = self->state;
  proc::spawn_request request;
  request.identity = identity_of(st.config, job);
  request.argv.assign(job.spec().argv().begin(), job.spec().argv().end());
  request.working_dir = job.spec().workdir();
  request.stdin_path = job.spec().stdin_file();
  for (const auto& var : job.spec().env())
    request.environment.push_back(var.name() + "=" + var.value());
  // The pump watches both pipes before the spawn: if the spawn fails, closing the write ends
  // ends the streams like a job that wrote nothing.
  auto out = proc::make_output_pipe();
  auto err = proc::make_output_pipe();
  request.stdout_fd = out.write_end.get();
  request.stderr_fd = err.write_end.get();
  pump_output(self, std::move(out.read_end), attempt, "stdout");
  pump_output(self, std::move(err.read_end), attempt, "stderr");
  auto cgroup = st.config.cgroups->acquire(job.spec().cpu_millis(), job.spec().memory_bytes());
  for (const auto& fd : cgroup.procs_files)
    request.join_cgroups.push_back(fd.get());
  pid_t pid = 0;
  try {
    st.config.started->record(job.id(), job.attempts()); // last step before the spawn
    pid = proc::spawn_process(request);
  } catch (const std::runtime_error&) {
    st.config.cgroups->release(cgroup);
    throw;
  }
  cgroup.procs_files.clear(); // joined
  st.cgroups[pid] = std::move(cgroup);
  return pid;
}

void start_job(self_pointer self, const pb::Job& job) {
  auto& st = self->state;
  const slave::attempt_key attempt{job.id(), job.attempts()};
  auto plan = st.book.plan_start(job, st.config.started->contains(job.id(), job.attempts()));
  if (plan.stop_older) {
    // The committed state gave the older attempt up (lost with this slave while it was frozen or
    // cut off): it must not run beside the newer one.
    log::warn("supervisor", "stopping an older attempt: the leader started a newer one",
              {{"job", job.id()}, {"attempt", std::to_string(plan.stop_older->attempt)}});
    stop_attempt(self, plan.stop_older->job_id, plan.stop_older->attempt);
  }
  switch (plan.action) {
  case slave::attempt_book::start_action::nothing:
  case slave::attempt_book::start_action::report_again:
    return;
  case slave::attempt_book::start_action::refuse:
    // An earlier run of this slave started this very attempt and stopped (a SIGKILL, a crash)
    // before the start was reported. The process may still run or have done its work: starting
    // it again would run the job twice. It fails, saying so; its policy decides.
    st.book.spawn_failed(
        attempt,
        fmt::format("an earlier run of slave {} started this attempt and stopped before "
                    "reporting it; not starting it twice (what it wrote, if anything, is in {})",
                    st.config.node_id, output_path(st.config, job.id(), job.attempts(), "stdout")),
        now_ms());
    return;
  case slave::attempt_book::start_action::spawn:
    break;
  }
  try {
    auto pid = spawn(self, job, attempt);
    st.book.spawned(attempt, pid, now_ms());
    st.reaper->watch(pid);
    log::info("supervisor", "job started",
              {{"job", job.id()},
               {"attempt", std::to_string(job.attempts())},
               {"pid", std::to_string(pid)}});
    self->delayed_send(self, st.config.started_report_delay, started_atom::value, job.id(),
                       job.attempts());
    if (job.spec().timeout_ms() > 0)
      self->delayed_send(self, std::chrono::milliseconds{job.spec().timeout_ms()},
                         deadline_atom::value, job.id(), job.attempts(), job.spec().timeout_ms());
  } catch (const std::runtime_error& e) { // spawn_error, or a cgroup that cannot be made
    st.book.spawn_failed(attempt, e.what(), now_ms());
    log::info("supervisor", "job failed to start", {{"job", job.id()}, {"error", e.what()}});
  }
}

void on_exit(self_pointer self, pid_t pid, bool exited, int code, int signal) {
  auto& st = self->state;
  bool over_memory = false;
  if (auto cgroup = st.cgroups.find(pid); cgroup != st.cgroups.end()) {
    over_memory = st.config.cgroups->memory_exceeded(cgroup->second);
    st.config.cgroups->release(cgroup->second);
    st.cgroups.erase(cgroup);
  }
  auto outcome = st.book.exited(pid, exited, code, signal, over_memory, now_ms());
  if (!outcome.known)
    return;
  const auto& [job_id, attempt] = outcome.attempt;
  if (outcome.superseded) {
    log::info("supervisor", "older attempt exited",
              {{"job", job_id}, {"attempt", std::to_string(attempt)}});
    return;
  }
  log::info("supervisor", "job exited",
            {{"job", job_id}, {"code", std::to_string(code)}, {"signal", std::to_string(signal)}});
  // The report waits for the pump to store what is still in the pipes, but not for long.
  if (outcome.waits_for_output)
    self->delayed_send(self, st.config.output_wait, finish_atom::value, job_id, attempt);
}

caf::result<pb::LogChunk> read_log(self_pointer self, const pb::LogRequest& request) {
  auto& st = self->state;
  if (request.job_id().find_first_not_of("0123456789") != std::string::npos
      || request.job_id().empty())
    return make_error(errc::invalid_request, "job ids are numbers");
  auto path = output_path(st.config, request.job_id(), request.attempt(),
                          request.stderr() ? "stderr" : "stdout");
  // Still running, or what it wrote is still on its way to the file.
  const auto [this_attempt, ongoing] = st.book.status({request.job_id(), request.attempt()});
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && this_attempt) {
    pb::LogChunk chunk; // nothing written yet: the file is made with the first byte
    chunk.set_next_offset(request.offset());
    chunk.set_attempt(request.attempt());
    chunk.set_finished(!ongoing);
    return chunk;
  }
  if (fd < 0)
    return make_error(errc::not_found,
                      fmt::format("no output of job {} attempt {} on node {} ({}; an attempt "
                                  "that wrote nothing has no file)",
                                  request.job_id(), request.attempt(), st.config.node_id,
                                  std::strerror(errno)));
  auto want = std::min<uint32_t>(request.max_bytes() == 0 ? st.config.max_log_chunk_bytes
                                                          : request.max_bytes(),
                                 st.config.max_log_chunk_bytes);
  std::string data(want, '\0');
  auto got = ::pread(fd, data.data(), want, static_cast<off_t>(request.offset()));
  int saved_errno = errno;
  ::close(fd);
  if (got < 0)
    return make_error(errc::unavailable,
                      fmt::format("cannot read {} ({})", path, std::strerror(saved_errno)));
  data.resize(static_cast<size_t>(got));
  pb::LogChunk chunk;
  chunk.set_next_offset(request.offset() + static_cast<uint64_t>(got));
  chunk.set_attempt(request.attempt());
  chunk.set_finished(!ongoing && static_cast<uint32_t>(got) < want);
  chunk.set_data(std::move(data));
  return chunk;
}

/// Deletes the output of attempts that ended (or are unknown here) more than log_retention ago,
/// both streams together, and forgets the records of attempts that ended as long ago and whose
/// end the leader has committed, so a long-lived slave does not fill its disk or memory.
void sweep_old_output(self_pointer self) {
  auto& st = self->state;
  auto period = std::clamp(st.config.log_retention / 10, std::chrono::milliseconds{1000},
                           std::chrono::milliseconds{600000});
  self->delayed_send(self, period, expire_atom::value);
  const auto cutoff = std::filesystem::file_time_type::clock::now() - st.config.log_retention;
  proc::delete_old_output(st.config.jobs_dir, cutoff,
                          [&](const std::string& job_id, uint32_t attempt) {
                            return st.book.keeps_output({job_id, attempt});
                          });
  st.book.forget_ended_before(now_ms() - st.config.log_retention.count());
}

/// Tells the link when the data dir stops taking writes or its free space falls below the
/// minimum, and when it is well again; it registers again with the note, so `claud nodes` shows
/// it.
void check_disk(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.config.disk_check_period, disk_atom::value);
  auto note = storage::check_data_dir(st.config.jobs_dir, st.config.min_free_disk_bytes).problem;
  if (note == st.disk_note)
    return;
  if (!note.empty())
    log::warn("supervisor", "low disk", {{"node", st.config.node_id}, {"note", note}});
  st.disk_note = note;
  if (st.link)
    self->send(st.link, disk_atom::value, note);
}

caf::behavior job_supervisor(self_pointer self, job_supervisor_config config) {
  if (!config.cgroups)
    config.cgroups = std::make_shared<proc::job_cgroups>("", proc::job_cgroups::mode::off);
  self->state.config = std::move(config);
  // The reaper's thread must not keep the actor alive: it holds a weak address.
  caf::actor_addr weak_self = self->address();
  self->state.reaper = std::make_unique<proc::reaper>([weak_self](pid_t pid, proc::exit_status s) {
    // Ahead of the starts waiting in the mailbox: a slave handed a batch of jobs spawns them one
    // by one, and the exits of the first ones (their reports, which free their resources) must
    // not wait for the last spawn.
    if (auto strong = caf::actor_cast<caf::actor>(weak_self))
      caf::anon_send<caf::message_priority::high>(strong, exited_atom::value, pid, s.exited, s.code,
                                                  s.signal);
  });
  self->state.pump = std::make_unique<proc::output_pump>(
      [weak_self](uint64_t token, const std::string& error) {
        if (auto strong = caf::actor_cast<caf::actor>(weak_self))
          caf::anon_send(strong, drained_atom::value, token, error);
      },
      self->state.config.max_output_bytes);
  self->send(self, expire_atom::value);
  // Every message that may queue a report ends by scheduling the batch.
  auto& book = self->state.book;
  return {
      [=](flush_atom) { send_reports(self); },
      [=](expire_atom) {
        sweep_old_output(self);
        self->state.config.cgroups->reuse_emptied();
      },
      [=](link_to_atom, caf::actor& link) {
        self->state.link = std::move(link);
        check_disk(self); // the link registers with what it learns here
        schedule_reports(self);
      },
      [=](disk_atom) { check_disk(self); },
      // The whole batch in one go: measured faster (2,000 jobs, interleaved runs) than queueing
      // the starts and spawning one per message to let exits in between.
      [=](start_atom, const pb::StartJob& batch) {
        for (const auto& job : batch.jobs())
          start_job(self, job);
        schedule_reports(self);
      },
      [=](kill_atom, const std::string& job_id, uint32_t attempt) {
        stop_attempt(self, job_id, attempt);
      },
      [=](escalate_atom, const std::string& job_id, uint32_t attempt) {
        escalate(self, job_id, attempt);
      },
      [=, &book](deadline_atom, const std::string& job_id, uint32_t attempt, int64_t timeout_ms) {
        auto reason = fmt::format("ran longer than its --timeout of {}, so it was stopped",
                                  state::format_duration_ms(timeout_ms));
        if (book.timeout_over({job_id, attempt}, std::move(reason))) {
          log::info("supervisor", "job ran past its --timeout",
                    {{"job", job_id}, {"attempt", std::to_string(attempt)}});
          stop_attempt(self, job_id, attempt);
        }
      },
      [=, &book](started_atom, const std::string& job_id, uint32_t attempt) {
        book.started_delay_over({job_id, attempt});
        schedule_reports(self);
      },
      [=](exited_atom, pid_t pid, bool exited, int code, int signal) {
        on_exit(self, pid, exited, code, signal);
        schedule_reports(self);
      },
      [=, &book](drained_atom, uint64_t token, const std::string& error) {
        auto owner = book.stream_closed(token);
        if (owner && !error.empty())
          log::warn("supervisor", "job output not stored",
                    {{"job", owner->job_id}, {"error", error}});
        schedule_reports(self);
      },
      [=, &book](finish_atom, const std::string& job_id, uint32_t attempt) {
        book.output_wait_over({job_id, attempt});
        schedule_reports(self);
      },
      [=](logs_atom, const pb::LogRequest& request) { return read_log(self, request); },
      [=, &book](report_atom) { return book.full_report(); },
      [=, &book](resend_atom) {
        book.resend_unacknowledged();
        schedule_reports(self);
      },
  };
}

} // namespace

caf::actor spawn_job_supervisor(caf::actor_system& system, job_supervisor_config config) {
  return system.spawn(job_supervisor, std::move(config));
}

} // namespace claud
