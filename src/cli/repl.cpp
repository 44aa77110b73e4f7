#include "cli/repl.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
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

/// Runs one line's command in this process (piped: no Ctrl-C to share with a terminal); returns
/// its exit code (2 for a line that does not parse).
int run_line(std::vector<std::string> words, const common_options& defaults) {
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

/// This binary, for the commands run as children.
std::string own_binary() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string{"claud"} : path.string();
}

/// On a terminal each command runs as a child `claud` with the line's words, in the terminal's
/// foreground group beside the REPL (which ignores SIGINT): Ctrl-C ends the command, as a shell's
/// would, wherever it is blocked (a `logs -f`, a `wait`), and the session goes on. The REPL's own
/// --cluster and TLS flags reach it as $CLAUD_ADDR and $CLAUD_TLS_* (its flags override them, as
/// on the command line). Returns its exit code (130 when Ctrl-C ended it).
int run_in_child(const std::vector<std::string>& words, const common_options& defaults) {
  const auto binary = own_binary();
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e)
    environment.emplace_back(*e);
  auto set = [&](const char* name, const std::string& value) {
    if (value.empty())
      return;
    const std::string prefix = std::string{name} + "=";
    environment.erase(std::remove_if(environment.begin(), environment.end(),
                                     [&](const std::string& e) { return e.rfind(prefix, 0) == 0; }),
                      environment.end());
    environment.push_back(prefix + value);
  };
  set("CLAUD_ADDR", defaults.cluster);
  set("CLAUD_TLS_CA", defaults.tls_ca);
  set("CLAUD_TLS_CERT", defaults.tls_cert);
  set("CLAUD_TLS_KEY", defaults.tls_key);
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const auto& w : words)
    argv.push_back(const_cast<char*>(w.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : environment)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t interrupt;
  sigemptyset(&interrupt);
  sigaddset(&interrupt, SIGINT);
  posix_spawnattr_setsigdefault(&attributes, &interrupt); // the REPL ignores it; the child not
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int failed
      = ::posix_spawn(&pid, binary.c_str(), nullptr, &attributes, argv.data(), envp.data());
  posix_spawnattr_destroy(&attributes);
  if (failed != 0) {
    std::cerr << fmt::format("claud: error: cannot run {} ({})\n", binary, std::strerror(failed));
    return 1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    std::cout << "\n";
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

/// The interactive prompt names the master that leads (`claud m2> `), asked of the cluster before
/// each line from the reached master's own state (at once, no round to the leader), and says in
/// one line when the leader has changed since the last prompt.
class leader_prompt {
public:
  explicit leader_prompt(const common_options& defaults) : options_(quick_connection(defaults)) {}

  std::string next() {
    std::string leader = "?";
    uint64_t term = 0;
    // A prompt must not hang: the first client waits three seconds at most (its start, and the
    // cluster maybe still electing), one made after a failure one second.
    options_.request_timeout = std::chrono::milliseconds{leader_.empty() ? 3000 : 1000};
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
  case completion_kind::view:
    all = {"jobs", "nodes"};
    break;
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
      client cluster{quick_connection(defaults)};
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
    ::signal(SIGINT, SIG_IGN); // Ctrl-C is for the command running (run_in_child), not the REPL
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
    } else if (!is_command(split.words[0])) {
      std::cerr << fmt::format(
          "claud: error: no command '{}'; the commands are {}, help and exit\n",
          split.words[0].substr(0, 64), fmt::join(command_names(), ", "));
      code = 2;
    } else {
      code = input.interactive() ? run_in_child(split.words, defaults)
                                 : run_line(std::move(split.words), defaults);
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
