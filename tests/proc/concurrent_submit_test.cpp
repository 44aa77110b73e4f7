// 32 clients submitting at once to a dev node: every submission is answered, and the cluster holds
// exactly the jobs that were acknowledged. Before the middleman decoded on its own thread, about
// one submission in 1,000 went unanswered under 8 or more concurrent clients (CAF 0.17 forgot a
// closed connection only after a new client had been accepted on its reused socket number).

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("32 concurrent submitting clients all get an answer") {
  constexpr int clients = 32;
  constexpr int submissions_each = 50;
  cluster c;
  c.start_dev("dev", {"--cgroups", "off"});
  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::vector<std::string> failures;
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&] {
        for (int n = 0; n < submissions_each; ++n) {
          auto r = c.run({"submit", "--", "true"}, 30s);
          std::lock_guard<std::mutex> lock{mutex};
          if (r.exit_code == 0)
            acknowledged.insert(r.out.substr(0, r.out.find('\n')));
          else
            failures.push_back(r.describe());
        }
      });
    for (auto& t : threads)
      t.join();
  }
  INFO((failures.empty() ? std::string{} : failures.front()));
  CHECK(failures.empty());
  CHECK(acknowledged.size() == static_cast<size_t>(clients * submissions_each) - failures.size());
  CHECK(c.jobs().items().size() == acknowledged.size());
}
