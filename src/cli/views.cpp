#include "cli/views.hpp"

#include <ctime>
#include <map>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "cli/view_parts.hpp"
#include "log/printable.hpp"
#include "state/dependencies.hpp"
#include "state/job_states.hpp"
#include "state/spec_validation.hpp"
#include "state/units.hpp"

namespace claud::cli {

namespace {

const char* restart_policy_name(pb::RestartPolicy policy) {
  switch (policy) {
  case pb::RESTART_ON_FAILURE:
    return "on-failure";
  case pb::RESTART_ALWAYS:
    return "always";
  default:
    return "never";
  }
}

const char* strategy_name(pb::PlacementStrategy strategy) {
  return strategy == pb::STRATEGY_SPREAD ? "spread" : "binpack";
}

} // namespace

std::string format_time_ms(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

pb::view::Job to_view(const pb::Job& job) {
  pb::view::Job v;
  v.set_id(job.id());
  v.set_name(log::printable(job.spec().name()));
  v.set_state(state::job_state_name(job.state()));
  *v.mutable_exit_code() = number_or_null(job.has_exit_code(), job.exit_code());
  *v.mutable_signal() = number_or_null(job.term_signal() != 0, job.term_signal());
  *v.mutable_node() = string_or_null(job.node_id());
  v.set_attempts(job.attempts());
  *v.mutable_submitted_at() = time_or_null(job.submitted_at_ms());
  *v.mutable_started_at() = time_or_null(job.started_at_ms());
  *v.mutable_finished_at() = time_or_null(job.finished_at_ms());
  *v.mutable_reason() = string_or_null(job.reason());
  for (const auto& arg : job.spec().argv())
    v.add_command(log::printable(arg));
  v.set_cpus(static_cast<double>(job.spec().cpu_millis()) / 1000.0);
  v.set_memory_bytes(static_cast<double>(job.spec().memory_bytes()));
  v.set_restart(restart_policy_name(job.spec().restart()));
  v.set_max_attempts(job.spec().max_attempts());
  v.set_idempotency_key(job.spec().idempotency_key());
  v.set_user(job.spec().user());
  for (const auto& constraint : job.spec().constraints())
    v.add_constraints(state::constraint_text(constraint));
  v.set_strategy(strategy_name(job.spec().strategy()));
  for (const auto& var : job.spec().env()) // in order: a name set twice keeps its last value
    (*v.mutable_env())[log::printable(var.name())] = log::printable(var.value());
  v.set_workdir(log::printable(job.spec().workdir()));
  v.set_timeout_ms(static_cast<double>(job.spec().timeout_ms()));
  v.set_on_node_lost(job.spec().fail_on_node_lost() ? "fail" : "reschedule");
  v.set_backoff_ms(static_cast<double>(job.spec().backoff_base_ms()));
  for (const auto& dependency : job.spec().after())
    v.add_after(state::dependency_text(dependency));
  for (const auto& id : job.waits_for())
    v.add_waits_for(id);
  v.set_stdin(log::printable(job.spec().stdin_file()));
  for (const auto& event : job.history()) {
    auto* e = v.add_history();
    e->set_time(format_time_ms(event.time_ms()));
    e->set_attempt(event.attempt());
    e->set_state(state::job_state_name(event.state()));
    *e->mutable_node() = string_or_null(event.node_id());
    *e->mutable_exit_code() = number_or_null(event.has_exit_code(), event.exit_code());
    *e->mutable_signal() = number_or_null(event.term_signal() != 0, event.term_signal());
    *e->mutable_reason() = string_or_null(event.reason());
  }
  return v;
}

pb::view::Node to_view(const pb::Node& node) {
  pb::view::Node v;
  v.set_id(node.id());
  v.set_role(state::node_role_name(node.role()));
  v.set_address(node.address());
  v.set_state(state::node_state_name(node.state()));
  v.set_draining(node.draining());
  v.set_max_output_bytes(static_cast<double>(node.max_output_bytes()));
  v.set_disk_note(node.disk_note());
  v.set_run_as(node.run_as());
  *v.mutable_allowed_users() = node.allowed_users();
  v.set_version(node.version());
  v.set_tls(node.tls());
  *v.mutable_heard_seconds_ago()
      = number_or_null(node.has_heard_ms_ago(), static_cast<double>(node.heard_ms_ago()) / 1000.0);
  v.set_cpus_total(static_cast<double>(node.cpu_millis_total()) / 1000.0);
  v.set_cpus_free(static_cast<double>(node.cpu_millis_total() - node.cpu_millis_used()) / 1000.0);
  v.set_memory_total_bytes(static_cast<double>(node.memory_bytes_total()));
  v.set_memory_free_bytes(
      static_cast<double>(node.memory_bytes_total() - node.memory_bytes_used()));
  *v.mutable_labels() = node.labels();
  auto* limits = v.mutable_limits();
  limits->set_memory(node.limits().memory());
  limits->set_cpu(node.limits().cpu());
  limits->set_mechanism(node.limits().mechanism());
  limits->set_note(node.limits().note());
  return v;
}

pb::view::Leader to_view(const pb::LeaderInfo& info) {
  pb::view::Leader v;
  v.set_term(static_cast<double>(info.term()));
  v.mutable_leader()->set_id(info.leader().id());
  v.mutable_leader()->set_address(info.leader().address());
  for (const auto& m : info.masters()) {
    auto* out = v.add_masters();
    out->set_id(m.id());
    out->set_address(m.address());
    out->set_role(m.role());
    out->set_match_index(static_cast<double>(m.match_index()));
    const auto& h = m.health();
    auto* health = out->mutable_health();
    health->set_answered(h.answered());
    health->set_version(h.version());
    health->set_tls(h.tls());
    health->set_leader_known(h.leader_known());
    health->set_data_dir_writable(h.data_dir_writable());
    health->set_disk_free_bytes(static_cast<double>(h.disk_free_bytes()));
    health->set_problem(h.problem());
  }
  return v;
}

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok())
    throw std::logic_error("cannot print JSON: " + status.ToString());
  return out;
}

