#include "baseline.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "stats.hpp"

extern char** environ;

namespace claud::bench {

spawn_baseline measure_spawn_rate(size_t count, size_t parallelism) {
  char true_path[] = "/bin/true";
  char* argv[] = {true_path, nullptr};
  auto start = std::chrono::steady_clock::now();
  size_t started = 0;
  size_t running = 0;
  while (started < count || running > 0) {
    while (started < count && running < parallelism) {
      pid_t pid = 0;
      if (posix_spawn(&pid, true_path, nullptr, nullptr, argv, environ) != 0)
        throw std::runtime_error("cannot spawn /bin/true");
      ++started;
      ++running;
    }
    int status = 0;
    if (::wait(&status) > 0)
      --running;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {static_cast<double>(count) / seconds, parallelism};
}

fsync_baseline measure_fsync(const std::string& dir, size_t count) {
  auto path = dir + "/fsync-baseline";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot create " + path);
  std::string record(200, 'x');
  std::vector<double> ms;
  for (size_t i = 0; i < count; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size())
        || ::fdatasync(fd) != 0)
      throw std::runtime_error("cannot write " + path);
    ms.push_back(elapsed_ms(start));
  }
  ::close(fd);
  ::unlink(path.c_str());
  return {percentile(ms, 50), percentile(ms, 99)};
}

} // namespace claud::bench
