#pragma once

#include <unistd.h>

#include <utility>

namespace claud::storage {

/// Owns one file descriptor and closes it once, so that every early return and every exception in
/// this folder releases what it opened. (src/proc has its own: storage must not depend on proc.)
class owned_fd {
public:
  owned_fd() noexcept = default;

  explicit owned_fd(int fd) noexcept : fd_(fd) {
    // nop
  }

  owned_fd(owned_fd&& other) noexcept : fd_(other.release()) {
    // nop
  }

  owned_fd& operator=(owned_fd&& other) noexcept {
    if (this != &other)
      reset(other.release());
    return *this;
  }

  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;

  ~owned_fd() {
    reset();
  }

  int get() const noexcept {
    return fd_;
  }

  bool valid() const noexcept {
    return fd_ >= 0;
  }

  int release() noexcept {
    return std::exchange(fd_, -1);
  }

  // close() is not retried on EINTR: on Linux the descriptor is released even then. Its other
  // errors are ignored on purpose: durability is only ever promised by an fsync that succeeded.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

} // namespace claud::storage
