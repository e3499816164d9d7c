// cpp_api.cpp: kiln/os.hpp's timers and posts. Checks: Timer::once and Timer::every fire
// (every() until cancelled inside its own callback); a Timer destroyed before it fires
// never fires; a Timer destroyed (reset by move-assignment) inside its own callback is safe;
// moving a Timer keeps it running; kiln::after fires; kiln::post from std::threads runs
// every task on the loop's thread; kiln::on_signal runs its function from the loop (and
// refuses SIGKILL with std::system_error); the loop then ends by itself (status 0).
#include <kiln/os.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

#include "check.h"

namespace {

kiln::Timer every_timer, self_reset, moved_target, never;
int every_ticks, self_reset_fired, moved_fired, never_fired, after_fired;
std::vector<std::thread> threads;
std::thread::id loop_id;
int posts_run, posts_elsewhere;
int usr1_calls;
bool usr1_inside_start, in_start, sigkill_refused;

void finish()
{
	CHECK("every() ticked 3 times, then cancelled itself",
	      every_ticks == 3 && !every_timer.active(), "%d", every_ticks);
	CHECK("a destroyed timer never fired", never_fired == 0, "%d", never_fired);
	CHECK("a timer reset inside its callback fired once", self_reset_fired == 1, "%d",
	      self_reset_fired);
	CHECK("a moved timer fired", moved_fired == 1, "%d", moved_fired);
	CHECK("kiln::after fired", after_fired == 1, "%d", after_fired);
	CHECK("kiln::on_signal ran once, from the loop", usr1_calls == 1 && !usr1_inside_start,
	      "%d %d", usr1_calls, usr1_inside_start);
	CHECK("kiln::on_signal(SIGKILL) throws EINVAL", sigkill_refused, "no");
	kiln::stop_signal(SIGUSR1);
	CHECK("posts from 3 threads ran on the loop's thread",
	      posts_run == 300 && posts_elsewhere == 0, "%d run, %d elsewhere", posts_run,
	      posts_elsewhere);
	if (check_status())
		os_shutdown(1);
}

} // namespace

extern "C" void OS_start()
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	loop_id = std::this_thread::get_id();
	in_start = true;
	kiln::on_signal(SIGUSR1, [](int sig) {
		usr1_calls += sig == SIGUSR1;
		usr1_inside_start = usr1_inside_start || in_start;
	});
	std::raise(SIGUSR1);
	try {
		kiln::on_signal(SIGKILL, [](int) {});
	} catch (const std::system_error &e) {
		sigkill_refused = e.code().value() == EINVAL;
	}

	every_timer = kiln::Timer::every(5, [] {
		if (++every_ticks == 3)
			every_timer.cancel();
	});
	never = kiln::Timer::once(10, [] { never_fired++; });
	never = kiln::Timer(); // destroys the pending timer
	self_reset = kiln::Timer::once(10, [] {
		self_reset_fired++;
		self_reset = kiln::Timer(); // destroys the running timer's object
	});
	kiln::Timer local = kiln::Timer::once(15, [] { moved_fired++; });
	moved_target = std::move(local);
	kiln::after(20, [] { after_fired++; });

	kiln::hold();
	for (int t = 0; t < 3; t++) {
		threads.emplace_back([] {
			for (int i = 0; i < 100; i++) {
				kiln::post([] {
					posts_run++;
					if (std::this_thread::get_id() != loop_id)
						posts_elsewhere++;
					if (posts_run == 300) {
						for (auto &th : threads)
							th.join();
						// Timers are done by 50 ms; report after that, then let go.
						kiln::after(50, [] {
							finish();
							kiln::release();
						});
					}
				});
			}
		});
	}
	in_start = false;
}
