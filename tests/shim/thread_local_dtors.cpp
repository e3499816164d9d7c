// thread_local_dtors.cpp: destructors of thread_local objects (libc-shim/thread_atexit.c).
// On the main thread they run when main returns, before static destructors and atexit
// handlers registered earlier; in another thread, when the thread ends (checked only when
// the system can start threads). Expected output ends with
//   "status: ok", "main thread_local destroyed", "static destroyed"; exit status 0.
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <string>

namespace {

int failures = 0;

void check(const char *name, bool passed, const std::string &detail)
{
    if (passed) {
        std::printf("%s: ok\n", name);
    } else {
        std::printf("%s: FAIL (%s)\n", name, detail.c_str());
        ++failures;
    }
}

struct Static {
    ~Static() { std::printf("static destroyed\n"); }
} static_object;

struct Noisy {
    const char *label;
    int *destroyed;
    explicit Noisy(const char *l, int *d = nullptr) : label(l), destroyed(d) {}
    ~Noisy()
    {
        if (destroyed)
            ++*destroyed;
        else
            std::printf("%s destroyed\n", label);
    }
};

int thread_destroyed = 0;

void *thread_body(void *)
{
    thread_local Noisy in_thread("thread thread_local", &thread_destroyed);
    (void)in_thread;
    return nullptr;
}

} // namespace

int main()
{
    thread_local Noisy in_main("main thread_local");
    (void)in_main;

    pthread_t thread;
    const int err = pthread_create(&thread, nullptr, thread_body, nullptr);
    if (err == 0) {
        pthread_join(thread, nullptr);
        check("thread_local destroyed at thread exit", thread_destroyed == 1,
              std::to_string(thread_destroyed) + " destructions");
    } else {
        std::printf("threads unavailable (error %d): thread exit not checked\n", err);
    }
    std::printf("status: %s\n", failures ? "FAIL" : "ok");
    std::fflush(stdout);
    return failures ? 1 : 0;
}