std::string to_json_array(const std::vector<const google::protobuf::Message*>& messages) {
  std::string out = "[";
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0)
      out += ",";
    out += to_json(*messages[i]);
  }
  return out + "]";
}

void print_job_table(std::ostream& out, const std::vector<pb::Job>& jobs) {
  out << fmt::format("{:<8} {:<16} {:<10} {:<6} {:<16} {:>8} {}\n", "ID", "NAME", "STATE", "EXIT",
                     "NODE", "ATTEMPTS", "REASON");
  for (const auto& job : jobs)
    out << fmt::format("{:<8} {:<16} {:<10} {:<6} {:<16} {:>8} {}\n", job.id(),
                       log::printable(job.spec().name()).substr(0, 16),
                       state::job_state_name(job.state()), exit_text(job), or_dash(job.node_id()),
                       job.attempts(), job.reason());
}

void print_job_details(std::ostream& out, const pb::Job& job) {
  out << fmt::format("id:          {}\n", job.id());
  out << fmt::format("name:        {}\n", log::printable(job.spec().name()));
  std::vector<std::string> command;
  for (const auto& arg : job.spec().argv())
    command.push_back(log::printable(arg));
  out << fmt::format("command:     {}\n", fmt::join(command, " "));
  out << fmt::format("state:       {}\n", state::job_state_name(job.state()));
  out << fmt::format("exit:        {}\n", exit_text(job));
  out << fmt::format("node:        {}\n", or_dash(job.node_id()));
  out << fmt::format("attempts:    {}\n", job.attempts());
  out << fmt::format("resources:   {} CPUs, {} memory\n",
                     state::format_cpus(job.spec().cpu_millis()),
                     state::format_bytes(job.spec().memory_bytes()));
  auto time = [](int64_t ms) { return ms == 0 ? std::string{"-"} : format_time_ms(ms); };
  out << fmt::format("submitted:   {}\n", time(job.submitted_at_ms()));
  out << fmt::format("started:     {}\n", time(job.started_at_ms()));
  out << fmt::format("finished:    {}\n", time(job.finished_at_ms()));
  out << fmt::format("restart:     {}, {} attempts at most\n",
                     restart_policy_name(job.spec().restart()),
                     job.spec().max_attempts() == 0 ? std::string{"no limit on"}
                                                    : std::to_string(job.spec().max_attempts()));
  if (job.spec().constraints_size() > 0 || job.spec().strategy() != pb::STRATEGY_BINPACK) {
    std::vector<std::string> constraints;
    for (const auto& constraint : job.spec().constraints())
      constraints.push_back(state::constraint_text(constraint));
    out << fmt::format("placement:   {}{}{}\n", strategy_name(job.spec().strategy()),
                       constraints.empty() ? "" : " on nodes with ", fmt::join(constraints, ", "));
  }
  if (!job.spec().user().empty())
    out << fmt::format("user:        {}\n", job.spec().user());
  if (job.spec().timeout_ms() > 0)
    out << fmt::format("timeout:     {}\n", state::format_duration_ms(job.spec().timeout_ms()));
  if (!job.spec().workdir().empty())
    out << fmt::format("workdir:     {}\n", log::printable(job.spec().workdir()));
  if (!job.spec().stdin_file().empty())
    out << fmt::format("stdin:       {}\n", log::printable(job.spec().stdin_file()));
  if (job.spec().after_size() > 0) {
    std::vector<std::string> after;
    for (const auto& dependency : job.spec().after())
      after.push_back(state::dependency_text(dependency));
    out << fmt::format("after:       {}\n", fmt::join(after, " "));
  }
  for (const auto& var : job.spec().env())
    out << fmt::format("env:         {}={}\n", log::printable(var.name()),
                       log::printable(var.value()));
  if (!job.reason().empty())
    out << fmt::format("reason:      {}\n", job.reason());
  if (job.history_size() == 0)
    return;
  out << fmt::format("history:\n  {:<24} {:>7} {:<10} {:<16} {:<6} {}\n", "TIME", "ATTEMPT",
                     "STATE", "NODE", "EXIT", "REASON");
  for (const auto& event : job.history())
    out << fmt::format(
        "  {:<24} {:>7} {:<10} {:<16} {:<6} {}\n", format_time_ms(event.time_ms()), event.attempt(),
        state::job_state_name(event.state()), or_dash(event.node_id()),
        exit_text(event.has_exit_code(), event.exit_code(), event.term_signal()), event.reason());
}

