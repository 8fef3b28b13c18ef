#pragma once
// The io_uring back end's settings: each technique switchable so its effect can be measured
// (results/README.md, "io_uring ablation"). The defaults are the fastest correct
// combination measured on the project's 2-vCPU VMs; a technique the kernel lacks
// (probe_uring()) is left out, not an error.

#include <cstddef>
#include <memory>
#include <string>

#include "echo/backend_options.h"

namespace ub::echo {

struct UringOptions {
  bool multishot = true;         // multishot accept and recv (else one shot, re-armed each time)
  bool defer_taskrun = true;     // try SINGLE_ISSUER|DEFER_TASKRUN before COOP_TASKRUN
  bool register_ring_fd = true;  // io_uring_register_ring_fd
  bool fixed_files = false;      // direct descriptors: accepted sockets live in the ring's table
  bool sqpoll = false;           // a kernel thread polls the submission queue
  bool bundle = true;            // recv bundles: one completion may fill several buffers
  bool incremental = true;       // receives fill buffers back to back (then no bundles)
  bool zc_send = false;          // zero-copy send for sends of zc_threshold bytes or more
  size_t zc_threshold = 16 * 1024;
  unsigned buffer_count = 4096;   // provided buffers per ring (a power of two, <= 32768)
  size_t buffer_size = 4096;      // bytes per provided buffer (64 B - 1 MiB)
  unsigned batch = 256;           // most completions one wait asks for (1: wake on every one)
  unsigned batch_wait_us = 100;   // longest a finished completion waits for its batch
  unsigned batch_hold_share = 8;  // ask for a whole last batch while it was <= 1/N of the
                                  // connections, else half of it (0: always half)
  // A multishot recv ends after N byte budgets (--buffer-size) less what the connection
  // holds (Linux 6.17; 0: no cap). Bounds what a client that never reads pulls into the
  // pool in one batch; each end costs a re-arm.
  unsigned recv_cap = 0;

  // "" when these settings can run, else what is wrong (the buffer pool's shape).
  std::string validate() const;
};

// "multishot,defer_taskrun,...,buffers=4096x4096,batch=256/100us,hold=1/8": for result
// files.
std::string to_string(const UringOptions& o);

// The flags: every technique can be switched on (--uring-X) and off (--no-uring-X), as
// liburing's proxy example lets its users do.
class UringFlags final : public BackendOptions {
 public:
  const UringOptions& options() const { return options_; }
  std::vector<CLI::Option*> add_flags(CLI::App& app) override;
  std::string finish() override;
  std::string describe() const override { return to_string(options_); }
  std::vector<Variant> extra_variants() const override;

 private:
  UringOptions options_;
  std::string buffers_;  // --uring-buffers=COUNTxSIZE, parsed by finish()
};

}  // namespace ub::echo
