#include "proc/spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "log/printable.hpp"
#include "os/unique_fd.hpp"

extern char** environ;

namespace claud::proc {

namespace {

// Opens close-on-exec, so threads spawning concurrently never inherit it, and above 2, so the dup2
// actions that install stdin/stdout/stderr cannot overwrite a descriptor they still need to copy
// (possible only if the slave runs with 0, 1 or 2 closed). Returns an invalid fd with errno set.
unique_fd open_for_child(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  unique_fd result{fd};
  if (result.valid() && result.get() <= STDERR_FILENO) {
    int moved = ::fcntl(result.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int saved_errno = errno;
    result.reset(moved);
    errno = saved_errno;
  }
  return result;
}

unique_fd open_output(const std::string& path) {
  auto fd = open_for_child(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!fd.valid())
    throw spawn_error(fmt::format("cannot open output file {} ({})", path, std::strerror(errno)));
  return fd;
}

// Opening the directory here (and entering it in the child with fchdir) leaves the exec as the only
// step in the child that is likely to fail, so a failure there is about the command.
unique_fd open_working_dir(const std::string& path) {
  auto fd = open_for_child(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (!fd.valid() || ::access(path.c_str(), X_OK) != 0)
    throw spawn_error(fmt::format("cannot start job: working directory {} cannot be used ({})",
                                  path, std::strerror(errno)));
  return fd;
}

/// The name of a NAME=VALUE entry, with its '='.
std::string_view env_name_of(std::string_view entry) {
  auto equals = entry.find('=');
  return equals == std::string_view::npos ? entry : entry.substr(0, equals + 1);
}

/// `environ` with each of `overrides` (NAME=VALUE) replacing its name's entry or added after
/// them, a later override of a name winning; null-terminated, pointing into environ and
/// `overrides`.
std::vector<char*> merged_environment(std::vector<std::string>& overrides) {
  std::unordered_map<std::string_view, size_t> last; // each name's winning override
  for (size_t i = 0; i < overrides.size(); ++i)
    last[env_name_of(overrides[i])] = i;
  std::vector<char*> envp;
  for (char** var = environ; *var != nullptr; ++var)
    if (last.count(env_name_of(*var)) == 0)
      envp.push_back(*var);
  for (size_t i = 0; i < overrides.size(); ++i)
    if (last.at(env_name_of(overrides[i])) == i)
      envp.push_back(overrides[i].data());
  envp.push_back(nullptr);
  return envp;
}

bool is_regular_file(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

/// The candidates execvp would try for `command`, in order: the command itself when it names a
/// path, else each directory of PATH (an empty entry is the current directory).
std::vector<std::string> exec_candidates(const std::string& command) {
  if (command.find('/') != std::string::npos)
    return {command};
  const char* path_env = std::getenv("PATH");
  std::string search_path = path_env != nullptr ? path_env : "/bin:/usr/bin";
  std::vector<std::string> candidates;
  size_t begin = 0;
  while (begin <= search_path.size()) {
    size_t end = search_path.find(':', begin);
    if (end == std::string::npos)
      end = search_path.size();
    std::string dir = search_path.substr(begin, end - begin);
    candidates.push_back((dir.empty() ? std::string{"."} : dir) + "/" + command);
    begin = end + 1;
  }
  return candidates;
}

// Mirrors execvp's search to tell "no such command" from "the command exists but its #!
// interpreter or ELF loader does not": execve reports ENOENT for both.
std::string find_command(const std::string& command) {
  for (const auto& candidate : exec_candidates(command))
    if (is_regular_file(candidate))
      return candidate;
  return {};
}

std::string exec_failure_message(const std::string& command_bytes, int error_number) {
  const char* reason = std::strerror(error_number);
  // The reason travels in protobuf string fields and is shown to people: UTF-8, bytes escaped.
  const auto command = log::printable(command_bytes);
  switch (error_number) {
  case ENOENT: {
    auto found = find_command(command_bytes);
    if (!found.empty())
      return fmt::format("cannot start job: '{}' exists but its interpreter (#! line) or "
                         "loader is missing ({})",
                         log::printable(found), reason);
    if (command.find('/') != std::string::npos)
      return fmt::format("cannot start job: command '{}' not found", command);
    return fmt::format("cannot start job: command '{}' not found in PATH", command);
  }
  case EACCES:
    return fmt::format("cannot start job: '{}' is not executable ({})", command, reason);
  case ENOEXEC:
    return fmt::format("cannot start job: '{}' is not a program; a script needs a '#!' line "
                       "({})",
                       command, reason);
  case EAGAIN:
  case ENOMEM:
    return fmt::format("cannot start job: no resources for a new process ({})", reason);
  default:
    return fmt::format("cannot start job: cannot run '{}' ({})", command, reason);
  }
}

// The steps of the child between clone and exec, named in the error when one fails.
enum class child_step {
  none,
  process_group,
  cgroup,
  descriptors,
  descriptor_limit,
  working_dir,
  identity,
  input,
  exec
};

// The descriptor limit jobs start with, once raise_descriptor_limit() has raised the slave's own.
bool jobs_get_original_limit = false;
rlimit job_descriptor_limit{};

// Everything the child needs, prepared by the parent. Between clone and exec the child shares the
// parent's memory and runs on its own small stack, so it only makes system calls: no allocation,
// no locks, nothing that could wait for another thread of the slave.
struct child_plan {
  std::vector<const char*> candidates; // paths to execve, in order
  char* const* argv = nullptr;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int dir_fd = -1;
  const char* stdin_path = nullptr; // opened in the child over /dev/null when not null
  const std::vector<int>* cgroup_fds = nullptr;
  const rlimit* descriptor_limit = nullptr; // set in the child when not null
  const job_identity* identity = nullptr;   // taken in the child when not null
  char* const* envp = nullptr;
  // Written by the child when a step fails; read by the parent once the child has exec'd or
  // exited (CLONE_VFORK suspends the parent's thread until then).
  child_step failed_step = child_step::none;
  int error_number = 0;
};

int fail(child_plan& plan, child_step step) {
  plan.failed_step = step;
  plan.error_number = errno;
  ::_exit(127);
}

/// Opens `path` as the child's standard input, with only system calls (see child_plan). A FIFO
/// is opened without waiting for a writer (the parent's thread waits for this child), then read
/// as usual; a directory is refused.
bool open_input(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return false;
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    return false;
  if (S_ISDIR(info.st_mode)) {
    errno = EISDIR;
    return false;
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    return false;
  return ::dup2(fd, STDIN_FILENO) >= 0 && ::close(fd) == 0;
}

int run_child(void* argument) {
  auto& plan = *static_cast<child_plan*>(argument);
  // Process group 0 means "the child's own pid": the job leads a fresh group.
  if (::setpgid(0, 0) != 0)
    return fail(plan, child_step::process_group);
  // Joining before exec: everything the job does, from its first allocation, counts.
  for (int fd : *plan.cgroup_fds)
    if (::write(fd, "0", 1) != 1)
      return fail(plan, child_step::cgroup);
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.stdout_fd, STDOUT_FILENO) < 0
      || ::dup2(plan.stderr_fd, STDERR_FILENO) < 0)
    return fail(plan, child_step::descriptors);
  if (plan.descriptor_limit != nullptr && ::setrlimit(RLIMIT_NOFILE, plan.descriptor_limit) != 0)
    return fail(plan, child_step::descriptor_limit);
  if (plan.dir_fd >= 0 && ::fchdir(plan.dir_fd) != 0)
    return fail(plan, child_step::working_dir);
  // Groups first, the uid last: once the uid is dropped the others can no longer change.
  if (const auto* who = plan.identity; who != nullptr
                                       && (::setgroups(who->groups.size(), who->groups.data()) != 0
                                           || ::setgid(who->gid) != 0 || ::setuid(who->uid) != 0))
    return fail(plan, child_step::identity);
  if (plan.stdin_path != nullptr && !open_input(plan.stdin_path))
    return fail(plan, child_step::input);
  // Descriptors opened without O_CLOEXEC elsewhere in the slave (by libraries) must not leak into
  // jobs: they would keep sockets and files open for as long as the job runs.
  ::close_range(STDERR_FILENO + 1, ~0U, 0);
  // Nothing the slave blocks or handles leaks into the job. The parent blocked every signal
  // around clone, so no handler of the slave can run here before this.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal)
    ::sigaction(signal, &default_action, nullptr); // fails harmlessly for SIGKILL, SIGSTOP
  sigset_t empty_set;
  sigemptyset(&empty_set);
  ::sigprocmask(SIG_SETMASK, &empty_set, nullptr);
  // execvp's search: a candidate that is missing or not executable lets the next one try; "not
  // executable" wins over "missing" in the error, as with execvp.
  int error_number = ENOENT;
  for (const char* path : plan.candidates) {
    ::execve(path, plan.argv, plan.envp);
    if (errno == EACCES)
      error_number = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) {
      error_number = errno;
      break;
    }
  }
  errno = error_number;
  return fail(plan, child_step::exec);
}

/// A stack for the child, reused by every spawn on this thread. The child's frames are few and
/// small; the kernel's exec copies arguments from the caller's memory, not onto this stack.
char* child_stack_top() {
  constexpr size_t stack_bytes = 64 * 1024;
  thread_local std::unique_ptr<char[]> stack{new char[stack_bytes]};
  return stack.get() + stack_bytes;
}

/// clone with CLONE_VM | CLONE_VFORK, as glibc's posix_spawn does, with every signal blocked in
/// this thread meanwhile. Returns the child's pid, or -1 with errno set.
pid_t clone_child(child_plan& plan) {
  sigset_t all_signals;
  sigset_t previous;
  sigfillset(&all_signals);
  ::pthread_sigmask(SIG_SETMASK, &all_signals, &previous);
  pid_t pid = ::clone(run_child, child_stack_top(), CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  int saved_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = saved_errno;
  return pid;
}

std::string child_failure_message(const spawn_request& request, const child_plan& plan) {
  const char* reason = std::strerror(plan.error_number);
  switch (plan.failed_step) {
  case child_step::exec:
    return exec_failure_message(request.argv.front(), plan.error_number);
  case child_step::cgroup:
    return fmt::format("cannot start job: cannot move it into its cgroup ({})", reason);
  case child_step::process_group:
    return fmt::format("cannot start job: cannot give it a process group ({})", reason);
  case child_step::working_dir:
    return fmt::format("cannot start job: cannot enter working directory {} ({})",
                       request.working_dir, reason);
  case child_step::input:
    return fmt::format("cannot start job: cannot read {} as its standard input ({})",
                       request.stdin_path, reason);
  case child_step::descriptor_limit:
    return fmt::format("cannot start job: cannot set its limit on open files ({})", reason);
  case child_step::identity:
    return fmt::format("cannot start job: cannot run it as user {} ({})", request.identity->user,
                       reason);
  default:
    return fmt::format("cannot start job: cannot set up its output ({})", reason);
  }
}

} // namespace

pid_t spawn_process(const spawn_request& request) {
  if (request.argv.empty() || request.argv.front().empty())
    throw std::invalid_argument("spawn_process: argv must name a command");
  if ((request.stdout_path.empty() && request.stdout_fd < 0)
      || (request.stderr_path.empty() && request.stderr_fd < 0))
    throw std::invalid_argument(
        "spawn_process: stdout and stderr each need a path or a descriptor");
  if ((request.stdout_fd >= 0 && request.stdout_fd <= STDERR_FILENO)
      || (request.stderr_fd >= 0 && request.stderr_fd <= STDERR_FILENO))
    throw std::invalid_argument("spawn_process: output descriptors must be above 2");

  auto stdin_fd = open_for_child("/dev/null", O_RDONLY);
  if (!stdin_fd.valid())
    throw spawn_error(
        fmt::format("cannot start job: cannot open /dev/null ({})", std::strerror(errno)));
  unique_fd stdout_file;
  if (request.stdout_fd < 0)
    stdout_file = open_output(request.stdout_path);
  const int stdout_fd = request.stdout_fd >= 0 ? request.stdout_fd : stdout_file.get();
  // Two opens of one file would have two offsets and overwrite each other's output.
  unique_fd stderr_file;
  if (request.stderr_fd < 0 && request.stderr_path != request.stdout_path)
    stderr_file = open_output(request.stderr_path);
  const int stderr_fd = request.stderr_fd >= 0 ? request.stderr_fd
                        : stderr_file.valid()  ? stderr_file.get()
                                               : stdout_fd;
  unique_fd dir_fd;
  if (!request.working_dir.empty())
    dir_fd = open_working_dir(request.working_dir);

  auto candidates = exec_candidates(request.argv.front());
  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const auto& arg : request.argv)
    argv.push_back(const_cast<char*>(arg.c_str())); // execve does not write to argv
  argv.push_back(nullptr);

  // The slave's environment, but for who the job is when it runs as another user, and with what
  // the job sets; the slave's own, untouched, when neither applies (the common, fast case).
  std::vector<std::string> own_environment;
  if (request.identity != nullptr)
    own_environment = {"HOME=" + request.identity->home, "USER=" + request.identity->user,
                       "LOGNAME=" + request.identity->user};
  own_environment.insert(own_environment.end(), request.environment.begin(),
                         request.environment.end());
  std::vector<char*> envp;
  if (!own_environment.empty())
    envp = merged_environment(own_environment);

  child_plan plan;
  plan.identity = request.identity;
  plan.envp = envp.empty() ? environ : envp.data();
  for (const auto& candidate : candidates)
    plan.candidates.push_back(candidate.c_str());
  plan.argv = argv.data();
  plan.stdin_fd = stdin_fd.get();
  plan.stdout_fd = stdout_fd;
  plan.stderr_fd = stderr_fd;
  plan.dir_fd = dir_fd.valid() ? dir_fd.get() : -1;
  plan.stdin_path = request.stdin_path.empty() ? nullptr : request.stdin_path.c_str();
  plan.cgroup_fds = &request.join_cgroups;
  plan.descriptor_limit = jobs_get_original_limit ? &job_descriptor_limit : nullptr;

  pid_t pid = clone_child(plan);
  if (pid < 0)
    throw spawn_error(exec_failure_message(request.argv.front(), errno));
  if (plan.failed_step != child_step::none) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw spawn_error(child_failure_message(request, plan));
  }
  return pid;
}

rlim_t raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    throw std::system_error(errno, std::generic_category(), "getrlimit(RLIMIT_NOFILE)");
  if (limit.rlim_cur == limit.rlim_max)
    return limit.rlim_cur;
  job_descriptor_limit = limit;
  jobs_get_original_limit = true;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    throw std::system_error(errno, std::generic_category(), "setrlimit(RLIMIT_NOFILE)");
  return limit.rlim_cur;
}

bool signal_process_group(pid_t pid, int signal) {
  if (pid <= 1)
    throw std::invalid_argument(
        fmt::format("signal_process_group: pid {} does not name a job's process group", pid));
  if (::kill(-pid, signal) == 0)
    return true;
  if (errno == ESRCH)
    return false;
  throw std::system_error(errno, std::generic_category(),
                          fmt::format("cannot send signal {} to process group {}", signal, pid));
}

} // namespace claud::proc
