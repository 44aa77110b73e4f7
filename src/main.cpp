// claud: one binary for every role and every client command. This file only parses arguments
// (CLI11) and dispatches: `--role=ROLE` runs a node (src/roles), a subcommand runs a client
// command (src/cli).

#include <iostream>

#include <CLI/CLI.hpp>

#include "claud/client.hpp"
#include "cli/commands.hpp"
#include "cli/strict_config.hpp"
#include "roles/node_options.hpp"

namespace {

using namespace claud;

void add_node_options(CLI::App& app, roles::node_options& o) {
  app.add_option("--role", o.role, "Run a node: master, slave or dev (both in one process)");
  app.add_option("--listen", o.listen, "HOST:PORT this node listens on (dev: 127.0.0.1:7400)");
  app.add_option("--join", o.join,
                 "HOST:PORT[,...]: the masters, the same list for every node (a master skips "
                 "itself)");
  app.add_option("--data-dir", o.data_dir,
                 "Directory for the node's state (default: "
                 "~/.local/share/claud/ROLE)");
  app.add_option("--node-id", o.node_id,
                 "The node's id (default: generated, kept in the data dir)");
  app.add_option("--cpus", o.cpus, "CPUs a slave offers, e.g. 1.5 (default: the machine's)");
  app.add_option("--memory", o.memory,
                 "Memory a slave offers, e.g. 512M or 4G (default: the "
                 "machine's)");
  app.add_option("--label", o.labels,
                 "KEY=VALUE a slave or dev node carries, for --constraint (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--cgroups", o.cgroups,
                 "Slave, dev: enforce job memory and CPU limits with cgroups: auto (where the "
                 "slave can), off, or required (refuse to start without them)")
      ->capture_default_str();
  app.add_option("--log", o.log, "Log level, or MODULE@LEVEL,... (error, warn, info, debug)")
      ->capture_default_str();
  app.add_option("--registration-grace-ms", o.registration_grace_ms,
                 "Master: time restarted slaves have to re-register before they count as lost")
      ->capture_default_str();
  app.add_option("--reconnect-interval-ms", o.reconnect_interval_ms,
                 "Slave: pause between attempts to reach a master")
      ->capture_default_str();
  app.add_option("--kill-grace-ms", o.kill_grace_ms, "Slave: SIGTERM to SIGKILL delay on kill")
      ->capture_default_str();
  app.add_option("--wait-poll-ms", o.wait_poll_ms,
                 "Master: longest a `submit --wait` or `wait` request is held before it is "
                 "asked again (1 to 4000)")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", o.heartbeat_ms, "Master: leader heartbeat interval")
      ->capture_default_str();
  app.add_option("--election-timeout-ms", o.election_timeout_ms,
                 "Master: silence after which a follower campaigns (randomized up to twice this)")
      ->capture_default_str();
  app.add_option("--slave-timeout-ms", o.slave_timeout_ms,
                 "Master: a slave not heard from this long (frozen or cut off) is lost")
      ->capture_default_str();
  app.add_option("--job-retention-ms", o.job_retention_ms,
                 "Master: ended jobs leave the state this long after they end")
      ->capture_default_str();
  app.add_option("--log-retention-ms", o.log_retention_ms,
                 "Slave, dev: a job's output is deleted this long after it ends")
      ->capture_default_str();
  app.add_option("--ping-interval-ms", o.ping_interval_ms,
                 "Slave: how often it checks that its master still leads")
      ->capture_default_str();
  app.add_option("--max-output", o.max_output,
                 "Slave, dev: the most each job's stdout and stderr keep (the first and last "
                 "halves)")
      ->capture_default_str();
  app.add_option("--min-free-disk", o.min_free_disk,
                 "Slave, dev: below this much free space in its data dir, `claud nodes` says so")
      ->capture_default_str();
  app.add_option("--max-message-size", o.max_message_size,
                 "All: the largest message a peer may send (a larger one drops the peer)")
      ->capture_default_str();
  app.set_config("--config", "", "Read these options from a file (see config/*.conf)");
  std::vector<std::string> keys; // what a config file may set: every option above, by name
  for (const auto* option : app.get_options())
    for (const auto& name : option->get_lnames())
      if (name != "config" && name != "help")
        keys.push_back(name);
  app.config_formatter(std::make_shared<cli::strict_config>(std::move(keys)));
}

void add_common(CLI::App* command, cli::common_options& common) {
  command->add_option("--cluster", common.cluster,
                      "HOST:PORT[,...] of masters (default: $CLAUD_ADDR, else 127.0.0.1:7400)");
  command->add_flag("--json", common.json, "Print one JSON document (schema in the README)");
}

void add_local(CLI::App* command, cli::common_options& common) {
  command->add_flag(
      "--local", common.local,
      "Answer from the reached master's own state at once (may be behind the leader)");
}

/// The exit code of the command that ran, after printing any error as one line.
template<class F>
int guarded(F&& run) {
  try {
    return run();
  } catch (const client_error& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  } catch (const std::invalid_argument& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  }
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"claud: a cluster job orchestrator. Start nodes with --role, or run a command."};
  app.set_help_all_flag("--help-all", "Show help for every command");
  roles::node_options node;
  add_node_options(app, node);

  cli::common_options common;
  cli::submit_options submit;
  cli::logs_options logs;
  std::string job_id;
  int exit_code = 0;

