#include "cli/commands.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "claud/client.hpp"
#include "cli/env_file.hpp"
#include "cli/event_views.hpp"
#include "cli/job_file.hpp"
#include "cli/progress.hpp"
#include "cli/views.hpp"
#include "state/dependencies.hpp"
#include "state/job_states.hpp"
#include "state/spec_validation.hpp"
#include "state/units.hpp"

namespace claud::cli {

namespace {

/// The flag's value, else the environment variable's, else "".
std::string flag_or_env(const std::string& flag, const char* variable) {
  if (!flag.empty())
    return flag;
  const char* env = std::getenv(variable);
  return env != nullptr ? env : "";
}

pb::RestartPolicy parse_restart_policy(const std::string& text) {
  if (text == "never")
    return pb::RESTART_NEVER;
  if (text == "on-failure")
    return pb::RESTART_ON_FAILURE;
  if (text == "always")
    return pb::RESTART_ALWAYS;
  throw std::invalid_argument(
      fmt::format("--restart '{}' is not a policy; use never, on-failure or always", text));
}

/// The exit status of `submit --wait`: the job's exit code, 128 + the signal that ended it, or 125
/// when it never ran to an exit (lost, failed to start, cancelled).
int wait_exit_status(const pb::Job& job) {
  if (job.has_exit_code())
    return job.exit_code();
  if (job.term_signal() != 0)
    return 128 + job.term_signal();
  return 125;
}

/// How often `logs --follow` asks for more output of a running job.
constexpr std::chrono::milliseconds follow_poll{200};

read_mode mode_of(const common_options& common) {
  return common.local ? read_mode::local : read_mode::linearizable;
}

/// After a --local read: one line on stderr saying how far behind the answer may be.
void note_staleness(const common_options& common, client& cluster) {
  if (!common.local)
    return;
  auto info = cluster.leader(read_mode::local);
  std::cerr << fmt::format("claud: answered by {} from its own state at index {} (it knows of "
                           "commits up to {}; leader: {}, term {})\n",
                           info.served_by(), info.applied_index(), info.commit_index(),
                           info.leader().address().empty() ? "none known" : info.leader().address(),
                           info.term());
}

void print_job(const common_options& common, const pb::Job& job) {
  if (common.json)
    std::cout << to_json(to_view(job)) << "\n";
  else
    print_job_details(std::cout, job);
}

/// Jobs or nodes as one JSON array of their views (`--json`).
template<class Record>
void print_json_array(const std::vector<Record>& records) {
  std::vector<decltype(to_view(records.front()))> views;
  views.reserve(records.size());
  for (const auto& record : records)
    views.push_back(to_view(record));
  std::vector<const google::protobuf::Message*> messages;
  for (const auto& v : views)
    messages.push_back(&v);
  std::cout << to_json_array(messages) << "\n";
}

} // namespace

client_options connection(const common_options& common) {
  std::string addresses = flag_or_env(common.cluster, "CLAUD_ADDR");
  if (addresses.empty())
    addresses = default_cluster_address;
  client_options options;
  options.tls_ca = flag_or_env(common.tls_ca, "CLAUD_TLS_CA");
  options.tls_cert = flag_or_env(common.tls_cert, "CLAUD_TLS_CERT");
  options.tls_key = flag_or_env(common.tls_key, "CLAUD_TLS_KEY");
  size_t start = 0;
  for (;;) {
    auto comma = addresses.find(',', start);
    options.addresses.push_back(addresses.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return options;
}

client_options quick_connection(const common_options& common) {
  auto options = connection(common);
  options.request_timeout = std::chrono::milliseconds{1000};
  options.attempt_timeout = std::chrono::milliseconds{500};
  return options;
}

int submit_command(const common_options& common, const submit_options& options) {
  pb::JobSpec spec;
  spec.set_name(options.name);
  for (const auto& arg : options.command)
    spec.add_argv(arg);
  spec.set_cpu_millis(state::parse_cpu_millis(options.cpus, "--cpus"));
  spec.set_memory_bytes(state::parse_memory_bytes(options.memory, "--memory"));
  spec.set_restart(parse_restart_policy(options.restart));
  spec.set_max_attempts(options.max_attempts);
  spec.set_fail_on_node_lost(options.on_node_lost == "fail");
  spec.set_backoff_base_ms(options.backoff_ms);
  for (const auto& text : options.constraints)
    if (auto problem = state::parse_constraint(text, *spec.add_constraints()); !problem.empty())
      throw std::invalid_argument(problem);
  spec.set_strategy(options.strategy == "spread" ? pb::STRATEGY_SPREAD : pb::STRATEGY_BINPACK);
  if (!options.user.empty())
    if (auto problem = state::user_name_problem(options.user, "--user"); !problem.empty())
      throw std::invalid_argument(problem);
  spec.set_user(options.user);
  if (auto problem = state::idempotency_key_problem(options.idempotency_key); !problem.empty())
    throw std::invalid_argument("--idempotency-key: " + problem);
  spec.set_idempotency_key(options.idempotency_key);
  if (!options.env_file.empty())
    for (auto& var : read_env_file(options.env_file))
      *spec.add_env() = std::move(var);
  for (const auto& text : options.env)
    if (auto problem = state::parse_env(text, *spec.add_env()); !problem.empty())
      throw std::invalid_argument(problem);
  spec.set_workdir(options.workdir);
  spec.set_stdin_file(options.stdin_file);
  for (const auto& text : options.after)
    if (auto problem = state::parse_dependency(text, *spec.add_after()); !problem.empty())
      throw std::invalid_argument(problem);
  if (!options.timeout.empty())
    spec.set_timeout_ms(state::parse_duration_ms(options.timeout, "--timeout"));
  return submit_spec(common, spec, options.wait);
}

int run_command(const common_options& common, const run_options& options) {
  if (options.example) {
    std::cout << example_job_file();
    return 0;
  }
  if (options.file.empty())
    throw std::invalid_argument("run needs a job file (claud run FILE.json; claud run --example "
                                "prints one)");
  return submit_spec(common, read_job_file(options.file), options.wait);
}

int submit_spec(const common_options& common, const pb::JobSpec& spec, bool wait) {
  client cluster{connection(common)};
  auto job = cluster.submit(spec);
  if (!wait) {
    if (common.json)
      std::cout << to_json(to_view(job)) << "\n";
    else
      std::cout << job.id() << "\n";
    return 0;
  }
  if (!common.json)
    std::cout << job.id() << std::endl;
  {
    progress_bar bar{progress_bar::wanted(common.json), job.id()};
    job = cluster
              .wait_all({job.id()}, [&bar](const wait_progress& progress) { bar.update(progress); })
              .front();
  }
  if (common.json)
    std::cout << to_json(to_view(job)) << "\n";
  else if (job.state() != pb::JOB_SUCCEEDED)
    std::cerr << fmt::format("job {} {}{}\n", job.id(), state::job_state_name(job.state()),
                             job.reason().empty() ? "" : ": " + job.reason());
  return wait_exit_status(job);
}

int wait_command(const common_options& common, const std::vector<std::string>& job_ids) {
  client cluster{connection(common)};
  std::vector<pb::Job> jobs;
  {
    progress_bar bar{progress_bar::wanted(common.json), job_ids.size() == 1 ? job_ids[0] : ""};
    jobs = cluster.wait_all(job_ids,
                            [&bar](const wait_progress& progress) { bar.update(progress); });
  }
  if (common.json)
    print_json_array(jobs);
  int status = 0;
  for (const auto& job : jobs) {
    const bool succeeded = job.state() == pb::JOB_SUCCEEDED;
    if (!common.json)
      std::cout << fmt::format("{} {}{}\n", job.id(), state::job_state_name(job.state()),
                               succeeded || job.reason().empty() ? "" : ": " + job.reason());
    if (!succeeded && status == 0)
      status = wait_exit_status(job);
  }
  return status;
}

int events_command(const common_options& common, const events_options& options) {
  event_request request;
  request.filter.set_jobs(options.jobs);
  for (const auto& id : options.job_ids)
    request.filter.add_job_ids(id);
  request.filter.set_name_prefix(options.name_prefix);
  request.filter.set_nodes(options.nodes);
  request.filter.set_leader(options.leader);
  if (options.from >= 0)
    request.from = static_cast<uint64_t>(options.from);
  client cluster{connection(common)};
  int64_t printed = 0;
  cluster.events(request, [&](const pb::EventBatch& batch) {
    const int64_t room = options.count == 0 ? batch.events_size() : options.count - printed;
    if (room >= batch.events_size()) {
      print_event_batch(std::cout, batch, common.json);
    } else {
      auto first = batch; // --count ends inside this batch
      first.mutable_events()->DeleteSubrange(static_cast<int>(room),
                                             batch.events_size() - static_cast<int>(room));
      print_event_batch(std::cout, first, common.json);
    }
    printed += std::min<int64_t>(room, batch.events_size());
    return options.count == 0 || printed < options.count;
  });
  return 0;
}

int status_command(const common_options& common, const std::string& job_id) {
  client cluster{connection(common)};
  print_job(common, cluster.status(job_id, mode_of(common)));
  note_staleness(common, cluster);
  return 0;
}

int jobs_command(const common_options& common) {
  client cluster{connection(common)};
  auto jobs = cluster.jobs(mode_of(common));
  note_staleness(common, cluster);
  if (!common.json) {
    print_job_table(std::cout, jobs);
    return 0;
  }
  print_json_array(jobs);
  return 0;
}

int nodes_command(const common_options& common) {
  client cluster{connection(common)};
  auto nodes = cluster.nodes(mode_of(common));
  note_staleness(common, cluster);
  if (!common.json) {
    print_node_table(std::cout, nodes);
    return 0;
  }
  print_json_array(nodes);
  return 0;
}

int logs_command(const common_options& common, const logs_options& options) {
  client cluster{connection(common)};
  pb::LogRequest request;
  request.set_job_id(options.job_id);
  request.set_stderr(options.stderr_stream);
  // A pending job has no output yet: follow waits for its placement (or its end, if cancelled).
  if (options.follow)
    for (auto job = cluster.status(options.job_id);
         job.attempts() == 0 && !state::is_terminal(job.state());
         job = cluster.status(options.job_id))
      std::this_thread::sleep_for(follow_poll);
  // Chunk by chunk until the end of what the file holds now, or with --follow until the process
  // has ended; one attempt throughout (the first answer names the latest).
  for (;;) {
    auto chunk = cluster.logs(request);
    std::cout.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    request.set_attempt(chunk.attempt());
    request.set_offset(chunk.next_offset());
    if (!chunk.data().empty())
      continue;
    if (!options.follow || chunk.finished())
      break;
    std::cout.flush();
    std::this_thread::sleep_for(follow_poll);
  }
  std::cout.flush();
  return 0;
}

int kill_command(const common_options& common, const std::string& job_id) {
  client cluster{connection(common)};
  print_job(common, cluster.kill(job_id));
  return 0;
}

int drain_command(const common_options& common, const drain_options& options) {
  if (options.undo && options.migrate)
    throw std::invalid_argument("--undo and --migrate contradict each other; give one");
  client cluster{connection(common)};
  auto node = cluster.drain(options.node_id, !options.undo, options.migrate);
  if (common.json)
    std::cout << to_json(to_view(node)) << "\n";
  else
    print_node_table(std::cout, {node});
  return 0;
}

int masters_command(const common_options& common, const masters_options& options) {
  pb::MembershipChange change;
  change.set_kind(options.action == "add" ? pb::MembershipChange::ADD_LEARNER
                                          : pb::MembershipChange::REMOVE);
  change.set_address(options.master);
  client cluster{connection(common)};
  auto info = cluster.change_masters(change);
  if (common.json)
    std::cout << to_json(to_view(info)) << "\n";
  else
    print_leader(std::cout, info);
  return 0;
}

int leader_command(const common_options& common) {
  client cluster{connection(common)};
  auto info = cluster.leader(mode_of(common));
  if (common.json)
    std::cout << to_json(to_view(info)) << "\n";
  else
    print_leader(std::cout, info);
  return 0;
}

} // namespace claud::cli
