/*
 * Preloaded in front of libfaketime (LD_PRELOAD=faketime-fix.so:libfaketime.so.1) by the harness's
 * FakeClock, which moves a process's wall clock and leaves its monotonic clocks alone
 * (FAKETIME_DONT_FAKE_MONOTONIC=1), as a real machine does when its wall clock is set.
 *
 * libfaketime 0.9.10 turns an absolute deadline given to clock_nanosleep() into "its start time +
 * (deadline - fake wall time)" whatever the clock, and one given to timerfd_settime() likewise once
 * the clock has moved. On CLOCK_MONOTONIC or CLOCK_BOOTTIME, which it does not fake, that is a
 * negative time and the call fails with EINVAL. Python 3.11+ sleeps with an absolute monotonic
 * clock_nanosleep (time.sleep raises OSError 22); event loops such as systemd's sd-event arm
 * absolute monotonic timerfds. Such a deadline is already on the real clock: this shim hands it to
 * the C library's own function, unchanged, so POSIX's semantics stay exact (EINTR, no remaining
 * time for absolute sleeps, cancellation points). Every other call goes on to libfaketime.
 *
 * Build: cc -shared -fPIC -O2 -o faketime-fix.so faketime-fix.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);
typedef int (*timerfd_settime_fn)(int, int, const struct itimerspec *, struct itimerspec *);

/* The C library's own functions (below libfaketime), and the next ones in line (libfaketime's). */
static clock_nanosleep_fn libc_clock_nanosleep, next_clock_nanosleep;
static timerfd_settime_fn libc_timerfd_settime, next_timerfd_settime;

__attribute__((constructor)) static void resolve(void) {
  /* Looked up in a handle on libc itself, a name finds libc's definition, not libfaketime's. */
  void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  libc_clock_nanosleep = libc ? (clock_nanosleep_fn)dlsym(libc, "clock_nanosleep") : NULL;
  libc_timerfd_settime = libc ? (timerfd_settime_fn)dlsym(libc, "timerfd_settime") : NULL;
  next_clock_nanosleep = (clock_nanosleep_fn)dlsym(RTLD_NEXT, "clock_nanosleep");
  next_timerfd_settime = (timerfd_settime_fn)dlsym(RTLD_NEXT, "timerfd_settime");
  /* Without glibc's handle (another C library), the next ones are all there is. */
  if (!libc_clock_nanosleep) libc_clock_nanosleep = next_clock_nanosleep;
  if (!libc_timerfd_settime) libc_timerfd_settime = next_timerfd_settime;
}

/* The clocks libfaketime leaves alone under FAKETIME_DONT_FAKE_MONOTONIC=1. */
static int is_real_clock(clockid_t clock) {
  return clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME || clock == CLOCK_BOOTTIME_ALARM;
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *request, struct timespec *remain) {
  if (!next_clock_nanosleep) resolve(); /* called by a constructor that ran before ours */
  int real = (flags & TIMER_ABSTIME) && is_real_clock(clock);
  return (real ? libc_clock_nanosleep : next_clock_nanosleep)(clock, flags, request, remain);
}

/* A timerfd's clock, which the kernel shows in /proc/self/fdinfo; -1 when it cannot be read. */
static clockid_t timerfd_clock(int fd) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int info = open(path, O_RDONLY | O_CLOEXEC);
  if (info < 0) return -1;
  ssize_t length = read(info, text, sizeof text - 1);
  close(info);
  if (length <= 0) return -1;
  text[length] = '\0';
  const char *line = strstr(text, "clockid:");
  return line ? (clockid_t)atoi(line + strlen("clockid:")) : -1;
}

int timerfd_settime(int fd, int flags, const struct itimerspec *value, struct itimerspec *old) {
  if (!next_timerfd_settime) resolve();
  int real = (flags & TFD_TIMER_ABSTIME) && is_real_clock(timerfd_clock(fd));
  return (real ? libc_timerfd_settime : next_timerfd_settime)(fd, flags, value, old);
}
