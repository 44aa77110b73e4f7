#include "cli/repl.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command_line.hpp"
#include "cli/command_table.hpp"
#include "cli/completion.hpp"
#include "cli/line_editor.hpp"

namespace claud::cli {

namespace {

bool is_command(const std::string& word) {
  const auto names = command_names();
  return std::find(names.begin(), names.end(), word) != names.end();
}

/// The commands of the table, parsed as `claud` parses its own arguments.
struct line_parser {
  CLI::App app{"claud repl: client commands, one a line; help COMMAND shows one's flags; exit "
               "or Ctrl-D ends"};
  command_values values;
  int exit_code = 0;

  line_parser() {
    add_commands(app, values, exit_code);
    app.require_subcommand(1, 1);
    app.set_help_flag(); // `help` is the REPL's own word; COMMAND --help still works
  }
};

void print_help(const std::vector<std::string>& words) {
  line_parser parser;
  if (words.size() < 2) {
    std::cout << parser.app.help("", CLI::AppFormatMode::Normal);
    return;
  }
  if (!is_command(words[1])) {
    std::cout << fmt::format("no command '{}'; the commands are {}\n", words[1].substr(0, 64),
                             fmt::join(command_names(), ", "));
    return;
  }
  std::cout << parser.app.get_subcommand(words[1])->help();
}

/// Runs one line's command; returns its exit code (2 for a line that does not parse).
int run_line(std::vector<std::string> words, const common_options& defaults) {
  if (!is_command(words[0])) {
    std::cerr << fmt::format("claud: error: no command '{}'; the commands are {}, help and exit\n",
                             words[0].substr(0, 64), fmt::join(command_names(), ", "));
    return 2;
  }
  line_parser parser;
  parser.values.common = defaults;          // flags the line gives override them
  std::reverse(words.begin(), words.end()); // CLI11 takes a vector of arguments last first
  try {
    parser.app.parse(words);
  } catch (const CLI::CallForHelp&) {
    const auto& chosen = parser.app.get_subcommands();
    std::cout << (chosen.empty() ? parser.app.help() : chosen.front()->help());
    return 0;
  } catch (const CLI::ParseError& e) {
    const auto& chosen = parser.app.get_subcommands();
    std::cerr << fmt::format("claud: error: {}; {}\n", e.what(),
                             chosen.empty()
                                 ? std::string{"`help` lists the commands"}
                                 : "`help " + chosen.front()->get_name() + "` shows its flags");
    return 2;
  }
  return parser.exit_code;
}

/// The interactive prompt names the master that leads (`claud m2> `), asked of the cluster before
/// each line from the reached master's own state (at once, no round to the leader), and says in
/// one line when the leader has changed since the last prompt.
class leader_prompt {
public:
  explicit leader_prompt(const common_options& defaults) : options_(connection(defaults)) {
    options_.request_timeout = std::chrono::milliseconds{1000}; // a prompt must not hang
    options_.attempt_timeout = std::chrono::milliseconds{500};
  }

  std::string next() {
    std::string leader = "?";
    uint64_t term = 0;
    try {
      if (!cluster_)
        cluster_ = std::make_unique<client>(options_);
      auto info = cluster_->leader(read_mode::local);
      term = info.term();
      if (!info.leader().id().empty())
        leader = info.leader().id();
    } catch (const client_error&) {
      cluster_.reset(); // connect afresh next time: the master reached may be the one gone
      leader = "unreachable";
    }
    if (!leader_.empty() && leader != leader_)
      std::cout << fmt::format("claud: the leader is now {}{}\n", leader,
                               term != 0 ? fmt::format(" (term {})", term) : "");
    leader_ = leader;
    return fmt::format("claud {}> ", leader);
  }

private:
  client_options options_;
  std::unique_ptr<client> cluster_;
  std::string leader_; // at the last prompt ("" before the first)
};

/// Tab's candidates (completion.hpp): commands and flags from the table, job and node ids from
/// the reached master's own state (at once), file names by libedit.
std::optional<std::vector<std::string>> candidates_for(const common_options& defaults,
                                                       const std::string& line_before,
                                                       const std::string& word) {
  const auto before = split_command_line(line_before);
  if (!before.error.empty())
    return std::vector<std::string>{};
  const auto request = what_to_complete(before.words, word);
  std::vector<std::string> all;
  switch (request.kind) {
  case completion_kind::none:
    break;
  case completion_kind::file:
    return std::nullopt;
  case completion_kind::command:
    all = command_names();
    if (before.words.empty())
      all.insert(all.end(), {"help", "exit", "quit"});
    break;
  case completion_kind::flag: {
    if (!is_command(request.command))
      break;
    line_parser parser;
    for (const auto* option : parser.app.get_subcommand(request.command)->get_options())
      for (const auto& name : option->get_lnames())
        all.push_back("--" + name);
    break;
  }
  case completion_kind::job_id:
  case completion_kind::node_id:
    try {
      auto options = connection(defaults);
      options.request_timeout = std::chrono::milliseconds{1000};
      client cluster{options};
      if (request.kind == completion_kind::job_id)
        for (const auto& job : cluster.jobs(read_mode::local))
          all.push_back(job.id());
      else
        for (const auto& node : cluster.nodes(read_mode::local))
          all.push_back(node.id());
    } catch (const client_error&) {
      // nothing to offer: the next command says what is wrong
    }
    break;
  }
  return matching(all, word);
}

} // namespace

int repl_command(const common_options& defaults) {
  line_editor input{default_history_file()};
  std::optional<leader_prompt> prompt;
  if (input.interactive()) {
    prompt.emplace(defaults);
    input.complete_with([&defaults](const std::string& line_before, const std::string& word) {
      return candidates_for(defaults, line_before, word);
    });
  }
  int last_failure = 0;
  while (auto line = input.read(prompt ? prompt->next() : std::string{})) {
    input.remember(*line);
    auto split = split_command_line(*line);
    int code = 0;
    if (!split.error.empty()) {
      std::cerr << "claud: error: " << split.error << "\n";
      code = 2;
    } else if (split.words.empty()) {
      continue;
    } else if (split.words[0] == "exit" || split.words[0] == "quit") {
      break;
    } else if (split.words[0] == "help") {
      print_help(split.words);
    } else {
      code = run_line(std::move(split.words), defaults);
    }
    std::cout.flush();
    if (code != 0)
      last_failure = code;
  }
  if (input.interactive())
    std::cout << "\n";
  return input.interactive() ? 0 : last_failure;
}

} // namespace claud::cli
