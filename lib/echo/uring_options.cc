#include "echo/uring_options.h"

#include <CLI/CLI.hpp>
#include <charconv>

namespace ub::echo {

std::string UringOptions::validate() const {
  if (buffer_count == 0 || buffer_count > 32768 || (buffer_count & (buffer_count - 1)) != 0) {
    return "the provided-buffer count must be a power of two up to 32768, not " +
           std::to_string(buffer_count);
  }
  if (buffer_size < 64 || buffer_size > (size_t{1} << 20)) {
    return "a provided buffer must hold 64 B to 1 MiB, not " + std::to_string(buffer_size);
  }
  if (batch == 0) return "the batch must be at least one completion";
  return "";
}

std::string to_string(const UringOptions& o) {
  std::string s;
  auto add = [&s](const char* name, bool on) {
    s += (s.empty() ? "" : ",") + std::string(on ? "" : "no-") + name;
  };
  add("multishot", o.multishot);
  add("defer_taskrun", o.defer_taskrun);
  add("register_ring_fd", o.register_ring_fd);
  add("fixed_files", o.fixed_files);
  add("sqpoll", o.sqpoll);
  add("bundle", o.bundle);
  add("incremental", o.incremental);
  add("zc_send", o.zc_send);
  if (o.zc_send) s += ">=" + std::to_string(o.zc_threshold);
  s += ",buffers=" + std::to_string(o.buffer_count) + "x" + std::to_string(o.buffer_size);
  s += ",batch=" + std::to_string(o.batch) + "/" + std::to_string(o.batch_wait_us) + "us";
  s += ",hold=1/" + std::to_string(o.batch_hold_share);
  if (o.recv_cap != 0) s += ",recv_cap=" + std::to_string(o.recv_cap);
  return s;
}

std::vector<CLI::Option*> UringFlags::add_flags(CLI::App& app) {
  auto& o = options_;
  const std::string group = "io_uring back end (--backend=uring)";
  std::vector<CLI::Option*> added;
  auto toggle = [&](const std::string& name, bool& value, const std::string& help) {
    added.push_back(app.add_flag("--uring-" + name + ",!--no-uring-" + name, value,
                                 help + (value ? " (default: on)" : " (default: off)"))
                        ->group(group));
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
  added.push_back(
      app.add_option("--uring-zc-threshold", o.zc_threshold, "smallest zero-copy send, bytes")
          ->capture_default_str()
          ->check(CLI::Range(size_t{1}, size_t{64} << 20))
          ->group(group));
  buffers_ = std::to_string(o.buffer_count) + "x" + std::to_string(o.buffer_size);
  added.push_back(app.add_option("--uring-buffers", buffers_,
                                 "provided buffers per ring: COUNTxSIZE (COUNT a power of two "
                                 "<= 32768, SIZE 64 B-1 MiB)")
                      ->capture_default_str()
                      ->group(group));
  // A count with a range, shown with its default.
  auto count = [&](const std::string& name, unsigned& value, unsigned min, unsigned max,
                   const std::string& help) {
    added.push_back(app.add_option("--uring-" + name, value, help)
                        ->capture_default_str()
                        ->check(CLI::Range(min, max))
                        ->group(group));
  };
  count("batch", o.batch, 1, 16384,
        "most completions one wait asks for; 1: wake on every completion");
  count("batch-wait", o.batch_wait_us, 0, 1000000,
        "longest a finished completion waits for its batch, microseconds");
  count("recv-cap", o.recv_cap, 0, 1024,
        "end a multishot recv after N byte budgets less what is held (Linux 6.17; 0: no cap): "
        "bounds what a non-reading client pulls into the pool");
  count("batch-hold", o.batch_hold_share, 0, 1000000,
        "a wait asks for as many completions as the last batch had while that batch was at "
        "most 1/N of the ring's connections, else half; 0: always half");
  return added;
}

std::string UringFlags::finish() {
  const std::string& t = buffers_;
  const auto x = t.find('x');
  unsigned count = 0;
  size_t size = 0;
  const bool parsed =
      x != std::string::npos &&
      std::from_chars(t.data(), t.data() + x, count).ptr == t.data() + x &&
      std::from_chars(t.data() + x + 1, t.data() + t.size(), size).ptr == t.data() + t.size();
  if (!parsed) return "--uring-buffers: '" + t + "' is not COUNTxSIZE";
  UringOptions candidate = options_;
  candidate.buffer_count = count;
  candidate.buffer_size = size;
  if (auto why = candidate.validate(); !why.empty()) {
    return "--uring-buffers: '" + t + "': " + why;
  }
  options_ = candidate;
  return "";
}

std::vector<BackendOptions::Variant> UringFlags::extra_variants() const {
  // Steps that are not one switch flipped: a value changed, or two switches together.
  return {
      {"no-batch", {"--uring-batch=1"}},
      {"no-batch-hold", {"--uring-batch-hold=0"}},
      {"no-incremental-no-bundle", {"--no-uring-incremental", "--no-uring-bundle"}},
      {"buffers-1024x4096", {"--uring-buffers=1024x4096"}},
      // The switch alone keeps the 16 KiB threshold: small messages would not use it.
      {"zc-send-all-sizes", {"--uring-zc-send", "--uring-zc-threshold=1"}},
  };
}

}  // namespace ub::echo
