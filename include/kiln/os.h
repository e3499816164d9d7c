/*
 * kiln/os.h: the program's side of a Kiln virtual machine.
 *
 * A Kiln image runs one program. It starts in one of two ways:
 *
 *  - The program defines main(): it runs with the arguments from the kernel command line,
 *    like on Linux, and its return value (or exit()'s argument) becomes the VM's exit status.
 *    Nothing in this header is needed then.
 *
 *  - The program defines OS_start() instead: Kiln's default main() calls it, then runs the
 *    event loop until os_shutdown() is called, and ends the VM with the status given there.
 *    Like Node.js, the loop also ends (with status 0) as soon as nothing is pending: while
 *    there are no event sources, that is the moment OS_start() returns without calling
 *    os_shutdown().
 *
 * A program with neither main() nor OS_start() fails to link with an undefined reference to
 * OS_start.
 *
 * Event sources come next: non-blocking sockets and timers whose callbacks run one at a time
 * on the thread that runs the loop, never concurrently with OS_start() or with each other,
 * registered through functions declared here. The loop will sleep with `hlt` until a device
 * interrupt or the next timer deadline, so an idle VM uses no host CPU.
 */
#ifndef KILN_OS_H
#define KILN_OS_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The program's entry point when it defines no main(); the application provides it.
 *
 * Context: called once, on the main thread, after static constructors ran and before the
 * event loop starts; argc/argv are not passed (a program that needs them defines main()).
 * It may do anything a C or C++ program may do on Linux: allocate, print, start threads,
 * open sockets, call exit(). It should return once the program is set up; the event loop
 * then takes over. An exception escaping it ends the VM through std::terminate (status 134).
 */
void OS_start(void);

/*
 * Ends the program with `status` (0..255, taken modulo 256 like exit()).
 *
 * From OS_start() or an event callback: returns to the caller; the event loop stops as soon
 * as the current callback (or OS_start) returns, then main() returns `status`, so atexit
 * handlers and static destructors run before the VM exits. A later call replaces the status.
 * May be called from any thread; the loop notices it at its next step.
 * In a program that defines its own main() there is no event loop: os_shutdown() then calls
 * exit(status) and does not return.
 * It cannot fail.
 */
void os_shutdown(int status);

#ifdef __cplusplus
}
#endif

#endif /* KILN_OS_H */
