#pragma once
// `claud tls ca` and `claud tls cert`: the cluster's certificate authority and the certificates
// it signs, one per node and per user (as `nomad tls` and `consul tls` make them).

#include <CLI/CLI.hpp>

namespace claud::cli {

/// Adds the `tls` command and its two subcommands to `app`; the one parsed leaves its exit code in
/// `exit_code`.
void add_tls_commands(CLI::App& app, int& exit_code);

} // namespace claud::cli
