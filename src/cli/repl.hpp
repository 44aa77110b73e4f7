#pragma once
// `claud repl`: an interactive session beside the cluster. Each line is a client command with the
// same flags and output as on the command line, parsed by the same command table
// (command_table.hpp); `--cluster` and the TLS flags given to `repl` are every line's defaults.
// A mistake in a line prints what was expected and the session goes on. Not on a terminal (a
// file or pipe of commands): no prompt, one result per command, and the exit code is that of the
// last command that failed (0 if none did), so `claud repl < commands.txt` is scriptable.

#include "cli/commands.hpp"

namespace claud::cli {

int repl_command(const common_options& defaults);

} // namespace claud::cli
