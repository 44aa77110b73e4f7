// claud: one binary for every role and every client command. This file only parses arguments
// (CLI11) and dispatches: `--role=ROLE` runs a node (src/roles), a subcommand runs a client
// command from the command table (src/cli/command_table.hpp).

#include <iostream>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "claud/protocol.hpp"
#include "cli/command_table.hpp"
#include "cli/node_flags.hpp"
#include "cli/tls_commands.hpp"
#include "roles/node_options.hpp"

int main(int argc, char** argv) {
  using namespace claud;
  // glibc raises its mmap threshold each time it frees a large mapped block, up to 32 MiB, and
  // from then on serves a master's snapshot buffers (tens of MiB) from its heaps, which do not
  // shrink: a fixed threshold gives them back to the system when they are freed.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  CLI::App app{"claud: a cluster job orchestrator. Start nodes with --role, or run a command."};
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag("--version", std::string{claud_version()}, "Print the claud version");
  roles::node_options node;
  cli::add_node_flags(app, node);
  cli::command_values values;
  int exit_code = 0;
  cli::add_commands(app, values, exit_code);
  cli::add_tls_commands(app, exit_code);
  cli::common_options repl_defaults;
  cli::add_repl_command(app, repl_defaults, exit_code);
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
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
    std::cerr << fmt::format("claud: error: nothing to do; start a node with "
                             "--role=master|slave|dev or run a command: {} (see `claud --help`)\n",
                             fmt::join(cli::command_names(), ", "));
    return 2;
  }
  return roles::run_node(node);
}
