#pragma once
// What a process of the benchmark's cluster costs, read from /proc: CPU time used so far and
// resident memory now.

#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace claud::bench {

/// User plus system CPU seconds `pid` has used (fields 14 and 15 of /proc/PID/stat).
inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto end_of_name = stat.rfind(')'); // the command name may hold spaces
  if (end_of_name == std::string::npos)
    throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(end_of_name + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14)
      utime = std::stoll(field);
    if (i == 15)
      stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Resident memory of `pid` in bytes (VmRSS of /proc/PID/status).
inline long long rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoll(line.substr(6)) * 1024;
  throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/status");
}

} // namespace claud::bench
