// The io_uring back end under each of its techniques: the conformance suite runs the
// defaults; here every switchable combination (fixed files, SQPOLL, zero-copy send,
// one-shot, no bundles, incremental buffers, a buffer pool small enough to run dry all the
// time) must echo concurrent fragmented streams, survive clients that reset mid-stream,
// half-close correctly, and leave no descriptor, thread, buffer mapping or ring mapping
// behind.
// Exits 77 (meson: SKIP) when io_uring is not built or not available.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <fstream>
#include <thread>

#include "echo/backend.h"
#include "echo_streams.h"
#include "net/socket.h"
#include "ub_config.h"
#if UB_HAVE_URING
#include "echo/uring_probe.h"
#endif

namespace ub::echo {
namespace {

using namespace std::chrono_literals;
using test::run_echo_streams;
using test::StreamOptions;

// 6 MiB of buffers per ring: a multiple of the 2 MiB huge page the pool is aligned to.
constexpr unsigned kCount = 1024;
constexpr size_t kSize = 6144;
constexpr size_t kPoolBytes = kCount * kSize;

struct Variant {
  const char* name;
  UringOptions options;
  bool needs_incremental = false;  // the point of the variant; skipped on kernels without
};

UringOptions with(void (*change)(UringOptions&)) {
  UringOptions o;
  o.buffer_count = kCount;
  o.buffer_size = kSize;
  change(o);
  return o;
}

// The defaults consume buffers incrementally where the kernel can (6.12), else use bundles.
std::vector<Variant> variants() {
  return {
      {"defaults", with([](UringOptions&) {})},
      {"fixed_files", with([](UringOptions& o) { o.fixed_files = true; })},
      {"sqpoll", with([](UringOptions& o) { o.sqpoll = true; })},
      {"zc_send_all", with([](UringOptions& o) {
         o.zc_send = true;
         o.zc_threshold = 1;
       })},
      {"one_shot", with([](UringOptions& o) { o.multishot = false; })},
      {"bundles", with([](UringOptions& o) { o.incremental = false; })},
      {"whole_buffers_no_batch", with([](UringOptions& o) {
         o.incremental = false;
         o.bundle = false;
         o.batch = 1;
       })},
      // Waits never hold a whole last batch (the wait policy before batch_hold_share).
      {"batch_always_half", with([](UringOptions& o) {
         o.batch_hold_share = 0;
         o.batch = 64;
         o.batch_wait_us = 50;
       })},
      {"coop_taskrun_unregistered", with([](UringOptions& o) {
         o.defer_taskrun = false;
         o.register_ring_fd = false;
       })},
      // 16 buffers for 20+ busy connections: receives run dry (ENOBUFS) all the time, and
      // bundles span buffers recycled out of order.
      {"tiny_pool_zc_bundle", with([](UringOptions& o) {
         o.incremental = false;
         o.buffer_count = 16;
         o.buffer_size = 512;
         o.zc_send = true;
         o.zc_threshold = 256;
       })},
      // Incremental consumption: pieces of many connections share a buffer, which goes
      // back only when the kernel is past it and every piece is sent; with a tiny pool the
      // shared buffers run dry, and zero-copy sends hold pieces past their completion.
      {"incremental_tiny_pool_zc", with([](UringOptions& o) {
         o.buffer_count = 16;
         o.buffer_size = 512;
         o.zc_send = true;
         o.zc_threshold = 64;
       }), true},
      {"incremental_one_shot_fixed", with([](UringOptions& o) {
         o.multishot = false;
         o.fixed_files = true;
       }), true},
  };
}

std::string join(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

// From /proc/self/smaps: the io_uring ring mappings ("anon_inode:[io_uring]") and the
// bytes under MADV_HUGEPAGE ("hg" in VmFlags), which is how the buffer ring maps its pool.
struct Mappings {
  int rings = 0;
  size_t huge_advised = 0;
};

Mappings mappings() {
  Mappings m;
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  size_t size = 0;
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    char dash = 0;
    if (std::sscanf(line.c_str(), "%lx%c%lx", &begin, &dash, &end) == 3 && dash == '-') {
      size = end - begin;
      if (line.find("io_uring") != std::string::npos) ++m.rings;
    } else if (line.rfind("VmFlags:", 0) == 0 && (line + " ").find(" hg ") != std::string::npos) {
      m.huge_advised += size;
    }
  }
  return m;
}

class UringVariants : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
#if UB_HAVE_URING
    const std::string why = probe_uring().backend_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << "io_uring unavailable: " << why;
    if (GetParam().needs_incremental && !probe_uring().incremental_buffers) {
      GTEST_SKIP() << "no incrementally consumed buffer rings here (IOU_PBUF_RING_INC, Linux 6.12)";
    }
#else
    GTEST_SKIP() << "built without liburing";
#endif
  }
};

TEST_P(UringVariants, EchoesResetsHalfClosesAndLeavesNothingBehind) {
  const size_t threads_before = test::count_threads();
  const size_t fds_before = test::count_open_fds();
  const Mappings maps_before = mappings();

  auto made = make_backend("uring");
  ASSERT_TRUE(made.ok()) << made.error().message();
  auto& server = *made;
  ServerConfig config;
  config.threads = 2;
  config.uring = GetParam().options;
  ASSERT_FALSE(server->start(config));
  const Mappings maps_running = mappings();
  EXPECT_GT(maps_running.rings, maps_before.rings) << "no ring mapping found to watch";
  if (config.uring.buffer_count == kCount) {
    EXPECT_EQ(maps_running.huge_advised, maps_before.huge_advised + 2 * kPoolBytes)
        << "one buffer pool per ring";
  }

  // Streams in small fragments, while other clients send junk and reset.
  std::vector<std::string> failures;
  std::thread streams([&] {
    StreamOptions options;
    options.payload = 256 << 10;
    options.max_fragment = 3000;
    failures = run_echo_streams(server->local_endpoint(), 24, options);
  });
  for (int i = 0; i < 12; ++i) {
    auto fd = test::connect_or_fail(server->local_endpoint());
    ASSERT_TRUE(fd);
    const std::string junk(100 << 10, 'r');
    (void)net::send_all(fd.get(), std::as_bytes(std::span(junk)));
    linger abort_on_close{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  }
  streams.join();
  EXPECT_EQ(join(failures), "");

  StreamOptions half;
  half.payload = 1 << 20;
  half.half_close = true;
  EXPECT_EQ(join(run_echo_streams(server->local_endpoint(), 4, half)), "");

  server->stop();
  // An SQPOLL thread leaves with its ring, which the kernel tears down in the background.
  for (int i = 0; i < 100 && test::count_threads() != threads_before; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(test::count_threads(), threads_before);
  EXPECT_EQ(test::count_open_fds(), fds_before);
  const Mappings maps_after = mappings();
  EXPECT_EQ(maps_after.rings, maps_before.rings) << "a ring is still mapped";
  EXPECT_EQ(maps_after.huge_advised, maps_before.huge_advised) << "a buffer pool is still mapped";
  const auto stats = server->stats();
  EXPECT_EQ(stats.connections_open, 0u);
  EXPECT_GE(stats.connections_accepted, 24u + 12u + 4u);
}

INSTANTIATE_TEST_SUITE_P(Options, UringVariants, ::testing::ValuesIn(variants()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ub::echo

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
#if UB_HAVE_URING
  const std::string why = ub::echo::probe_uring().backend_unavailable_reason();
  if (!why.empty()) {
    std::printf("SKIP: io_uring unavailable: %s\n", why.c_str());
    return 77;
  }
#else
  std::printf("SKIP: built without liburing\n");
  return 77;
#endif
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
