// C++ threads over Kiln's clone/futex: std::thread, std::mutex, std::condition_variable,
// std::async/std::future, std::promise, thread_local per thread, std::atomic spinning that
// only ends with preemption. Deterministic output: differential against Linux.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <queue>
#include <thread>
#include <vector>

thread_local int per_thread = 100;

int main() {
    // thread_local: each thread sees its own copy.
    std::vector<int> seen(8);
    std::vector<std::thread> pool;
    for (int i = 0; i < 8; i++)
        pool.emplace_back([i, &seen] {
            per_thread += i;
            seen[i] = per_thread;
        });
    for (auto &t : pool)
        t.join();
    std::printf("thread_local: main %d, threads sum %d\n", per_thread,
                std::accumulate(seen.begin(), seen.end(), 0));

    // A mutex-protected counter.
    std::mutex m;
    long counter = 0;
    pool.clear();
    for (int i = 0; i < 16; i++)
        pool.emplace_back([&] {
            for (int k = 0; k < 1000; k++) {
                std::lock_guard<std::mutex> g(m);
                counter++;
            }
        });
    for (auto &t : pool)
        t.join();
    std::printf("mutex counter: %ld\n", counter);

    // A condition variable hand-off queue.
    std::queue<int> q;
    std::condition_variable cv;
    bool done = false;
    long total = 0;
    std::thread consumer([&] {
        std::unique_lock<std::mutex> lk(m);
        for (;;) {
            cv.wait(lk, [&] { return !q.empty() || done; });
            while (!q.empty()) {
                total += q.front();
                q.pop();
            }
            if (done)
                return;
        }
    });
    for (int i = 1; i <= 500; i++) {
        {
            std::lock_guard<std::mutex> g(m);
            q.push(i);
        }
        cv.notify_one();
    }
    {
        std::lock_guard<std::mutex> g(m);
        done = true;
    }
    cv.notify_one();
    consumer.join();
    std::printf("condition_variable total: %ld\n", total);

    // std::async and futures.
    auto f1 = std::async(std::launch::async, [] { return 6 * 7; });
    auto f2 = std::async(std::launch::async, [] {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return std::string("late");
    });
    std::promise<int> p;
    std::future<int> pf = p.get_future();
    std::thread setter([&p] { p.set_value(99); });
    std::printf("async: %d %s, promise: %d\n", f1.get(), f2.get().c_str(), pf.get());
    setter.join();

    // Exceptions cross a future.
    auto bad = std::async(std::launch::async, []() -> int { throw std::runtime_error("boom"); });
    try {
        bad.get();
    } catch (const std::exception &e) {
        std::printf("exception through a future: %s\n", e.what());
    }

    // Spinning on an atomic: only preemption lets the other thread set it.
    std::atomic<bool> go{false};
    std::thread spinner([&] {
        while (!go.load()) {
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    go = true;
    spinner.join();
    std::printf("spinner joined: %d\n", go.load());
    std::printf("hardware_concurrency: %u\n", std::thread::hardware_concurrency() > 0 ? 1u : 0u);
    return 0;
}
