#pragma once
// A scriptable Engine for pool and deadline tests, so they need no DNS at all.
// Query text: "sleep:MS" answers after MS ms; "block" waits until release() (at most
// 10 s); "fail" fails with kHostNotFound; "throw" throws; anything else answers at once
// with the text as the name.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "resolve/engine.h"
#include "resolve/errors.h"

namespace ub::resolve::testing {

class FakeEngine : public Engine {
 public:
  std::string_view name() const override { return "fake"; }

  Outcome resolve(const Query& q) override {
    Outcome o;
    if (q.text.rfind("sleep:", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(q.text.substr(6))));
    } else if (q.text == "block") {
      std::unique_lock lock(mu_);
      ++blocked_;
      cv_.wait_for(lock, std::chrono::seconds(10), [&] { return released_; });
      --blocked_;
    } else if (q.text == "fail") {
      o.error = make_error_code(Error::kHostNotFound);
      return o;
    } else if (q.text == "throw") {
      throw std::runtime_error("fake engine failure");
    }
    o.answer.name = q.text;
    return o;
  }

  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  int blocked() {
    std::lock_guard lock(mu_);
    return blocked_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int blocked_ = 0;
};

}  // namespace ub::resolve::testing
