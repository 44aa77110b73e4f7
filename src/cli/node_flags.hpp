#pragma once
// The flags that start a node (`claud --role=...`), on the binary's CLI11 app, with `--config`
// files read strictly (strict_config): every option of a node by its long name.

#include <CLI/CLI.hpp>

#include "roles/node_options.hpp"

namespace claud::cli {

void add_node_flags(CLI::App& app, roles::node_options& o);

} // namespace claud::cli
