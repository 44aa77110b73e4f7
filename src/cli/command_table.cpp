#include "cli/command_table.hpp"

#include <iostream>

#include "claud/client.hpp"
#include "cli/repl.hpp"
#include "cli/top.hpp"

namespace claud::cli {

namespace {

void add_common(CLI::App* command, common_options& common) {
  command->add_option("--cluster", common.cluster,
                      "HOST:PORT[,...] of masters (default: $CLAUD_ADDR, else 127.0.0.1:7400)");
  command->add_flag("--json", common.json, "Print one JSON document (schema in the README)");
  command->add_option("--tls-ca", common.tls_ca,
                      "Mutual TLS: the cluster CA's certificate (default: $CLAUD_TLS_CA)");
  command->add_option("--tls-cert", common.tls_cert,
                      "Mutual TLS: your certificate, of role client or reader (default: "
                      "$CLAUD_TLS_CERT)");
  command->add_option("--tls-key", common.tls_key,
                      "Mutual TLS: your private key (default: $CLAUD_TLS_KEY)");
}

void add_local(CLI::App* command, common_options& common) {
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

void define_submit(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_option("--name", v.submit.name, "Job name (default: the command's base name)");
  c->add_option("--cpus", v.submit.cpus, "CPUs the job needs")->capture_default_str();
  c->add_option("--memory", v.submit.memory, "Memory the job needs, e.g. 512M")
      ->capture_default_str();
  c->add_flag("--wait", v.submit.wait, "Wait for the end and exit with the job's exit code");
  c->add_option("--restart", v.submit.restart, "never, on-failure or always")
      ->capture_default_str();
  c->add_option("--max-attempts", v.submit.max_attempts,
                "Placements in all, restarts and reschedules included (0: no limit)")
      ->capture_default_str();
  c->add_option("--on-node-lost", v.submit.on_node_lost,
                "reschedule (run again elsewhere) or fail, when its node dies")
      ->check(CLI::IsMember({"reschedule", "fail"}))
      ->capture_default_str();
  c->add_option("--backoff-ms", v.submit.backoff_ms,
                "First restart delay; it doubles with each attempt, up to 64x")
      ->capture_default_str();
  c->add_option("--constraint", v.submit.constraints,
                "KEY=VALUE or KEY!=VALUE a node's labels must satisfy (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--strategy", v.submit.strategy,
                "binpack (fill nodes up) or spread (the node with the most free CPU)")
      ->check(CLI::IsMember({"binpack", "spread"}))
      ->capture_default_str();
  c->add_option("--user", v.submit.user,
                "Run as this user: one the slave runs jobs as or allows (--allow-users); "
                "default: the slave's --run-as");
  c->add_option("--idempotency-key", v.submit.idempotency_key,
                "Submit at most once under this key: a submission whose key the cluster "
                "knows returns that job (default: a new key per submission)");
  c->add_option("--env", v.submit.env,
                "NAME=VALUE set in the job's environment over the slave's (repeatable; after "
                "--env-file)")
      ->allow_extra_args(false);
  c->add_option("--env-file", v.submit.env_file,
                "A file of NAME=VALUE lines for the job's environment ('#' comments)");
  c->add_option("--workdir", v.submit.workdir,
                "The absolute directory on the slave the job starts in (default: the slave's)");
  c->add_option("--timeout", v.submit.timeout,
                "How long each attempt may run (500ms, 30s, 5m, 2h, 1d); past it the job is "
                "stopped and fails, saying so (default: no limit)");
  c->add_option("--stdin", v.submit.stdin_file,
                "The absolute path of a file on the slave the job reads as its standard input "
                "(default: /dev/null)");
  c->add_option("--after", v.submit.after,
                "JOB[:ok|:any|:fail]: stay pending until job JOB has succeeded (ok, the default), "
                "ended (any) or not succeeded (fail); if it ends otherwise, fail (repeatable)")
      ->allow_extra_args(false);
  c->add_option("command", v.submit.command, "The command and its arguments, after --");
}

void define_run(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_option("file", v.run.file, "The job file: JSON, in the schema of `status --json`");
  c->add_flag("--example", v.run.example, "Print a commented sample job file");
  c->add_flag("--wait", v.run.wait, "Wait for the end and exit with the job's exit code");
}

void define_status(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  add_local(c, v.common);
  c->add_option("job", v.job_id, "Job id")->required();
}

void define_wait(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_option("jobs", v.job_ids, "Job ids")->required();
}

void define_list(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  add_local(c, v.common);
}

void define_logs(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_option("job", v.logs.job_id, "Job id")->required();
  c->add_flag("--stderr", v.logs.stderr_stream, "Print standard error instead of output");
  c->add_flag("-f,--follow", v.logs.follow, "Keep printing while the job runs");
}

void define_events(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_flag("--jobs", v.events.jobs, "Every job's events");
  c->add_option("--job", v.events.job_ids, "The events of this job (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--name", v.events.name_prefix, "The events of jobs whose name starts with it");
  c->add_flag("--nodes", v.events.nodes, "Nodes joining, lost or drained");
  c->add_flag("--leader", v.events.leader, "Leader elections and changes to the masters");
  c->add_option("--from", v.events.from,
                "Start after this log index (the last one seen) instead of with a snapshot of "
                "the current states")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--count", v.events.count, "Stop after this many events (default: never)")
      ->check(CLI::NonNegativeNumber);
}

void define_top(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->alias("watch"); // the REPL's word for it: `watch jobs`
  c->add_option("view", v.top_view, "jobs (the default) or nodes")
      ->check(CLI::IsMember({"jobs", "nodes"}));
}

void define_kill(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_option("job", v.job_id, "Job id")->required();
}

void define_drain(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_option("node", v.drain.node_id, "Node id")->required();
  c->add_flag("--migrate", v.drain.migrate, "Also move its jobs to other nodes");
  c->add_flag("--undo", v.drain.undo, "Place jobs on it again");
}

void define_masters(CLI::App* c, command_values& v) {
  add_common(c, v.common);
  c->add_option("action", v.masters.action, "add or remove")
      ->required()
      ->check(CLI::IsMember({"add", "remove"}));
  c->add_option("master", v.masters.master,
                "add: the new master's HOST:PORT; remove: a master's HOST:PORT or node id")
      ->required();
}

struct command {
  const char* name;
  const char* help;
  void (*define)(CLI::App*, command_values&);
  int (*run)(const command_values&);
};

const command commands[] = {
    {"submit", "Submit a job: claud submit [options] -- CMD ARGS...", define_submit,
     [](const command_values& v) { return submit_command(v.common, v.submit); }},
    {"run", "Submit the job a JSON file describes: claud run FILE.json (--example: a sample)",
     define_run, [](const command_values& v) { return run_command(v.common, v.run); }},
    {"status", "Show one job", define_status,
     [](const command_values& v) { return status_command(v.common, v.job_id); }},
    {"wait", "Wait until jobs have ended; print how each ended", define_wait,
     [](const command_values& v) { return wait_command(v.common, v.job_ids); }},
    {"jobs", "List jobs", define_list,
     [](const command_values& v) { return jobs_command(v.common); }},
    {"nodes", "List the nodes that run jobs", define_list,
     [](const command_values& v) { return nodes_command(v.common); }},
    {"events", "Print events as they commit (nothing selected: all), until interrupted",
     define_events, [](const command_values& v) { return events_command(v.common, v.events); }},
    {"top",
     "A live table of jobs (or nodes: claud top nodes) on the whole terminal, redrawn as "
     "changes commit, until a key; `watch` in the REPL",
     define_top, [](const command_values& v) { return top_command(v.common, v.top_view); }},
    {"logs", "Print a job's output (stdout, or --stderr)", define_logs,
     [](const command_values& v) { return logs_command(v.common, v.logs); }},
    {"kill", "Stop a job (SIGTERM, then SIGKILL), or cancel it", define_kill,
     [](const command_values& v) { return kill_command(v.common, v.job_id); }},
    {"drain", "Stop placing jobs on a node (--undo: resume)", define_drain,
     [](const command_values& v) { return drain_command(v.common, v.drain); }},
    {"leader", "Show the term, the leader and every master", define_list,
     [](const command_values& v) { return leader_command(v.common); }},
    {"masters",
     "Add a master (it joins as a learner, votes once caught up) or remove one: "
     "claud masters add|remove MASTER",
     define_masters, [](const command_values& v) { return masters_command(v.common, v.masters); }},
};

} // namespace

void add_commands(CLI::App& app, command_values& values, int& exit_code) {
  for (const auto& c : commands) {
    auto* sub = app.add_subcommand(c.name, c.help);
    c.define(sub, values);
    sub->callback(
        [&values, &exit_code, run = c.run] { exit_code = guarded([&] { return run(values); }); });
  }
}

void add_repl_command(CLI::App& app, common_options& defaults, int& exit_code) {
  auto* repl = app.add_subcommand(
      "repl", "An interactive session: the commands above, one a line (help, exit; piped: a "
              "script of them)");
  add_common(repl, defaults);
  repl->callback(
      [&defaults, &exit_code] { exit_code = guarded([&] { return repl_command(defaults); }); });
}

std::vector<std::string> command_names() {
  CLI::App app;
  command_values values;
  int exit_code = 0;
  add_commands(app, values, exit_code);
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) {
    names.push_back(sub->get_name());
    for (const auto& alias : sub->get_aliases())
      names.push_back(alias);
  }
  return names;
}

} // namespace claud::cli
