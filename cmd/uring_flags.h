#pragma once
// The io_uring back end's technique flags, shared by echo_server and bench_echo so both
// spell them the same way: every technique can be switched on (--uring-X) and off
// (--no-uring-X), as liburing's proxy example lets its users do.

#include <CLI/CLI.hpp>

#include <charconv>
#include <string>

#include "echo/backend.h"
#include "ub_config.h"
#if UB_HAVE_URING
#include "echo/uring_probe.h"
#endif

namespace ub::cli {

struct UringFlags {
  echo::UringOptions options;
  std::string buffers;  // --uring-buffers=COUNTxSIZE, parsed by finish_uring_flags()
};

inline void add_uring_flags(CLI::App& app, UringFlags& f) {
  auto& o = f.options;
  const std::string group = "io_uring back end";
  auto toggle = [&](const std::string& name, bool& value, const std::string& help) {
    app.add_flag("--uring-" + name + ",!--no-uring-" + name, value,
                 help + (value ? " (default: on)" : " (default: off)"))
        ->group(group);
  };
  toggle("multishot", o.multishot, "multishot accept and recv (off: one shot, re-armed)");
  toggle("defer-taskrun", o.defer_taskrun, "set the ring up with SINGLE_ISSUER|DEFER_TASKRUN");
  toggle("register-ring-fd", o.register_ring_fd, "register the ring fd (io_uring_enter)");
  toggle("fixed-files", o.fixed_files, "direct descriptors: accept into the ring's file table");
  toggle("sqpoll", o.sqpoll, "a kernel thread polls the submission queue");
  toggle("bundle", o.bundle, "recv bundles (Linux 6.10): one completion, several buffers");
  toggle("incremental", o.incremental,
         "receives fill provided buffers back to back (Linux 6.12; turns bundles off)");
  toggle("zc-send", o.zc_send, "zero-copy send for sends of --uring-zc-threshold bytes or more");
  app.add_option("--uring-zc-threshold", o.zc_threshold, "smallest zero-copy send, bytes")
      ->capture_default_str()
      ->group(group);
  f.buffers = std::to_string(o.buffer_count) + "x" + std::to_string(o.buffer_size);
  app.add_option("--uring-buffers", f.buffers,
                 "provided buffers per ring: COUNTxSIZE (COUNT a power of two <= 32768)")
      ->capture_default_str()
      ->group(group);
  app.add_option("--uring-batch", o.batch,
                 "most completions one wait asks for; 1: wake on every completion")
      ->capture_default_str()
      ->check(CLI::Range(1u, 16384u))
      ->group(group);
  app.add_option("--uring-batch-wait", o.batch_wait_us,
                 "longest a finished completion waits for its batch, microseconds")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u))
      ->group(group);
  app.add_option("--uring-recv-cap", o.recv_cap,
                 "end a multishot recv after N byte budgets less what is held (Linux 6.17; "
                 "0: no cap): bounds what a non-reading client pulls into the pool")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1024u))
      ->group(group);
  app.add_option("--uring-batch-hold", o.batch_hold_share,
                 "a wait asks for as many completions as the last batch had while that batch "
                 "was at most 1/N of the ring's connections, else half; 0: always half")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u))
      ->group(group);
}

// Parses --uring-buffers into the options; "" or an error message.
inline std::string finish_uring_flags(UringFlags& f) {
  const std::string& t = f.buffers;
  const auto x = t.find('x');
  unsigned count = 0;
  size_t size = 0;
  const bool ok =
      x != std::string::npos &&
      std::from_chars(t.data(), t.data() + x, count).ptr == t.data() + x &&
      std::from_chars(t.data() + x + 1, t.data() + t.size(), size).ptr == t.data() + t.size();
  if (!ok || count == 0 || count > 32768 || (count & (count - 1)) != 0 || size < 64 ||
      size > (1u << 20)) {
    return "--uring-buffers: '" + t +
           "' is not COUNTxSIZE with COUNT a power of two up to 32768 and SIZE 64 B-1 MiB";
  }
  f.options.buffer_count = count;
  f.options.buffer_size = size;
  return "";
}

// The probe in one line, or why there is none.
inline std::string uring_probe_text() {
#if UB_HAVE_URING
  return echo::to_string(echo::probe_uring());
#else
  return "io_uring: built without liburing";
#endif
}

}  // namespace ub::cli
