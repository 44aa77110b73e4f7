#include "proc/job_cgroups.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "proc/cgroup_paths.hpp"

namespace claud::proc {

namespace {

// CPU limits are a quota of CPU time per period: 1000 millicores = one period's worth.
constexpr int64_t cpu_period_us = 100000;
constexpr int64_t min_cpu_quota_us = 1000; // the kernel's smallest quota

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> words_of(const std::string& text) {
  std::istringstream in{text};
  std::set<std::string> words;
  for (std::string word; in >> word;)
    words.insert(word);
  return words;
}

/// Writes `value` to a cgroup control file in one write(2), as the kernel wants. Returns 0 or
/// the errno of the failure.
int write_control(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  auto written = ::write(fd, value.data(), value.size());
  int error_number = written < 0 ? errno : 0;
  ::close(fd);
  return error_number;
}

/// mkdir that accepts an existing directory. Returns 0 or the errno of the failure.
int make_dir(const std::string& path) {
  return ::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST ? 0 : errno;
}

/// The value of `key` in a "key value" per line control file (memory.events, memory.oom_control).
int64_t counter(const std::string& text, const std::string& key) {
  std::istringstream in{text};
  std::string name;
  int64_t value = 0;
  while (in >> name >> value)
    if (name == key)
      return value;
  return 0;
}

/// SIGKILLs every process in cgroup `dir`; returns whether there was any.
bool kill_processes_in(const std::string& dir) {
  std::istringstream procs{read_text(dir + "/cgroup.procs")};
  bool any = false;
  for (pid_t pid; procs >> pid; any = true)
    ::kill(pid, SIGKILL);
  return any;
}

/// Kills until cgroup `dir` is empty, for at most about a second (killed processes leave the
/// cgroup as soon as they exit, before anyone reaps them).
void empty_cgroup(const std::string& dir) {
  for (int round = 0; round < 100 && kill_processes_in(dir); ++round)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
}

void append_note(std::string& note, const std::string& line) {
  note = note.empty() ? line : note + "; " + line;
}

std::string controller_list(bool memory, bool cpu) {
  return memory && cpu ? "memory and cpu" : memory ? "memory" : "cpu";
}

} // namespace

job_cgroups::job_cgroups(const std::string& slave_key, mode wanted) {
  enforcement_.mechanism = "none";
  if (wanted == mode::off) {
    enforcement_.note = "turned off with --cgroups=off";
    return;
  }
  auto dirs = find_cgroup_dirs(read_text("/proc/self/cgroup"), read_text("/proc/self/mountinfo"));
  if (!dirs.v2.empty())
    set_up_v2(dirs.v2, slave_key);
  if (hierarchies_.empty()) {
    for (const char* controller : {"memory", "cpu"})
      if (auto dir = dirs.v1.find(controller); dir != dirs.v1.end())
        set_up_v1(controller, dir->second, slave_key);
  }
  for (const auto& h : hierarchies_) {
    enforcement_.memory = enforcement_.memory || h.memory;
    enforcement_.cpu = enforcement_.cpu || h.cpu;
    enforcement_.mechanism = h.v2 ? "cgroup v2" : "cgroup v1";
  }
  if (enforcement_.memory && enforcement_.cpu)
    enforcement_.note.clear();
  else if (enforcement_.note.empty())
    enforcement_.note = fmt::format("no cgroup hierarchy offers the {} controller here",
                                    controller_list(!enforcement_.memory, !enforcement_.cpu));
  if (wanted == mode::required && !enforcement_.note.empty())
    throw std::runtime_error(fmt::format("cannot enforce job limits: {}; fix that or start with "
                                         "--cgroups=auto to run jobs without them",
                                         enforcement_.note));
  remove_all();
}

job_cgroups::~job_cgroups() {
  remove_all();
  for (const auto& h : hierarchies_)
    ::rmdir(h.base.c_str());
}

void job_cgroups::set_up_v2(const std::string& own_dir, const std::string& slave_key) {
  auto offered = words_of(read_text(own_dir + "/cgroup.controllers"));
  bool memory = offered.count("memory") != 0;
  bool cpu = offered.count("cpu") != 0;
  auto note = [&](const std::string& line) { append_note(enforcement_.note, line); };
  if (!memory && !cpu) {
    note(fmt::format("cgroup v2 at {} offers neither the memory nor the cpu controller", own_dir));
    return;
  }
  std::string controllers = std::string{memory ? "+memory " : ""} + (cpu ? "+cpu" : "");
  int error_number = write_control(own_dir + "/cgroup.subtree_control", controllers);
  if (error_number == EBUSY) {
    // Our cgroup holds processes, so it cannot hand out controllers: move into a leaf first.
    auto leaf = fmt::format("{}/claud-{}-slave", own_dir, slave_key);
    auto pid = std::to_string(::getpid());
    error_number = make_dir(leaf);
    if (error_number == 0)
      error_number = write_control(leaf + "/cgroup.procs", pid);
    if (error_number == 0)
      error_number = write_control(own_dir + "/cgroup.subtree_control", controllers);
    if (error_number != 0) {
      write_control(own_dir + "/cgroup.procs", pid);
      ::rmdir(leaf.c_str());
      note(fmt::format("cgroup v2: other processes share {}; start the slave in a cgroup of its "
                       "own (systemd: Delegate=yes)",
                       own_dir));
      return;
    }
  }
  auto base = fmt::format("{}/claud-{}", own_dir, slave_key);
  if (error_number == 0)
    error_number = make_dir(base);
  if (error_number == 0)
    error_number = write_control(base + "/cgroup.subtree_control", controllers);
  if (error_number != 0) {
    note(fmt::format("cgroup v2: cannot hand the {} controller to jobs under {} ({})",
                     controller_list(memory, cpu), own_dir, std::strerror(error_number)));
    return;
  }
  hierarchies_.push_back({base, true, memory, cpu});
}

void job_cgroups::set_up_v1(const std::string& controller, const std::string& own_dir,
                            const std::string& slave_key) {
  auto base = fmt::format("{}/claud-{}", own_dir, slave_key);
  if (int error_number = make_dir(base); error_number != 0) {
    append_note(enforcement_.note,
                fmt::format("cgroup v1: cannot create {} ({})", base, std::strerror(error_number)));
    return;
  }
  bool memory = controller == "memory";
  hierarchies_.push_back({base, false, memory, !memory});
}

void job_cgroups::remove_all() {
  namespace fs = std::filesystem;
  for (const auto& h : hierarchies_) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(h.base, ec)) {
      if (!entry.is_directory(ec))
        continue;
      empty_cgroup(entry.path().string());
      ::rmdir(entry.path().c_str());
    }
  }
}

