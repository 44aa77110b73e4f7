// Wrong input, to a command or to a node: each gives one line on stderr that names what was
// wrong, a non-zero exit, and leaves the running cluster as it was. The checks look for key words,
// not whole messages, so rewording a message does not break them.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return text;
}

/// The command failed (with `exit_code`, if given) and wrote exactly one line on stderr that
/// contains every key word (case-insensitive).
void require_one_line_error(const run_result& r, const std::vector<std::string>& key_words,
                            int exit_code = -1) {
  INFO(r.describe());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  if (exit_code >= 0)
    CHECK(r.exit_code == exit_code);
  CHECK(r.err.size() > 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK((!r.err.empty() && r.err.back() == '\n'));
  for (const auto& word : key_words) {
    INFO("key word: " << word);
    CHECK(lower(r.err).find(lower(word)) != std::string::npos);
  }
}

} // namespace

// One cluster for every case, so that the cluster also shows it survived all of them.
TEST_CASE("bad input gives one clear error line and leaves the cluster running") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  auto jobs_before = c.jobs().size();
  const auto& master = c.node("m");

  {
    // The command line itself.
    require_one_line_error(c.run_raw({"--role=chief", "--data-dir", c.root() + "/chief"}),
                           {"role", "chief"});
    // A malformed command line exits 2 (README).
    require_one_line_error(c.run_raw({"frobnicate"}), {"frobnicate"}, 2);
    require_one_line_error(c.run({"jobs", "--frobnicate"}), {"--frobnicate"}, 2);
  }

  {
    // An address nobody serves.
    auto nowhere = "127.0.0.1:" + std::to_string(cluster::free_port());
    require_one_line_error(c.run({"jobs", "--cluster", nowhere}, 30s), {"reach", nowhere}, 1);
  }

  {
    // A second master on a port in use.
    auto r = c.run_raw(
        {"--role=master", "--listen", master.address, "--data-dir", c.root() + "/second"}, 15s);
    require_one_line_error(r, {master.address});
  }

  {
    // Data dirs that cannot be used.
    // A path below a regular file cannot be created.
    auto file = c.root() + "/a-file";
    ::close(::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    auto port = "127.0.0.1:" + std::to_string(cluster::free_port());
    require_one_line_error(
        c.run_raw({"--role=master", "--listen", port, "--data-dir", file + "/data"}, 15s),
        {file + "/data"});
    // A wait held longer than clients wait for an answer.
    require_one_line_error(c.run_raw({"--role=master", "--listen", port, "--data-dir",
                                      c.root() + "/slow-waits", "--wait-poll-ms", "5000"},
                                     15s),
                           {"--wait-poll-ms", "4000"});
    // The running master's data dir is locked.
    require_one_line_error(
        c.run_raw({"--role=master", "--listen", port, "--data-dir", master.data_dir}, 15s),
        {master.data_dir});
  }

  {
    // Submissions that cannot run.
    require_one_line_error(c.run({"wait"}), {"jobs"}, 2);
    require_one_line_error(c.run({"wait", "no-such-job"}), {"no-such-job"}, 1);
    require_one_line_error(c.run({"submit", "--"}), {"empty"});
    require_one_line_error(c.run({"submit"}), {"empty"});
    for (std::string bad : {"-1", "0", "abc", "1.5x", ""}) {
      require_one_line_error(c.run({"submit", "--cpus", bad, "--", "true"}), {"--cpus"});
      require_one_line_error(c.run({"submit", "--memory", bad, "--", "true"}), {"--memory"});
    }
    // More CPUs than any slave offers is refused at submit, not left pending forever.
    require_one_line_error(c.run({"submit", "--cpus", "8", "--", "true"}), {"cpu"});
    require_one_line_error(c.run({"submit", "--memory", "64G", "--", "true"}), {"memory"});
    CHECK(c.jobs().size() == jobs_before); // nothing was stored
  }

  {
    // Job ids that do not exist.
    for (std::string command : {"status", "kill", "logs"})
      require_one_line_error(c.run({command, "424242"}), {"424242"}, 1);
  }

  {
    // Slave flags.
    auto port = [] { return "127.0.0.1:" + std::to_string(cluster::free_port()); };
    for (std::string bad : {"-2", "0", "many"}) {
      require_one_line_error(
          c.run_raw({"--role=slave", "--listen", port(), "--join", master.address, "--data-dir",
                     c.root() + "/bad-slave", "--cpus", bad},
                    15s),
          {"--cpus"});
      require_one_line_error(
          c.run_raw({"--role=slave", "--listen", port(), "--join", master.address, "--data-dir",
                     c.root() + "/bad-slave", "--memory", bad},
                    15s),
          {"--memory"});
    }
    // A second slave on the first one's port.
    require_one_line_error(c.run_raw({"--role=slave", "--listen", c.address("s1"), "--join",
                                      master.address, "--data-dir", c.root() + "/bad-slave"},
                                     15s),
                           {c.address("s1")});
    // None of them registered.
    auto nodes = c.nodes();
    INFO(nodes.dump());
    CHECK(nodes.size() == 1);
  }

  // Whatever was refused, the cluster is still up and works.
  auto nodes = c.run({"nodes"});
  INFO(nodes.describe());
  CHECK(nodes.exit_code == 0);
  auto s1 = c.node_record("s1");
  INFO(s1.dump());
  REQUIRE(!s1.is_null());
  CHECK(s1["state"].str() == "alive");
  auto r = c.run({"submit", "--wait", "--", "true"});
  INFO(r.describe());
  CHECK(r.exit_code == 0);
}