namespace {

/// The claud a node runs, with "+tls" when it runs mutual TLS ("?" for an older claud).
std::string claud_text(const std::string& version, bool tls) {
  return (version.empty() ? std::string{"?"} : version) + (tls ? "+tls" : "");
}

/// Whom a node's jobs run as, then after '+' the users a job may ask for: "nobody+alice,bob".
std::string users_text(const pb::Node& node) {
  auto out = or_dash(node.run_as());
  if (node.allowed_users_size() > 0)
    out += fmt::format("+{}", fmt::join(node.allowed_users(), ","));
  return out;
}

/// The limits a node enforces, in a word: "mem,cpu", "mem", "cpu" or "none".
std::string limits_text(const pb::LimitEnforcement& limits) {
  if (limits.memory() && limits.cpu())
    return "mem,cpu";
  if (limits.memory() || limits.cpu())
    return limits.memory() ? "mem" : "cpu";
  return "none";
}

} // namespace

void print_node_table(std::ostream& out, const std::vector<pb::Node>& nodes) {
  constexpr auto row = "{:<16} {:<6} {:<22} {:<6} {:>6} {:>12} {:>16} {:<8} {:<10} {:<10} {}\n";
  out << fmt::format(row, "ID", "ROLE", "ADDRESS", "STATE", "HEARD", "CPUS FREE", "MEMORY FREE",
                     "LIMITS", "JOBS AS", "CLAUD", "LABELS");
  for (const auto& node : nodes)
    out << fmt::format(row, node.id(), state::node_role_name(node.role()), node.address(),
                       node_state_text(node.state(), node.draining()), heard_text(node),
                       state::format_cpus(node.cpu_millis_total() - node.cpu_millis_used()) + "/"
                           + state::format_cpus(node.cpu_millis_total()),
                       state::format_bytes(node.memory_bytes_total() - node.memory_bytes_used())
                           + "/" + state::format_bytes(node.memory_bytes_total()),
                       limits_text(node.limits()), users_text(node),
                       claud_text(node.version(), node.tls()), labels_text(node));
  // What a node cannot enforce is worth a line of its own: its jobs may take more than they ask.
  for (const auto& node : nodes)
    if (!node.limits().note().empty())
      out << fmt::format("{}: limits not enforced: {}\n", node.id(), node.limits().note());
  for (const auto& node : nodes)
    if (!node.disk_note().empty())
      out << fmt::format("{}: {}\n", node.id(), node.disk_note());
}

void print_leader(std::ostream& out, const pb::LeaderInfo& info) {
  out << fmt::format("term {}, leader {} at {}\n", info.term(), info.leader().id(),
                     info.leader().address());
  constexpr auto row = "{:<16} {:<22} {:<12} {:>12} {:<10} {}\n";
  out << fmt::format(row, "MASTER", "ADDRESS", "ROLE", "MATCH INDEX", "CLAUD", "HEALTH");
  for (const auto& m : info.masters()) {
    const auto& h = m.health();
    const char* health = h.answered()          ? (h.problem().empty() ? "ok" : "unhealthy")
                         : h.problem().empty() ? "-"
                                               : "no answer";
    out << fmt::format(row, m.id(), m.address(), m.role(), m.match_index(),
                       h.answered() ? claud_text(h.version(), h.tls()) : "-", health);
  }
  // Why a master is unhealthy is worth a line of its own, as a node's disk note is.
  for (const auto& m : info.masters())
    if (!m.health().problem().empty())
      out << fmt::format("{}: {}\n", m.id().empty() ? m.address() : m.id(), m.health().problem());
}

} // namespace claud::cli
