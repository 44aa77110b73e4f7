#pragma once
// Every client command, defined once: its name, its help, its flags and what it runs. The one-shot
// CLI (main) builds its subcommands from this table, and the REPL is to parse its lines with the
// same definitions, so a command and its flags never have two parsers.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace claud::cli {

/// What the flags and arguments of the commands parse into.
struct command_values {
  common_options common;
  submit_options submit;
  logs_options logs;
  drain_options drain;
  masters_options masters;
  events_options events;
  run_options run;
  std::string top_view = "jobs"; // jobs | nodes
  std::string job_id;
  std::vector<std::string> job_ids;
};

/// Adds every command to `app` as a subcommand. The one that is parsed runs as its callback and
/// leaves its exit code in `exit_code` (errors printed as one line, exit code 1).
void add_commands(CLI::App& app, command_values& values, int& exit_code);

/// Adds `repl` (repl.hpp) to `app`: its connection flags are the defaults of every line. It is
/// not in the table, so a REPL never opens another.
void add_repl_command(CLI::App& app, common_options& defaults, int& exit_code);

/// The commands' names, in the table's order, and their other names (`watch` for `top`).
std::vector<std::string> command_names();

} // namespace claud::cli
