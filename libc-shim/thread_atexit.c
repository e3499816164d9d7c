/*
 * thread_atexit.c: destructors of C++ thread_local objects (__cxa_thread_atexit_impl).
 *
 * Debian's libc++abi was built for glibc, so __cxa_thread_atexit (which the compiler calls
 * when a thread_local object with a destructor is constructed) forwards unconditionally to
 * glibc's __cxa_thread_atexit_impl, which musl lacks. This file provides it with glibc's
 * semantics: a thread's destructors run in reverse order of registration when the thread
 * exits, and for the main thread when exit() is called (or main returns), before the
 * atexit handlers and static destructors. Other threads are covered by a pthread key
 * destructor (musl runs those on thread exit); the main thread by wrapping exit
 * (wraps.txt), because musl's exit has no earlier hook. There is one program and no dlclose,
 * so the DSO argument is ignored.
 */
#include <pthread.h>
#include <stdlib.h>

struct thread_dtor {
	void (*fn)(void *);
	void *obj;
	struct thread_dtor *next;
};

_Noreturn void __real_exit(int status);

static _Thread_local struct thread_dtor *thread_dtors;
static pthread_key_t run_at_thread_exit;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* Runs this thread's destructors, newest first, including any registered while running. */
static void run_thread_dtors(void)
{
	struct thread_dtor *d;
	while ((d = thread_dtors)) {
		thread_dtors = d->next;
		d->fn(d->obj);
		free(d);
	}
}

static void key_destructor(void *unused)
{
	(void)unused;
	run_thread_dtors();
}

static void make_key(void)
{
	pthread_key_create(&run_at_thread_exit, key_destructor);
}

int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso_symbol)
{
	(void)dso_symbol;
	struct thread_dtor *d = malloc(sizeof *d);
	if (!d)
		return -1;
	pthread_once(&key_once, make_key);
	/* Any non-null value arms the key's destructor for this thread. */
	pthread_setspecific(run_at_thread_exit, &thread_dtors);
	d->fn = fn;
	d->obj = obj;
	d->next = thread_dtors;
	thread_dtors = d;
	return 0;
}

_Noreturn void __wrap_exit(int status)
{
	run_thread_dtors();
	__real_exit(status);
}
