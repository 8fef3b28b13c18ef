#include "resolve/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <deque>
#include <new>

#include "resolve/errors.h"

namespace ub::resolve::detail {

struct WorkerPool::State {
  std::shared_ptr<Engine> engine;
  mutable std::mutex mu;
  std::condition_variable work_cv;
  std::condition_variable exit_cv;
  std::deque<std::shared_ptr<Task>> queue;
  int target = 0;
  int max_threads = 0;
  int live = 0;
  int stalled = 0;
  int idle = 0;
  bool stopping = false;
  // Threads are joinable so that the pool's end waits for glibc to free each thread's
  // resolver state (it does so as the thread exits, after worker_main returns). `running`
  // holds the threads not yet out of worker_main, `exited` those out but not yet joined.
  // Once the pool is gone (`abandoned`), the threads still in glibc were detached.
  std::vector<pthread_t> running;
  std::vector<pthread_t> exited;
  bool abandoned = false;
  uint64_t spawned = 0;
  uint64_t replacements = 0;
};

namespace {

using State = WorkerPool::State;

// glibc's NSS modules keep sizeable buffers on the stack; 512 KiB leaves ample room.
constexpr size_t kWorkerStack = 512 * 1024;
constexpr auto kStopWait = std::chrono::seconds(2);

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

Outcome run_engine(Engine& engine, const Query& query) {
  try {
    return engine.resolve(query);
  } catch (const std::bad_alloc&) {
    Outcome o;
    o.error = make_error_code(Error::kMemory);
    return o;
  } catch (...) {
    Outcome o;
    o.error = make_error_code(Error::kFail);
    return o;
  }
}

void run_task(Engine& engine, Task& task) {
  const int64_t start = now_ns();
  task.started_ns.store(start, std::memory_order_relaxed);
  int expected = kQueued;
  if (!task.state.compare_exchange_strong(expected, kRunning)) return;  // cancelled
  Outcome outcome = run_engine(engine, task.query);
  outcome.latency = std::chrono::nanoseconds(now_ns() - start);
  expected = kRunning;
  if (!task.state.compare_exchange_strong(expected, kDone)) return;  // expired: caller answered
  Job& job = *task.job;
  std::lock_guard lock(job.mu);
  job.done.push_back({task.index, std::move(outcome)});
  if (job.waiting && job.done.size() >= job.wake_at) job.cv.notify_one();
}

void worker_main(std::shared_ptr<State> s) {
  s->engine->thread_init();
  std::unique_lock lock(s->mu);
  for (;;) {
    while (s->queue.empty() && !s->stopping) {
      ++s->idle;
      s->work_cv.wait(lock);
      --s->idle;
    }
    if (s->queue.empty()) break;  // stopping, and nothing left to do
    std::shared_ptr<Task> task = std::move(s->queue.front());
    s->queue.pop_front();
    lock.unlock();
    run_task(*s->engine, *task);
    lock.lock();
    if (task->stalled) {
      // Back from a stall: a stand-in may have taken this thread's place.
      --s->stalled;
      if (s->live - s->stalled > s->target) break;
    }
  }
  --s->live;
  const pthread_t self = pthread_self();
  std::erase_if(s->running, [&](pthread_t t) { return pthread_equal(t, self) != 0; });
  if (!s->abandoned) s->exited.push_back(self);
  s->exit_cv.notify_all();
}

void* thread_entry(void* arg) {
  std::unique_ptr<std::shared_ptr<State>> state(static_cast<std::shared_ptr<State>*>(arg));
  worker_main(std::move(*state));
  return nullptr;
}

// Joins the threads that have left worker_main (retired stand-ins). Call with s->mu held:
// an exited thread no longer needs the mutex, so the join only waits out its exit.
void reap_locked(State& s) {
  for (pthread_t t : s.exited) pthread_join(t, nullptr);
  s.exited.clear();
}

// Starts one worker. Call with s->mu held.
bool spawn_locked(const std::shared_ptr<State>& s) {
  reap_locked(*s);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kWorkerStack);
  auto* arg = new std::shared_ptr<State>(s);
  pthread_t thread{};
  const int rc = pthread_create(&thread, &attr, thread_entry, arg);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete arg;
    return false;
  }
  pthread_setname_np(thread, "ub-resolve");
  s->running.push_back(thread);
  ++s->live;
  ++s->spawned;
  return true;
}

}  // namespace

Result<std::unique_ptr<WorkerPool>> WorkerPool::create(std::shared_ptr<Engine> engine, int threads,
                                                       int max_extra) {
  if (!engine || threads < 1 || max_extra < 0) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  auto s = std::make_shared<State>();
  s->engine = std::move(engine);
  s->target = threads;
  s->max_threads = threads + max_extra;
  std::unique_ptr<WorkerPool> pool(new WorkerPool(s));
  std::lock_guard lock(s->mu);
  for (int i = 0; i < threads; ++i) {
    if (!spawn_locked(s)) break;
  }
  if (s->live == 0) return std::make_error_code(std::errc::resource_unavailable_try_again);
  s->target = s->live;  // fewer than asked if the system refused some
  return pool;
}

WorkerPool::~WorkerPool() {
  std::unique_lock lock(state_->mu);
  state_->stopping = true;
  state_->work_cv.notify_all();
  state_->exit_cv.wait_for(lock, kStopWait, [&] { return state_->live <= state_->stalled; });
  // Threads still inside glibc cannot be waited for in bounded time: let them go.
  for (pthread_t t : state_->running) pthread_detach(t);
  state_->abandoned = true;
  std::vector<pthread_t> exited = std::move(state_->exited);
  state_->exited.clear();
  lock.unlock();
  for (pthread_t t : exited) pthread_join(t, nullptr);
}

void WorkerPool::submit(std::vector<std::shared_ptr<Task>>& tasks) {
  if (tasks.empty()) return;
  std::lock_guard lock(state_->mu);
  const size_t count = tasks.size();
  for (auto& task : tasks) state_->queue.push_back(std::move(task));
  tasks.clear();
  // Wake as many idle workers as there is new work, not all of them for one query.
  const size_t idle = static_cast<size_t>(state_->idle);
  if (count >= idle) {
    state_->work_cv.notify_all();
  } else {
    for (size_t i = 0; i < count; ++i) state_->work_cv.notify_one();
  }
}

void WorkerPool::report_stall(const std::shared_ptr<Task>& task) {
  std::lock_guard lock(state_->mu);
  if (task->stalled || task->state.load() != kRunning) return;
  task->stalled = true;
  ++state_->stalled;
  if (state_->live - state_->stalled < state_->target && state_->live < state_->max_threads &&
      !state_->stopping && spawn_locked(state_)) {
    ++state_->replacements;
  }
}

PoolStats WorkerPool::stats() const {
  std::lock_guard lock(state_->mu);
  return {state_->target, state_->live, state_->stalled, state_->spawned, state_->replacements};
}

}  // namespace ub::resolve::detail
