/*
 * check.h: the event API test programs report as the shim's do (tests/shim/check.h). Lines
 * starting with "info:" carry measurements (times) and are left out when tests/event.rs
 * compares a host run with a Kiln run; every other line must be the same on both.
 */
#include "../shim/check.h"