job_cgroup job_cgroups::acquire(int64_t cpu_millis, int64_t memory_bytes) {
  job_cgroup cgroup;
  if (hierarchies_.empty())
    return cgroup;
  // A cgroup is reused rather than made per job: a task's first move into a new cgroup costs
  // milliseconds (measured ~5 ms per hierarchy on cgroup v1), reuse costs microseconds.
  bool fresh = free_.empty();
  cgroup.name = fresh ? fmt::format("job-{}", ++cgroups_made_) : free_.back();
  if (!fresh)
    free_.pop_back();
  const auto memory = memory_bytes > 0 ? std::to_string(memory_bytes) : std::string{"-1"};
  const auto quota
      = cpu_millis > 0
            ? std::to_string(std::max(min_cpu_quota_us, cpu_millis * cpu_period_us / 1000))
            : std::string{"-1"};
  for (const auto& h : hierarchies_) {
    auto dir = h.base + "/" + cgroup.name;
    int error_number = fresh ? make_dir(dir) : 0;
    auto set = [&](const std::string& file, const std::string& value) {
      if (error_number == 0)
        error_number = write_control(dir + "/" + file, value);
    };
    if (h.memory && h.v2) {
      set("memory.max", memory_bytes > 0 ? memory : "max");
      // Optional files: a job over its memory must not swap instead, and ends as a whole.
      write_control(dir + "/memory.swap.max", "0");
      write_control(dir + "/memory.oom.group", "1");
    } else if (h.memory) {
      // memory+swap may never be below memory alone: lift it first, then set both.
      write_control(dir + "/memory.memsw.limit_in_bytes", "-1");
      set("memory.limit_in_bytes", memory);
      write_control(dir + "/memory.memsw.limit_in_bytes", memory);
    }
    if (h.cpu && h.v2) {
      set("cpu.max", fmt::format("{} {}", cpu_millis > 0 ? quota : "max", cpu_period_us));
    } else if (h.cpu) {
      set("cpu.cfs_period_us", std::to_string(cpu_period_us));
      set("cpu.cfs_quota_us", quota);
    }
    if (h.memory)
      cgroup.oom_kills_before = oom_kills(h, cgroup.name);
    unique_fd procs;
    if (error_number == 0) {
      procs.reset(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
      if (!procs.valid())
        error_number = errno;
    }
    if (error_number != 0 && !fresh) {
      // A reused cgroup can refuse a lower memory limit while the last job's page cache is still
      // charged to it: retire it and take another.
      for (const auto& each : hierarchies_)
        ::rmdir((each.base + "/" + cgroup.name).c_str());
      return acquire(cpu_millis, memory_bytes);
    }
    if (error_number != 0) {
      release(cgroup);
      throw std::runtime_error(fmt::format("cannot start job: cannot set up its cgroup {} ({})",
                                           dir, std::strerror(error_number)));
    }
    cgroup.procs_files.push_back(std::move(procs));
  }
  return cgroup;
}

int64_t job_cgroups::oom_kills(const hierarchy& h, const std::string& name) const {
  auto events = read_text(h.base + "/" + name + (h.v2 ? "/memory.events" : "/memory.oom_control"));
  return counter(events, "oom_kill");
}

bool job_cgroups::memory_exceeded(const job_cgroup& cgroup) const {
  for (const auto& h : hierarchies_)
    if (h.memory && !cgroup.name.empty() && oom_kills(h, cgroup.name) > cgroup.oom_kills_before)
      return true;
  return false;
}

void job_cgroups::release(const job_cgroup& cgroup) {
  if (cgroup.name.empty())
    return;
  // A job's processes end with it: what it left behind would use resources now free for others.
  // Killed processes take a moment to leave; such a cgroup is reused once it is empty.
  bool empty = true;
  for (const auto& h : hierarchies_)
    empty = !kill_processes_in(h.base + "/" + cgroup.name) && empty;
  (empty ? free_ : emptying_).push_back(cgroup.name);
}

void job_cgroups::reuse_emptied() {
  auto emptying = std::move(emptying_);
  emptying_.clear();
  for (const auto& name : emptying) {
    job_cgroup cgroup;
    cgroup.name = name;
    release(cgroup);
  }
}

} // namespace claud::proc