  auto* submit_cmd
      = app.add_subcommand("submit", "Submit a job: claud submit [options] -- CMD ARGS...");
  add_common(submit_cmd, common);
  submit_cmd->add_option("--name", submit.name, "Job name (default: the command's base name)");
  submit_cmd->add_option("--cpus", submit.cpus, "CPUs the job needs")->capture_default_str();
  submit_cmd->add_option("--memory", submit.memory, "Memory the job needs, e.g. 512M")
      ->capture_default_str();
  submit_cmd->add_flag("--wait", submit.wait, "Wait for the end and exit with the job's exit code");
  submit_cmd->add_option("--restart", submit.restart, "never, on-failure or always")
      ->capture_default_str();
  submit_cmd
      ->add_option("--max-attempts", submit.max_attempts,
                   "Placements in all, restarts and reschedules included (0: no limit)")
      ->capture_default_str();
  submit_cmd
      ->add_option("--on-node-lost", submit.on_node_lost,
                   "reschedule (run again elsewhere) or fail, when its node dies")
      ->check(CLI::IsMember({"reschedule", "fail"}))
      ->capture_default_str();
  submit_cmd
      ->add_option("--backoff-ms", submit.backoff_ms,
                   "First restart delay; it doubles with each attempt, up to 64x")
      ->capture_default_str();
  submit_cmd
      ->add_option("--constraint", submit.constraints,
                   "KEY=VALUE or KEY!=VALUE a node's labels must satisfy (repeatable)")
      ->allow_extra_args(false);
  submit_cmd
      ->add_option("--strategy", submit.strategy,
                   "binpack (fill nodes up) or spread (the node with the most free CPU)")
      ->check(CLI::IsMember({"binpack", "spread"}))
      ->capture_default_str();
  submit_cmd->add_option("--idempotency-key", submit.idempotency_key,
                         "Submit at most once under this key: a submission whose key the cluster "
                         "knows returns that job (default: a new key per submission)");
  submit_cmd->add_option("command", submit.command, "The command and its arguments, after --");
  submit_cmd->callback(
      [&] { exit_code = guarded([&] { return cli::submit_command(common, submit); }); });

  auto* status_cmd = app.add_subcommand("status", "Show one job");
  add_common(status_cmd, common);
  add_local(status_cmd, common);
  status_cmd->add_option("job", job_id, "Job id")->required();
  status_cmd->callback(
      [&] { exit_code = guarded([&] { return cli::status_command(common, job_id); }); });

  std::vector<std::string> wait_ids;
  auto* wait_cmd = app.add_subcommand("wait", "Wait until jobs have ended; print how each ended");
  add_common(wait_cmd, common);
  wait_cmd->add_option("jobs", wait_ids, "Job ids")->required();
  wait_cmd->callback(
      [&] { exit_code = guarded([&] { return cli::wait_command(common, wait_ids); }); });

  auto* jobs_cmd = app.add_subcommand("jobs", "List jobs");
  add_common(jobs_cmd, common);
  add_local(jobs_cmd, common);
  jobs_cmd->callback([&] { exit_code = guarded([&] { return cli::jobs_command(common); }); });

  auto* nodes_cmd = app.add_subcommand("nodes", "List the nodes that run jobs");
  add_common(nodes_cmd, common);
  add_local(nodes_cmd, common);
  nodes_cmd->callback([&] { exit_code = guarded([&] { return cli::nodes_command(common); }); });

  auto* logs_cmd = app.add_subcommand("logs", "Print a job's output (stdout, or --stderr)");
  add_common(logs_cmd, common);
  logs_cmd->add_option("job", logs.job_id, "Job id")->required();
  logs_cmd->add_flag("--stderr", logs.stderr_stream, "Print standard error instead of output");
  logs_cmd->add_flag("-f,--follow", logs.follow, "Keep printing while the job runs");
  logs_cmd->callback([&] { exit_code = guarded([&] { return cli::logs_command(common, logs); }); });

  auto* kill_cmd = app.add_subcommand("kill", "Stop a job (SIGTERM, then SIGKILL), or cancel it");
  add_common(kill_cmd, common);
  kill_cmd->add_option("job", job_id, "Job id")->required();
  kill_cmd->callback(
      [&] { exit_code = guarded([&] { return cli::kill_command(common, job_id); }); });

  cli::drain_options drain;
  auto* drain_cmd = app.add_subcommand("drain", "Stop placing jobs on a node (--undo: resume)");
  add_common(drain_cmd, common);
  drain_cmd->add_option("node", drain.node_id, "Node id")->required();
  drain_cmd->add_flag("--migrate", drain.migrate, "Also move its jobs to other nodes");
  drain_cmd->add_flag("--undo", drain.undo, "Place jobs on it again");
  drain_cmd->callback(
      [&] { exit_code = guarded([&] { return cli::drain_command(common, drain); }); });

  auto* leader_cmd = app.add_subcommand("leader", "Show the term, the leader and every master");
  add_common(leader_cmd, common);
  add_local(leader_cmd, common);
  leader_cmd->callback([&] { exit_code = guarded([&] { return cli::leader_command(common); }); });

  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ConfigError& e) {
    std::cerr << "claud: error: " << app.get_config_ptr()->as<std::string>() << " " << e.what()
              << "\n";
    return 2;
  } catch (const CLI::ParseError& e) {
    std::cerr << "claud: error: " << e.what() << "; see `claud --help`\n";
    return 2;
  }
  if (!app.get_subcommands().empty()) {
    if (!node.role.empty()) {
      std::cerr << "claud: error: --role starts a node and cannot be combined with a command\n";
      return 2;
    }
    return exit_code;
  }
  if (node.role.empty()) {
    std::cerr
        << "claud: error: nothing to do; start a node with --role=master|slave|dev or run "
           "a command: submit, status, jobs, nodes, logs, kill, leader (see `claud --help`)\n";
    return 2;
  }
  return roles::run_node(node);
}
