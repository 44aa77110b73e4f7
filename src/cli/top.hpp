#pragma once
// `claud top [jobs|nodes]` (the REPL's `watch`): a live table on the whole terminal, redrawn as
// the event stream tells of changes, until a key is pressed.

#include <string>

#include "cli/commands.hpp"

namespace claud::cli {

/// `what` is "jobs" or "nodes". Needs a terminal on stdin and stdout.
int top_command(const common_options& common, const std::string& what);

} // namespace claud::cli
